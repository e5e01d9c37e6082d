"""The compat/ tables, loaded lazily and answered from one place.

Every fact the tool knows about releases, drivers, GPUs and mirrors lives in the TOML files of
compat/ with its source; this package only reads and indexes them, one module per table, so that a
new torch release is a data change, not a code change. `tables()` is the process's one copy.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from envcheck.compat.archs import WheelArch, WheelArchs, wheel_runs_on
from envcheck.compat.drivers import Drivers, DriverSupport, MinorCompat, Toolkit
from envcheck.compat.gpus import Gpu, Gpus
from envcheck.compat.index_cache import overlay
from envcheck.compat.loading import data_dir, load
from envcheck.compat.mirrors import PYTORCH_HOST, Mirror, Mirrors, TorchRoute
from envcheck.compat.platforms import PLATFORM_LABELS, PLATFORMS, platform_key
from envcheck.compat.ranges import in_range, parse_range
from envcheck.compat.releases import CondaForm, PipForm, Release, Releases, release_row
from envcheck.compat.signatures import Signature, Signatures

__all__ = [
    "PLATFORMS", "PLATFORM_LABELS", "PYTORCH_HOST", "CondaForm", "DriverSupport", "Drivers", "Gpu", "Gpus", "MinorCompat", "Mirror",
    "Mirrors", "PipForm", "Release", "Releases", "Signature", "Signatures", "Tables", "Toolkit", "TorchRoute",
    "WheelArch", "WheelArchs", "data_dir", "in_range", "parse_range", "platform_key", "tables", "wheel_runs_on",
]


class Tables:
    """All compat tables, each read on first use only (install-cmd never reads gpus)."""

    def __init__(self, directory: Path | None = None, live: bool = False):
        self.directory = directory
        self.live = live  # join what `envcheck compat refresh` cached (envcheck/compat/index_cache.py)

    def warm(self) -> "Tables":
        """Read the tables install-cmd needs now (e.g. while a probe waits on the driver)."""
        self.releases, self.drivers, self.mirrors  # noqa: B018
        return self

    def raw(self, name: str) -> dict:
        """One TOML file of compat/ as parsed."""
        return load(name, self.directory)

    @cached_property
    def releases(self) -> Releases:
        raw = self.raw("torch.toml")
        rows = [release_row(r) for r in raw["release"]]
        if self.live:
            rows = overlay(rows, raw.get("as_of", ""))
        return Releases(raw, rows)

    @cached_property
    def drivers(self) -> Drivers:
        return Drivers(self.raw("cuda.toml"))

    @cached_property
    def archs(self) -> WheelArchs:
        return WheelArchs(self.raw("wheel_archs.toml"))

    @cached_property
    def gpus(self) -> Gpus:
        return Gpus(self.raw("gpus.toml"))

    @cached_property
    def mirrors(self) -> Mirrors:
        return Mirrors(self.raw("mirrors.toml"))

    @cached_property
    def signatures(self) -> Signatures:
        return Signatures(self.raw("error_signatures.toml"))


_TABLES: Tables | None = None


def tables() -> Tables:
    """The tables of this process, the refresh cache joined in."""
    global _TABLES
    if _TABLES is None:
        _TABLES = Tables(live=True)
    return _TABLES
