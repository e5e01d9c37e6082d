"""compat/cuda.toml: CUDA toolkits and the NVIDIA drivers that run them, fully or through CUDA
minor-version compatibility, and the GPU generations each CUDA major retired."""

from __future__ import annotations

from typing import NamedTuple

from envcheck.versions import cc_tuple, driver_tuple


class Toolkit(NamedTuple):
    version: tuple[int, ...]
    label: str
    linux: str
    windows: str
    source: str


class MinorCompat(NamedTuple):
    major: int
    linux: str
    windows: str
    notes: str
    source: str


class DriverSupport(NamedTuple):
    """A driver against one CUDA release: `level` is full | minor-version | none | unknown."""

    level: str
    full: str | None  # the lowest driver with full support
    mvc: str | None  # the lowest driver that runs it through minor-version compatibility

    @property
    def runs(self) -> bool | None:
        return None if self.level == "unknown" else self.level != "none"

    @property
    def needs(self) -> str | None:
        """The lowest driver that runs it at all."""
        return self.mvc or self.full


class Drivers:
    """CUDA toolkits (sorted by version) with their minimum drivers, and the minor-version rows."""

    def __init__(self, raw: dict) -> None:
        rows = [Toolkit(tuple(int(p) for p in t["version"].split(".")), t["label"], t["linux"], t.get("windows", ""), t["source"])
                for t in raw["toolkit"]]
        self.toolkits: tuple[Toolkit, ...] = tuple(sorted(rows, key=lambda t: t.version))
        self.minor_compat: dict[int, MinorCompat] = {
            m["major"]: MinorCompat(m["major"], m["linux"], m.get("windows", ""), m.get("notes", ""), m["source"])
            for m in raw["minor_version_compat"]
        }
        self._retired = tuple(raw.get("arch_last_cuda", ()))

    def known_cuda(self) -> list[tuple[int, int]]:
        return sorted({t.version[:2] for t in self.toolkits})

    def min_driver(self, cuda: tuple[int, int], os: str) -> str | None:
        """The lowest driver with full support for CUDA major.minor (its GA release's minimum).

        For CUDA 13.x NVIDIA prints no Windows driver ("N/A", written "none" in compat/cuda.toml):
        there is no full-compatibility minimum to give, so None; such a build then runs on Windows
        through CUDA minor-version compatibility only (mvc_driver), with its limits.
        """
        rows = [t for t in self.toolkits if t.version[:2] == cuda]
        found = [t.windows if os == "windows" else t.linux for t in rows]
        found = [f for f in found if f and f != "none"]
        return min(found, key=driver_tuple) if found else None

    def mvc_driver(self, major: int, os: str) -> str | None:
        """The lowest driver that runs any CUDA `major`.x under minor-version compatibility."""
        m = self.minor_compat.get(major)
        if not m:
            return None
        if os == "windows":
            return m.windows or m.linux.split(".")[0]
        return m.linux or None

    def support(
        self, cuda: tuple[int, int], os: str, driver: str | None = None, driver_cuda: tuple[int, int] | None = None
    ) -> DriverSupport:
        """Can this driver load the CUDA runtime of a cu<XY> build: fully, through CUDA minor-version
        compatibility, or not at all? The one answer that checks, install-cmd and compat share.

        `driver` is the version NVML or nvidia-smi prints; when only the newest CUDA the driver
        supports is known (`driver_cuda`, e.g. from torch's own warning), that decides instead.
        Source: NVIDIA's CUDA Compatibility guide, tables 2 and 3 (compat/cuda.toml).
        """
        full = self.min_driver(cuda, os)
        mvc = self.mvc_driver(cuda[0], os)
        if driver is not None:
            have = driver_tuple(driver)
            if full and driver_tuple(full) <= have:
                level = "full"
            elif mvc and driver_tuple(mvc) <= have:
                level = "minor-version"
            else:
                level = "none" if (full or mvc) else "unknown"
        elif driver_cuda is not None:
            if driver_cuda >= cuda:
                level = "full"
            elif driver_cuda[0] == cuda[0] and cuda[0] in self.minor_compat:
                level = "minor-version"
            else:
                level = "none"
        else:
            level = "unknown"
        return DriverSupport(level, full, mvc)

    def max_cuda(self, driver: str, os: str) -> tuple[int, int] | None:
        """The newest CUDA major.minor whose toolkit this driver fully supports."""
        runs = [c for c in self.known_cuda() if self.support(c, os, driver).level == "full"]
        return runs[-1] if runs else None

    def last_cuda_for(self, cc: str) -> tuple[str, str] | None:
        """(generation, last CUDA that targets it) for a compute capability NVIDIA has retired."""
        have = cc_tuple(cc)
        for row in self._retired:
            if cc_tuple(row["cc_min"]) <= have <= cc_tuple(row["cc_max"]):
                return row["arch"], row["last_cuda"]
        return None
