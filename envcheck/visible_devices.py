"""How CUDA reads CUDA_VISIBLE_DEVICES: one answer for doctor's checks, bench's selection and `gpus`.

A fact about CUDA, not a check: services that choose GPUs need it as much as the checks that judge
a snapshot, so it lives below both.
"""

from __future__ import annotations

import re

from envcheck.facts import permitted
from envcheck.numbers import ascii_int

_UUID = re.compile(r"^(GPU|MIG)-[0-9a-fA-F-]+$")


def visible_gpus(value: str | None, count: int, uuids: tuple = ()) -> tuple[list[int] | None, str]:
    """Which NVML indices CUDA exposes under CUDA_VISIBLE_DEVICES, or (None, problem).

    CUDA reads the list left to right and stops at the first entry it cannot use: an index out of
    range, a negative one, or an entry of the other kind (a list that starts with indices ends at
    the first UUID, one that starts with UUIDs at the first index). A GPU listed twice leaves CUDA
    no device at all. UUIDs match exactly, case included, or by a unique prefix. Each rule as CUDA
    counted it on a real GPU (tests/test_checks.py; CUDA C Programming Guide, "CUDA Environment
    Variables"; torch.cuda's own _parse_visible_devices follows the same rules).
    """
    if value is None:
        return list(range(count)), ""
    if not value.strip():
        return [], ""  # set but empty: CUDA sees no device at all
    out: list[int] = []
    by_uuid = None  # the kind of list, set by its first entry
    for raw in value.split(","):
        token = raw.strip()
        number = ascii_int(token.lstrip("-"))
        if number is not None and by_uuid is not True:
            by_uuid = False
            i = -number if token.startswith("-") else number
            if i < 0 or i >= count:
                return out, f"entry {token!r} is not a GPU index (0–{count - 1}): CUDA ignores it and everything after it"
        elif _UUID.match(token) and by_uuid is not False:
            by_uuid = True
            hits = [k for k, u in enumerate(uuids) if isinstance(u, str) and u.startswith(token)]
            if len(hits) != 1:
                return out, f"{token!r} matches no GPU's UUID: CUDA ignores it and everything after it"
            i = hits[0]
        elif by_uuid is not None:
            kind = "UUIDs" if by_uuid else "GPU indices"
            return out, f"entry {token!r} is not one of the list's {kind}: CUDA ignores it and everything after it"
        else:
            return out, f"entry {token!r} is neither a GPU index nor a UUID: CUDA ignores it and everything after it"
        if i in out:
            return [], f"GPU {i} is listed twice: CUDA then sees no GPU at all"
        out.append(i)
    return out, ""


def cuda_gpus(value: str | None, gpus: tuple) -> tuple[list[int], str]:
    """The NVML indices of the GPUs a CUDA process here enumerates, in CUDA's order (as under
    CUDA_DEVICE_ORDER=PCI_BUS_ID), and the problem with CUDA_VISIBLE_DEVICES, if any.

    Only GPUs this process may open count: NVML counts every GPU of the machine, but under a
    Slurm or Kubernetes cgroup CUDA enumerates only the job's own, and CUDA_VISIBLE_DEVICES
    indices count among those (Slurm sets CUDA_VISIBLE_DEVICES=0,1 for a job given GPUs 4 and 5).
    """
    usable = [g for g in sorted(gpus, key=lambda g: g.index) if permitted(g)]
    shown, problem = visible_gpus(value, len(usable), tuple(g.uuid for g in usable))
    return [usable[k].index for k in shown], problem
