"""The snapshot: plain, typed facts about a machine, each a value or the reason it is missing.

Probes produce it; checks and the install solver read it. Nothing here prints or probes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Optional, Union

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


# -- NVIDIA driver and GPUs (probes/nvml.py) ---------------------------------------------------


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    name: str  # process name, "" when NVML could not say
    used_memory_mib: Union[int, None]


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


@dataclass(frozen=True)
class DriverInfo:
    """What the NVIDIA driver says of itself and its GPUs (NVML first, then the fallbacks)."""

    driver_version: Union[str, Unavailable]
    cuda_driver_version: Union[str, Unavailable]  # the newest CUDA the driver supports, "12.2"
    gpus: Union[tuple, Unavailable]  # tuple[GpuInfo, ...]
    nvidia_on_pci: bool = False  # an NVIDIA display/3D device is on the PCI bus
    kernel_module_version: Union[str, Unavailable, None] = None  # /proc/driver/nvidia/version
    source: str = "nvml"  # nvml | nvidia-smi | none: where driver_version came from


# -- host, Python, toolkit, environment -----------------------------------------------------------


@dataclass(frozen=True)
class Host:
    os: str  # linux | windows | macos
    arch: str  # x86_64 | aarch64 | arm64
    python: str  # "3.11" of the target interpreter


@dataclass(frozen=True)
class System:
    os: str
    arch: str
    os_release: str  # "Ubuntu 22.04.4 LTS"; "" when unknown
    kernel: str
    cpu: str
    cpu_count: int
    memory_total_mib: Union[int, Unavailable]
    container: Optional[str]  # docker | podman | kubernetes | lxc | None
    wsl: bool
    hostname: str


@dataclass(frozen=True)
class PythonEnv:
    version: str  # "3.11.7" of the target interpreter
    executable: str
    venv: Optional[str]  # the virtual environment's directory
    conda_env: Optional[str]  # CONDA_DEFAULT_ENV
    pip_index_url: Union[str, None, Unavailable]  # None: the default index; credentials redacted
    pip_extra_index_urls: tuple = ()
    mirror: Optional[str] = None  # name from compat/mirrors.toml when index_url is a known mirror
    pip_check: Union[tuple, Unavailable, None] = None  # `pip check` problems; () none; None: not asked


@dataclass(frozen=True)
class Toolkit:
    nvcc_version: Union[str, Unavailable]  # "12.1" of `nvcc --version` on PATH
    nvcc_path: Optional[str]
    cuda_home: Optional[str]  # CUDA_HOME or CUDA_PATH
    ld_library_path_cuda: tuple = ()  # LD_LIBRARY_PATH entries that hold CUDA libraries


@dataclass(frozen=True)
class CudaEnv:
    """The environment variables that decide which GPUs CUDA and torch see (allow-listed)."""

    cuda_visible_devices: Optional[str]
    cuda_device_order: Optional[str]
    nvidia_visible_devices: Optional[str]


# -- PyTorch and friends, as the target interpreter sees them (probes/torch_probe.py) ----------


@dataclass(frozen=True)
class TorchDevice:
    index: int  # CUDA ordinal as torch numbers it
    name: str
    capability: str  # "8.6"


@dataclass(frozen=True)
class Torch:
    """The child interpreter's view. status: ok | missing | import_failed | crashed | timeout."""

    status: str
    error: str = ""  # the import error / last stderr lines / signal name
    version: Optional[str] = None  # "2.2.1+cu121"
    cuda: Optional[str] = None  # torch.version.cuda, "12.1"; None for CPU builds
    hip: Optional[str] = None
    cudnn: Optional[int] = None  # torch.backends.cudnn.version()
    nccl: Optional[str] = None  # "2.19.3"
    cuda_available: Optional[bool] = None
    device_count: Optional[int] = None
    arch_list: tuple = ()  # torch.cuda.get_arch_list(): ("sm_50", ..., "compute_90")
    devices: tuple = ()  # tuple[TorchDevice, ...]
    warnings: tuple = ()  # warning texts torch emitted while importing and initialising CUDA
    loaded_libraries: tuple = ()  # CUDA library paths the child had mapped (/proc/self/maps)
    min_capability: Optional[str] = None  # old torch's own "minimum cuda capability supported" (reports)
    seconds: float = 0.0  # wall time of the probe


@dataclass(frozen=True)
class Package:
    name: str
    version: Optional[str]  # None: not installed


@dataclass(frozen=True)
class OnnxRuntime:
    installed: tuple = ()  # distributions: ("onnxruntime", "onnxruntime-gpu")
    version: Optional[str] = None
    providers: Union[tuple, Unavailable] = ()  # onnxruntime.get_available_providers()


@dataclass(frozen=True)
class Snapshot:
    schema_version: int
    system: System
    python: PythonEnv
    driver: DriverInfo
    toolkit: Toolkit
    cuda_env: CudaEnv
    torch: Union[Torch, Unavailable]  # Unavailable("skipped", ...) with --no-torch
    packages: tuple = ()  # tuple[Package, ...]: torchvision, torchaudio, onnx
    onnxruntime: OnnxRuntime = field(default_factory=OnnxRuntime)


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
