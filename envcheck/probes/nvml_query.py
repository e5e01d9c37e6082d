"""How every NVML question is asked: one helper that turns an NVML error into `Unavailable`.

probes/nvml.py decides what to ask and probes/gpu_live.py asks a few of the same questions again
under load; both ask through `call`, so one unsupported field or one lost GPU never spoils the
rest (nvitop's `nvmlQuery`, gpustat's `safenvml`). Old nvidia-ml-py returns bytes where new returns
str, old nvidia-ml-py lacks newer names, and a driver may lack a versioned function that the
bindings know (NVML_ERROR_FUNCTION_NOT_FOUND): `call` tries the next name in each of those cases.

pynvml is imported inside each function: this module is on install-cmd's path, and importing
pynvml costs ~35 ms that a machine without an NVIDIA driver never needs (nvml_library_present).
"""

from __future__ import annotations

from typing import Optional

from envcheck.snapshot.facts import Unavailable

MIB = 1024 * 1024

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
    "NVML_ERROR_NOT_FOUND": ("not_found", "NVML found no such object"),
    "NVML_ERROR_INVALID_ARGUMENT": ("invalid_argument", "NVML refused the argument"),
}

# Versioned functions this driver's NVML lacked (NVML_ERROR_FUNCTION_NOT_FOUND): recorded once per
# nvmlInit, so that eight GPUs do not ask eight times. Cleared by forget_missing() for each new session.
_missing: set = set()


def forget_missing() -> None:
    """A new NVML session may be a different driver: ask every function again."""
    _missing.clear()


def reason(exc: Exception) -> Unavailable:
    import pynvml  # lazy: see the module's docstring

    value = getattr(exc, "value", None)
    for const, (code, text) in _REASONS.items():
        if value is not None and value == getattr(pynvml, const, object()):
            return Unavailable(code, text)
    if isinstance(exc, AttributeError):
        return Unavailable("function_missing", f"nvidia-ml-py lacks {exc}")
    return Unavailable("nvml_error", str(exc) or type(exc).__name__)


def as_text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def query(fn, *args, convert=lambda v: v):
    try:
        return convert(fn(*args))
    except Exception as exc:  # NVMLError subclasses, AttributeError for missing functions
        return reason(exc)


def call(name: str, *args, convert=lambda v: v):
    """Call pynvml.<name> through _query; `name` may list versioned names, newest first: "a|b".

    A name the bindings lack (old nvidia-ml-py) or the driver lacks (NVML_ERROR_FUNCTION_NOT_FOUND,
    remembered for the rest of this NVML session) moves on to the next name.
    """
    import pynvml  # lazy: see the module's docstring

    result: Optional[Unavailable] = None
    for candidate in name.split("|"):
        fn = getattr(pynvml, candidate, None)
        if fn is None or candidate in _missing:
            continue
        result = query(fn, *args, convert=convert)
        if isinstance(result, Unavailable) and result.code == "function_missing":
            _missing.add(candidate)
            continue
        return result
    if result is not None:
        return result
    return Unavailable("function_missing", f"nvidia-ml-py has no {name.replace('|', ' or ')}")


def memory_info(handle):
    """The v2 memory answer, whose "used" leaves out the driver's reserved memory as nvidia-smi
    does (the v1 answer counted it: 615 MiB "used" on an idle H200, driver 580); the v1 answer where
    the bindings or the driver lack v2 (nvidia-ml-py before 11.510, drivers before R510)."""
    import pynvml  # lazy: see the module's docstring

    version = getattr(pynvml, "nvmlMemory_v2", None)
    if version is not None and "nvmlDeviceGetMemoryInfo_v2" not in _missing:
        try:
            return pynvml.nvmlDeviceGetMemoryInfo(handle, version)
        except TypeError:  # bindings whose nvmlDeviceGetMemoryInfo takes no version
            _missing.add("nvmlDeviceGetMemoryInfo_v2")
        except Exception as exc:
            why = reason(exc)
            if why.code != "function_missing":
                return why
            _missing.add("nvmlDeviceGetMemoryInfo_v2")
    return call("nvmlDeviceGetMemoryInfo", handle)


def part(answer, convert):
    """One field of an answer already read through _call: its Unavailable as it is, or the field
    converted through _query, so that a field the answer cannot give is Unavailable too."""
    if isinstance(answer, Unavailable):
        return answer
    return query(lambda: answer, convert=convert)
