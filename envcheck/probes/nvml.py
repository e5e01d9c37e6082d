"""The one module that talks to the NVIDIA driver through NVML (nvidia-ml-py, module `pynvml`).

pynvml is imported and initialised lazily, never at import time. Every query goes through
`_query`, which turns an NVML error into `Unavailable` so that one unsupported field or one lost
GPU never spoils the rest. Old nvidia-ml-py returns bytes where new returns str, and old drivers
lack newer versioned functions: both are handled here.

Command line equivalent: `nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,compute_cap,memory.total --format=csv`
"""

from __future__ import annotations

import os
import sys

from envcheck.probes.pci import nvidia_on_pci
from envcheck.probes.timeout import ProbeTimeout, call_with_timeout
from envcheck.snapshot import DriverInfo, GpuInfo, Unavailable

# NVML return codes (nvml.h) -> our reason codes and sentences.
_REASONS = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": ("library_not_found", "NVML library (libnvidia-ml) not found: no NVIDIA driver installed"),
    "NVML_ERROR_DRIVER_NOT_LOADED": ("driver_not_loaded", "NVIDIA driver is not loaded"),
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": (
        "driver_library_mismatch",
        "NVIDIA kernel module and NVML library versions differ (driver upgraded without a reboot?)",
    ),
    "NVML_ERROR_NO_PERMISSION": ("no_permission", "no permission to query the NVIDIA driver"),
    "NVML_ERROR_NOT_SUPPORTED": ("not_supported", "not supported by this GPU or driver"),
    "NVML_ERROR_FUNCTION_NOT_FOUND": ("function_missing", "this driver's NVML lacks the function"),
    "NVML_ERROR_GPU_IS_LOST": ("gpu_lost", "the GPU has fallen off the bus"),
    "NVML_ERROR_TIMEOUT": ("timeout", "NVML timed out"),
}


def _reason(exc: Exception) -> Unavailable:
    import pynvml

    value = getattr(exc, "value", None)
    for const, (code, text) in _REASONS.items():
        if value is not None and value == getattr(pynvml, const, object()):
            return Unavailable(code, text)
    if isinstance(exc, AttributeError):
        return Unavailable("function_missing", f"nvidia-ml-py lacks {exc}")
    return Unavailable("nvml_error", str(exc) or type(exc).__name__)


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _query(fn, *args, convert=lambda v: v):
    try:
        return convert(fn(*args))
    except Exception as exc:  # NVMLError subclasses, AttributeError for missing functions
        return _reason(exc)


def _call(name: str, *args, convert=lambda v: v):
    """Call pynvml.<name> (first existing of several versioned names) through _query."""
    import pynvml

    for candidate in name.split("|"):
        fn = getattr(pynvml, candidate, None)
        if fn is not None:
            return _query(fn, *args, convert=convert)
    return Unavailable("function_missing", f"nvidia-ml-py has no {name.replace('|', ' or ')}")


def _cuda_version(v: int) -> str:
    """12020 -> '12.2' (NVML encodes major*1000 + minor*10)."""
    return f"{v // 1000}.{(v % 1000) // 10}"


_LIBRARY = "libnvidia-ml.so.1"
_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib/wsl/lib")


def nvml_library_present() -> bool:
    """Could the dynamic loader find NVML? False only when it certainly could not (Linux).

    Mirrors glibc's dlopen search for libnvidia-ml.so.1: LD_LIBRARY_PATH, /etc/ld.so.cache, the
    default directories (and WSL's driver directory). It spares a machine with no NVIDIA driver
    the import of pynvml (~35 ms, most of install-cmd's start-up budget); elsewhere NVML is asked.
    """
    if not sys.platform.startswith("linux"):
        return True
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d] + list(_DEFAULT_DIRS)
    if any(os.path.exists(os.path.join(d, _LIBRARY)) for d in dirs):
        return True
    try:
        with open("/etc/ld.so.cache", "rb") as fh:
            return _LIBRARY.encode() in fh.read()
    except OSError:
        return True  # cannot tell: let NVML answer


def _read() -> DriverInfo:
    if not nvml_library_present():
        on_pci = nvidia_on_pci()
        if not on_pci:  # nothing NVIDIA here at all: pynvml could only fail to load its library
            why = Unavailable("library_not_found", "NVML library (libnvidia-ml) not found: no NVIDIA driver installed")
            return DriverInfo(why, why, why, nvidia_on_pci=False)
    try:
        import pynvml
    except ImportError:
        return _absent(Unavailable("library_not_found", "nvidia-ml-py is not installed (pip install nvidia-ml-py)"))
    try:
        pynvml.nvmlInit()
    except Exception as exc:
        return _absent(_reason(exc))
    try:
        driver = _call("nvmlSystemGetDriverVersion", convert=_text)
        cuda = _call("nvmlSystemGetCudaDriverVersion_v2|nvmlSystemGetCudaDriverVersion", convert=_cuda_version)
        count = _call("nvmlDeviceGetCount")
        if isinstance(count, Unavailable):
            gpus = count
        else:
            gpus = tuple(_gpu(i) for i in range(count))
        return DriverInfo(driver, cuda, gpus, nvidia_on_pci=bool(gpus) if not isinstance(gpus, Unavailable) else nvidia_on_pci())
    finally:
        _query(pynvml.nvmlShutdown)


def _gpu(index: int) -> GpuInfo:
    handle = _call("nvmlDeviceGetHandleByIndex", index)
    if isinstance(handle, Unavailable):
        return GpuInfo(index, handle, handle, handle, handle, handle)
    return GpuInfo(
        index=index,
        name=_call("nvmlDeviceGetName", handle, convert=_text),
        uuid=_call("nvmlDeviceGetUUID", handle, convert=_text),
        pci_bus_id=_call("nvmlDeviceGetPciInfo_v3|nvmlDeviceGetPciInfo", handle, convert=lambda p: _text(p.busId)),
        compute_capability=_call("nvmlDeviceGetCudaComputeCapability", handle, convert=lambda t: f"{t[0]}.{t[1]}"),
        memory_total_mib=_call("nvmlDeviceGetMemoryInfo", handle, convert=lambda m: int(m.total) // (1024 * 1024)),
    )


def _absent(why: Unavailable) -> DriverInfo:
    return DriverInfo(why, why, why, nvidia_on_pci=nvidia_on_pci())


def read_driver(timeout: float = 5.0) -> DriverInfo:
    """Driver and GPU facts from NVML, or the reason they are missing; never raises, never hangs."""
    try:
        return call_with_timeout(_read, timeout)
    except ProbeTimeout as exc:
        return _absent(Unavailable("timeout", f"NVML gave {exc} (a wedged driver?)"))
