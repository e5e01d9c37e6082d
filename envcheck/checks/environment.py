"""Environment checks: which GPUs CUDA_VISIBLE_DEVICES lets through, and which index pip uses."""

from __future__ import annotations

import re

from envcheck.checks.findings import Finding
from envcheck.numbers import ascii_int
from envcheck.snapshot import Snapshot, known

_UUID = re.compile(r"^(GPU|MIG)-[0-9a-fA-F-]+$")


def visible_gpus(value: str | None, count: int, uuids: tuple = ()) -> tuple[list[int] | None, str]:
    """Which NVML indices CUDA exposes under CUDA_VISIBLE_DEVICES, or (None, problem).

    CUDA reads the list left to right and stops at the first invalid entry; an index out of
    range, or a repeated one, ends the list the same way (CUDA C Programming Guide, "CUDA
    Environment Variables"). UUIDs may be abbreviated to a unique prefix.
    """
    if value is None:
        return list(range(count)), ""
    if not value.strip():
        return [], ""  # set but empty: CUDA sees no device at all
    out: list[int] = []
    for raw in value.split(","):
        token = raw.strip()
        number = ascii_int(token.lstrip("-"))
        if number is not None:
            i = -number if token.startswith("-") else number
            if i < 0 or i >= count:
                return out, f"entry {token!r} is not a GPU index (0–{count - 1}): CUDA ignores it and everything after it"
            if i in out:
                return out, f"GPU {i} is listed twice: CUDA stops reading at the repeat"
            out.append(i)
        elif _UUID.match(token):
            hits = [k for k, u in enumerate(uuids) if isinstance(u, str) and u.lower().startswith(token.lower())]
            if len(hits) != 1:
                return out, f"{token!r} matches no GPU's UUID: CUDA ignores it and everything after it"
            out.append(hits[0])
        else:
            return out, f"entry {token!r} is neither a GPU index nor a UUID: CUDA ignores it and everything after it"
    return out, ""


def check_cuda_visible_devices(s: Snapshot, tables) -> list[Finding]:
    value = s.cuda_env.cuda_visible_devices
    gpus = s.driver.gpus
    if value is None or not known(gpus):
        return []
    uuids = tuple(g.uuid for g in gpus)
    shown, problem = visible_gpus(value, len(gpus), uuids)
    facts = {"CUDA_VISIBLE_DEVICES": value, "gpus": len(gpus), "visible": shown}
    if problem:
        return [Finding("cuda-hidden", "error", "driver", f"CUDA_VISIBLE_DEVICES={value!r} is malformed: {problem}", facts,
                        fix="unset CUDA_VISIBLE_DEVICES")]
    if not shown and gpus:
        return [Finding("cuda-hidden", "warn", "driver", f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU: torch sees none", facts,
                        fix="unset CUDA_VISIBLE_DEVICES")]
    if len(shown) < len(gpus):
        hidden = [i for i in range(len(gpus)) if i not in shown]
        order = "" if s.cuda_env.cuda_device_order == "PCI_BUS_ID" else " (set CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA numbers GPUs as nvidia-smi does)"
        return [Finding("cuda-hidden", "info", "driver",
                        f"CUDA_VISIBLE_DEVICES={value!r} shows GPUs {shown} and hides {hidden}; torch numbers the visible ones from 0{order}", facts)]
    return []


def check_mirror(s: Snapshot, tables) -> list[Finding]:
    p = s.python
    if not known(p.pip_index_url):
        return []
    if p.pip_index_url is None:
        summary = "pip uses the default index (no mirror)"
    elif p.mirror:
        summary = f"pip uses the {p.mirror} mirror ({p.pip_index_url})"
    else:
        summary = f"pip uses the index {p.pip_index_url}"
    facts = {"index_url": p.pip_index_url, "extra_index_urls": list(p.pip_extra_index_urls)}
    return [Finding("mirror", "info", "python", summary, facts)]
