"""The snapshot: plain, typed facts about a machine, each a value or the reason it is missing.

Probes produce it; checks and the install solver read it. Nothing here prints or probes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Union

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Unavailable:
    """Why a fact is missing: a code a program can test and a reason a person can read."""

    code: str  # library_not_found, driver_not_loaded, not_supported, timeout, ...
    reason: str

    def __str__(self) -> str:
        return f"unavailable ({self.reason})"


def known(value) -> bool:
    return not isinstance(value, Unavailable)


@dataclass(frozen=True)
class GpuInfo:
    index: int  # NVML index: PCI bus order, as nvidia-smi numbers GPUs
    name: Union[str, Unavailable]
    uuid: Union[str, Unavailable]
    pci_bus_id: Union[str, Unavailable]
    compute_capability: Union[str, Unavailable]  # "8.6"
    memory_total_mib: Union[int, Unavailable]


@dataclass(frozen=True)
class DriverInfo:
    """What the NVIDIA driver says of itself and its GPUs (NVML)."""

    driver_version: Union[str, Unavailable]
    cuda_driver_version: Union[str, Unavailable]  # the newest CUDA the driver supports, "12.2"
    gpus: Union[tuple, Unavailable]  # tuple[GpuInfo, ...]
    nvidia_on_pci: bool = False  # an NVIDIA display/3D device is on the PCI bus


@dataclass(frozen=True)
class Host:
    os: str  # linux | windows | macos
    arch: str  # x86_64 | aarch64 | arm64
    python: str  # "3.11" of the target interpreter


def to_dict(obj) -> dict:
    """JSON-ready dict; an Unavailable becomes {"unavailable": code, "reason": ...}."""

    def fix(v):
        if isinstance(v, dict):
            if set(v) == {"code", "reason"}:
                return {"unavailable": v["code"], "reason": v["reason"]}
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        return v

    return fix(asdict(obj))
