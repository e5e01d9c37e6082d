"""compat/wheel_archs.toml: the GPU architectures (SASS and PTX) each official CUDA wheel carries,
and whether a GPU can run such a wheel."""

from __future__ import annotations

from typing import NamedTuple

from envcheck.compat.platforms import platform_key
from envcheck.compat.ranges import in_range, parse_range
from envcheck.compat.releases import Release
from envcheck.compat.rows import Rows
from envcheck.errors import UserError
from envcheck.versions import cc_tuple


class WheelArch(NamedTuple):
    variant: str
    torch: tuple  # ((operator, version tuple), ...) from a range such as ">=2.8,<2.11"
    os: str
    sm: tuple[str, ...]
    ptx: tuple[str, ...]
    status: str
    source: str


class WheelArchs(Rows):
    """The arch lists, in the table's order (a wheel takes the first row that fits it)."""

    def __init__(self, raw: dict) -> None:
        super().__init__(
            WheelArch(
                variant=w["variant"],
                torch=parse_range(w["torch"]),
                os=w.get("os", "any"),
                sm=tuple(w["sm"]),
                ptx=tuple(w.get("ptx", ())),
                status=w.get("status", ""),
                source=w["source"],
            )
            for w in raw["wheel_arch"]
        )

    def find(self, release: Release, variant: str, os: str, arch: str = "x86_64") -> WheelArch | None:
        """The GPU architectures of an official wheel. Linux aarch64 wheels are built for fewer GPUs
        than x86_64 ones (and for Thor, sm_110, which x86_64 wheels lack): their own rows, else None.
        None too where PyTorch builds no wheels (Windows on ARM)."""
        try:
            key = platform_key(os, arch)
        except UserError:
            return None
        for w in self.rows:
            if w.variant == variant and w.os in (key, "any") and in_range(release.key, w.torch):
                return w
        return None


def wheel_runs_on(arch: WheelArch, cc: str) -> bool:
    """True when the wheel carries SASS the GPU can run, or PTX it can JIT-compile.

    SASS for sm_XY runs on sm_XZ with Z >= Y (same major); arch-specific SASS ('9.0a') runs only
    on that exact GPU; PTX for compute_XY is compiled by the driver for any newer GPU.
    Source: CUDA C Programming Guide, "Binary Compatibility" and "PTX Compatibility".
    """
    gpu = cc_tuple(cc)
    for sm in arch.sm:
        have = cc_tuple(sm)
        if sm.endswith("a"):
            if have == gpu:
                return True
        elif have[0] == gpu[0] and have[1] <= gpu[1]:
            return True
    return any(cc_tuple(p) <= gpu for p in arch.ptx)
