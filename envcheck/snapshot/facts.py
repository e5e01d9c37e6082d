"""Facts every command reads: a value or the reason it is missing, the host, the NVIDIA driver
and its GPUs. Kept apart from the full snapshot (envcheck/snapshot/model.py) so that install-cmd, which
needs only these, does not pay for defining doctor's classes at start-up."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import NamedTuple, Union

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Unavailable:
    """Why a fact is missing: a code a program can test and a reason a person can read."""

    code: str  # library_not_found, driver_not_loaded, not_supported, timeout, exit_code=127, ...
    reason: str

    def __str__(self) -> str:
        return f"unavailable ({self.reason})"


def known(value) -> bool:
    return not isinstance(value, Unavailable)


# The code of a GPU that NVML counts but this process may not open (a cgroup keeps it for other
# jobs): CUDA does not enumerate it, so it takes no CUDA ordinal and no share of CUDA_VISIBLE_DEVICES.
NOT_PERMITTED = "not_permitted"


def permitted(gpu) -> bool:
    """Can this process open the GPU? False only where NVML refused its handle for permission."""
    return not (isinstance(gpu.uuid, Unavailable) and gpu.uuid.code == NOT_PERMITTED)


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    name: str  # process name, "" when NVML could not say
    used_memory_mib: Union[int, None]


@dataclass(frozen=True)
class MigDevice:
    """One MIG device (a compute instance in its GPU instance) of a GPU in MIG mode, as NVML reads
    it through the MIG device's own handle (which needs no privileges, unlike the parent's totals)."""

    index: int  # NVML's MIG index within the parent ("Device N" under the GPU in nvidia-smi -L)
    uuid: Union[str, Unavailable]  # MIG-... (drivers R470+), what CUDA_VISIBLE_DEVICES takes
    name: Union[str, Unavailable]  # "NVIDIA A100-SXM4-80GB MIG 3g.40gb"
    gpu_instance_id: Union[int, Unavailable]
    compute_instance_id: Union[int, Unavailable]
    sm_count: Union[int, Unavailable]  # the slice's multiprocessors (nvmlDeviceGetAttributes)
    memory_total_mib: Union[int, Unavailable]
    memory_used_mib: Union[int, Unavailable, None] = None
    processes: Union[tuple, Unavailable, None] = None  # tuple[GpuProcess, ...]


@dataclass(frozen=True)
class GpuInfo:
    index: int  # NVML index: PCI bus order, as nvidia-smi numbers GPUs
    name: Union[str, Unavailable]
    uuid: Union[str, Unavailable]
    pci_bus_id: Union[str, Unavailable]
    compute_capability: Union[str, Unavailable]  # "8.6"
    memory_total_mib: Union[int, Unavailable]
    temperature_c: Union[int, Unavailable, None] = None
    power_draw_w: Union[float, Unavailable, None] = None
    power_limit_w: Union[float, Unavailable, None] = None
    clocks_event_reasons: Union[tuple, Unavailable, None] = None  # ("sw_thermal_slowdown", ...) active now
    ecc_uncorrected_volatile: Union[int, Unavailable, None] = None
    mig_mode: Union[bool, Unavailable, None] = None  # current MIG mode enabled
    persistence_mode: Union[bool, Unavailable, None] = None
    processes: Union[tuple, Unavailable, None] = None  # tuple[GpuProcess, ...]
    pcie_link: Union[str, Unavailable, None] = None  # "Gen4 x16" (current)
    sm_clock_mhz: Union[int, Unavailable, None] = None  # current SM clock
    max_sm_clock_mhz: Union[int, Unavailable, None] = None
    memory_used_mib: Union[int, Unavailable, None] = None  # NVML's "used" (nvmlDeviceGetMemoryInfo)
    utilization_pct: Union[int, Unavailable, None] = None  # GPU (SM) utilisation over NVML's last sample period
    mig_devices: Union[tuple, Unavailable, None] = None  # tuple[MigDevice, ...] when MIG mode is on


@dataclass(frozen=True)
class DriverInfo:
    """What the NVIDIA driver says of itself and its GPUs (NVML first, then the fallbacks)."""

    driver_version: Union[str, Unavailable]
    cuda_driver_version: Union[str, Unavailable]  # the newest CUDA the driver supports, "12.2"
    gpus: Union[tuple, Unavailable]  # tuple[GpuInfo, ...]
    nvidia_on_pci: bool = False  # an NVIDIA display/3D device is on the PCI bus
    kernel_module_version: Union[str, Unavailable, None] = None  # /proc/driver/nvidia/version
    source: str = "nvml"  # nvml | nvidia-smi | none: where driver_version came from
    cuda_driver_inferred: bool = False  # cuda_driver_version came from envcheck's tables, not the driver
    bindings_version: Union[str, None] = None  # nvidia-ml-py that read NVML here; None: not installed, or a report


class Installed(NamedTuple):
    """What the target environment holds now. An input of the plan: pip and uv count
    `torch==2.14.1` as met by an installed 2.14.1+cpu (PEP 440 local versions), so a plan that
    changes the build must pin the local version or remove the old build first."""

    torch: str | None = None  # "2.14.1+cpu"
    torchvision: str | None = None
    torchaudio: str | None = None
    installer: str = ""  # who installed torch (its INSTALLER file): pip, uv, conda, ...
    broken: bool = False  # torch is installed but does not import: reinstalling its own build must replace it

    def version(self, name: str) -> str | None:
        return getattr(self, name)


@dataclass(frozen=True)
class Host:
    os: str  # linux | windows | macos
    arch: str  # x86_64 | aarch64 | arm64
    python: str  # "3.11" of the target interpreter



def jsonable(obj):
    """Dataclasses, NamedTuples and Unavailable as plain JSON data, recursively.

    An Unavailable becomes {"unavailable": code, "reason": ...}, so a consumer can tell a missing
    fact from a value.
    """
    if isinstance(obj, Unavailable):
        return {"unavailable": obj.code, "reason": obj.reason}
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_asdict"):
        return {k: jsonable(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def map_leaves(obj, fn):
    """fn applied to every leaf of JSON-like data (dicts, lists, tuples become dicts and lists)."""
    if isinstance(obj, dict):
        return {k: map_leaves(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [map_leaves(v, fn) for v in obj]
    return fn(obj)
