"""The snapshot: plain, typed facts about a machine, each a value or the reason it is missing.

Probes produce it; checks and renderers read it. Nothing here prints or probes. The facts that
install-cmd needs as well (Unavailable, the host, the driver and its GPUs) live in envcheck/snapshot/facts.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from envcheck.snapshot.facts import (  # noqa: F401 - the snapshot's parts, importable from here too
    SCHEMA_VERSION,
    DriverInfo,
    GpuInfo,
    GpuProcess,
    Host,
    MigDevice,
    Unavailable,
    jsonable,
    known,
)

# -- host, Python, toolkit, environment -----------------------------------------------------------


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
    free_threaded: bool = False  # built without the GIL (python3.13t): needs cp313t wheels


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
    dist_version: Optional[str] = None  # the installed distribution's version, even when import fails
    installer: Optional[str] = None  # who installed it (the INSTALLER file): pip, uv, conda, ...


@dataclass(frozen=True)
class Package:
    name: str
    version: Optional[str]  # None: not installed


@dataclass(frozen=True)
class ProviderLoad:
    """Whether an execution provider really loads in a process that has not imported torch: a
    session on a tiny model, its get_providers() read back (probes/ort_load.py). The list of
    available providers cannot tell: it names every provider compiled in."""

    provider: str
    loads: Optional[bool]  # None: not tried (note says why)
    error: str = ""  # ORT's own words where it does not load
    missing: tuple = ()  # the libraries ORT could not open: ("libcublasLt.so.12",)
    after_preload: Optional[bool] = None  # loads once onnxruntime.preload_dlls() ran; None: not tried
    torch_imported: bool = False  # torch was in that process already (a sitecustomize): "without torch" unproven
    note: str = ""


@dataclass(frozen=True)
class OnnxRuntime:
    installed: tuple = ()  # distributions: ("onnxruntime", "onnxruntime-gpu")
    version: Optional[str] = None
    providers: Union[tuple, Unavailable] = ()  # onnxruntime.get_available_providers()
    loads: Union[tuple, Unavailable] = ()  # tuple[ProviderLoad, ...]: each provider beside the CPU's, tried


@dataclass(frozen=True)
class Pasted:
    """An error line found in a pasted text (`doctor --from`): the signature it matched
    (compat/error_signatures.toml; "" when none did) and the facts its pattern captured."""

    signature: str
    text: str  # the line, cut to a few hundred characters
    groups: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RememberedStack:
    """The torch stack doctor last found healthy in one environment (probes/stack_memory.py): an
    input of the checks beside the snapshot, never part of it, so a saved report carries none."""

    torch: str  # "2.5.1+cu121", as pip sees it
    cuda: Optional[str]  # torch.version.cuda then; None for a CPU build
    torchvision: Optional[str] = None
    torchaudio: Optional[str] = None
    seen: str = ""  # "2026-11-30T12:40:05Z": the last doctor run that found it healthy


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
    pasted: tuple = ()  # tuple[Pasted, ...]: error lines of a pasted text (doctor --from)
    taken_at: Optional[str] = None  # "2026-11-30T12:40:05Z" (UTC) for this machine's snapshot; None for a pasted report
    origin: Optional[str] = None  # the file (or "stdin") a report was read from (doctor --from, diff)
