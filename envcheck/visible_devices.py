"""How CUDA reads CUDA_VISIBLE_DEVICES: one answer for doctor's checks, bench's selection and `gpus`.

A fact about CUDA, not a check: services that choose GPUs need it as much as the checks that judge
a snapshot, so it lives below both.
"""

from __future__ import annotations

import re

from envcheck.numbers import ascii_int

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
