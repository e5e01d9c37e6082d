"""The one module that talks to the NVIDIA driver through NVML (nvidia-ml-py, module `pynvml`).

pynvml is imported and initialised lazily, never at import time. Every query goes through
`_call`/`_query`, which turn an NVML error into `Unavailable` so that one unsupported field or one
lost GPU never spoils the rest. Old nvidia-ml-py returns bytes where new returns str, old
nvidia-ml-py lacks newer names, and a driver may lack a versioned function that the bindings know
(NVML_ERROR_FUNCTION_NOT_FOUND): `_call` tries the next name in each of those cases.

Besides NVML, the kernel module's own version is read from /proc/driver/nvidia/version: when it
differs from the user-space NVML library, nvmlInit fails with "Driver/library version mismatch"
and that file is the only place that still names the running driver.

Command line equivalent: `nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,compute_cap,memory.total,
memory.used,utilization.gpu,temperature.gpu,power.draw,enforced.power.limit,clocks_event_reasons.active,ecc.errors.uncorrected.volatile.total,
mig.mode.current,persistence_mode,pcie.link.gen.current,pcie.link.width.current --format=csv`
and `cat /proc/driver/nvidia/version`.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from typing import Optional

from envcheck.probes.pci import nvidia_on_pci
from envcheck.probes.timeout import ProbeTimeout, call_with_progress
from envcheck.snapshot.facts import (
    NOT_PERMITTED,
    DriverInfo,
    GpuInfo,
    GpuProcess,
    MigDevice,
    Unavailable,
)
from envcheck.versions import cuda_from_int

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

# Clocks-event (formerly "throttle") reason bits, nvml.h `nvmlClocksEventReason*` (the same values
# as the deprecated `nvmlClocksThrottleReason*`); pynvml defines both sets with these values, and
# tests/test_nvml_probe.py checks that they agree. Hard-coded so that an old nvidia-ml-py without
# the ClocksEvent names decodes the same way.
CLOCKS_EVENT_REASONS = (
    (0x0001, "gpu_idle"),  # nvmlClocksEventReasonGpuIdle
    (0x0002, "applications_clocks_setting"),  # ...ApplicationsClocksSetting
    (0x0004, "sw_power_cap"),  # ...SwPowerCap
    (0x0008, "hw_slowdown"),  # ...HwSlowdown
    (0x0010, "sync_boost"),  # ...SyncBoost
    (0x0020, "sw_thermal_slowdown"),  # ...SwThermalSlowdown
    (0x0040, "hw_thermal_slowdown"),  # ...HwThermalSlowdown
    (0x0080, "hw_power_brake_slowdown"),  # ...HwPowerBrakeSlowdown
    (0x0100, "display_clock_setting"),  # ...DisplayClockSetting
    # nvidia-ml-py 13.615 names these two only among the deprecated ClocksThrottleReason constants:
    (0x0200, "board_limit"),  # nvmlClocksThrottleReasonBoardLimit
    (0x0400, "reliability_voltage"),  # nvmlClocksThrottleReasonReliability
)

_MIB = 1024 * 1024
_NVML_TEMPERATURE_GPU = 0  # nvmlTemperatureSensors_t NVML_TEMPERATURE_GPU
_NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1  # nvmlMemoryErrorType_t
_NVML_VOLATILE_ECC = 0  # nvmlEccCounterType_t: since the last driver load
_NVML_DEVICE_MIG_ENABLE = 1
_NVML_FEATURE_ENABLED = 1
_NVML_CLOCK_SM = 1  # nvmlClockType_t: NVML_CLOCK_GRAPHICS 0, NVML_CLOCK_SM 1, NVML_CLOCK_MEM 2

# Versioned functions this driver's NVML lacked (NVML_ERROR_FUNCTION_NOT_FOUND): recorded once per
# nvmlInit, so that eight GPUs do not ask eight times. Cleared by _read() for each new session.
_missing: set = set()


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
    """Call pynvml.<name> through _query; `name` may list versioned names, newest first: "a|b".

    A name the bindings lack (old nvidia-ml-py) or the driver lacks (NVML_ERROR_FUNCTION_NOT_FOUND,
    remembered for the rest of this NVML session) moves on to the next name.
    """
    import pynvml

    result: Optional[Unavailable] = None
    for candidate in name.split("|"):
        fn = getattr(pynvml, candidate, None)
        if fn is None or candidate in _missing:
            continue
        result = _query(fn, *args, convert=convert)
        if isinstance(result, Unavailable) and result.code == "function_missing":
            _missing.add(candidate)
            continue
        return result
    if result is not None:
        return result
    return Unavailable("function_missing", f"nvidia-ml-py has no {name.replace('|', ' or ')}")


def _cuda_version(v: int) -> str:
    """12020 -> '12.2' (NVML encodes major*1000 + minor*10)."""
    return cuda_from_int(v)


def decode_clocks_event_reasons(mask: int) -> tuple:
    """The active reasons of an nvmlClocksEventReason bitmask, as short names, lowest bit first.

    Bits this table does not name (newer drivers add some) come out as "unknown_0x...".
    """
    mask = int(mask)
    names = tuple(name for bit, name in CLOCKS_EVENT_REASONS if mask & bit)
    rest = mask & ~sum(bit for bit, _ in CLOCKS_EVENT_REASONS)
    bit = 1
    while rest:
        if rest & bit:
            names += (f"unknown_{bit:#x}",)
            rest &= ~bit
        bit <<= 1
    return names


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


# -- the kernel module: /proc/driver/nvidia/version ---------------------------------------------

PROC_DRIVER_VERSION = "/proc/driver/nvidia/version"

# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023"
# "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build  (...)  <date>"
# (the open modules insert "for <arch>"; Jetson's L4T prints "35.3.1": three parts, not always dotted
# the same way, so any dotted number is taken).
_NVRM = re.compile(r"^NVRM version:.*?Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)\b", re.MULTILINE)


def parse_proc_driver_version(text: str) -> Optional[str]:
    """The kernel module's version from the text of /proc/driver/nvidia/version, or None."""
    match = _NVRM.search(text)
    return match.group(1) if match else None


def _read_file(path: str) -> str:
    """The seam tests replace (tests/fakes/fake_nvml.py) to replay a recorded /proc file."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def kernel_module_version(path: Optional[str] = None):
    """The loaded NVIDIA kernel module's version, or why it is unknown (never raises).

    Command line equivalent: `cat /proc/driver/nvidia/version`.
    """
    if path is None:
        if not sys.platform.startswith("linux"):
            return Unavailable("not_supported", "only Linux has /proc/driver/nvidia/version")
        path = PROC_DRIVER_VERSION
    try:
        text = _read_file(path)
    except FileNotFoundError:
        return Unavailable("driver_not_loaded", f"no {path}: the NVIDIA kernel module is not loaded")
    except PermissionError:
        return Unavailable("no_permission", f"no permission to read {path}")
    except OSError as exc:
        return Unavailable("read_error", f"cannot read {path}: {exc}")
    version = parse_proc_driver_version(text)
    if version is None:
        first = text.strip().splitlines()[0] if text.strip() else "(empty)"
        return Unavailable("parse_error", f"unrecognised {path}: {first[:120]!r}")
    return version


# -- NVML ---------------------------------------------------------------------------------------


# NVML initialised and left open by a read that asked to keep it (`gpus --watch` redraws every
# few seconds: shutting NVML down between frames makes a GPU without persistence mode start again).
_session = {"open": False}


def _read(partial: Optional[dict] = None, tick=lambda: None, keep_open: bool = False) -> DriverInfo:
    """Everything the driver says. `partial` receives each answer as soon as it is known (the
    kernel module's version, the driver's, each GPU), so that read_driver still has them when NVML
    then hangs; tick() marks each step done for read_driver's deadline."""
    partial = {} if partial is None else partial
    kernel = kernel_module_version()
    partial["kernel_module_version"] = kernel
    if not nvml_library_present():
        on_pci = nvidia_on_pci()
        if not on_pci:  # nothing NVIDIA here at all: pynvml could only fail to load its library
            why = Unavailable("library_not_found", "NVML library (libnvidia-ml) not found: no NVIDIA driver installed")
            return DriverInfo(why, why, why, nvidia_on_pci=False, kernel_module_version=kernel, source="none")
    try:
        import pynvml
    except ImportError:
        return _absent(Unavailable("library_not_found", "nvidia-ml-py is not installed (pip install nvidia-ml-py)"), kernel)
    if not _session["open"]:
        _missing.clear()  # a new session may be a different driver
        try:
            pynvml.nvmlInit()
        except Exception as exc:
            why = _reason(exc)
            if why.code == "driver_library_mismatch" and isinstance(kernel, str):
                why = Unavailable(why.code, f"the NVIDIA kernel module is {kernel} but the NVML library is another version (driver upgraded without a reboot?)")
            return _absent(why, kernel)
    _session["open"] = True
    tick()
    try:
        driver = _call("nvmlSystemGetDriverVersion", convert=_text)
        cuda = _call("nvmlSystemGetCudaDriverVersion_v2|nvmlSystemGetCudaDriverVersion", convert=_cuda_version)
        count = _call("nvmlDeviceGetCount")
        partial.update(driver=driver, cuda=cuda, count=count, gpus=[])
        tick()
        if isinstance(count, Unavailable):
            gpus = count
        else:
            for i in range(count):  # each handle starts its GPU when persistence mode is off: seconds
                partial["gpus"].append(_gpu(i))
                tick()
            gpus = tuple(partial["gpus"])
        on_pci = bool(gpus) if not isinstance(gpus, Unavailable) else nvidia_on_pci()
        return DriverInfo(driver, cuda, gpus, nvidia_on_pci=on_pci, kernel_module_version=kernel, source="nvml")
    finally:
        if not keep_open:
            close()


def close() -> None:
    """Shut NVML down if a read left it open (keep_open); harmless otherwise."""
    if _session["open"]:
        import pynvml

        _session["open"] = False
        _query(pynvml.nvmlShutdown)


def _unanswered(index: int, why: Unavailable) -> GpuInfo:
    """A GPU whose handle NVML did not give: every fact carries the same reason."""
    h = why
    return GpuInfo(index, h, h, h, h, h, h, h, h, h, h, h, h, h, h, memory_used_mib=h, utilization_pct=h)


def _gpu(index: int) -> GpuInfo:
    handle = _call("nvmlDeviceGetHandleByIndex", index)
    if isinstance(handle, Unavailable):
        if handle.code == "no_permission":  # counted by NVML, kept from this process by its cgroup
            handle = Unavailable(NOT_PERMITTED, f"this process may not use GPU {index}: the job's cgroup (Slurm, Kubernetes, "
                                 "Docker) gives it to other jobs")
        return _unanswered(index, handle)
    memory = _memory(handle)  # one call answers both total and used
    mig = _call("nvmlDeviceGetMigMode", handle, convert=lambda modes: int(modes[0]) == _NVML_DEVICE_MIG_ENABLE)
    gpu = GpuInfo(
        **live_state(handle),
        index=index,
        name=_call("nvmlDeviceGetName", handle, convert=_text),
        uuid=_call("nvmlDeviceGetUUID", handle, convert=_text),
        pci_bus_id=_call("nvmlDeviceGetPciInfo_v3|nvmlDeviceGetPciInfo", handle, convert=lambda p: _text(p.busId)),
        compute_capability=_call("nvmlDeviceGetCudaComputeCapability", handle, convert=lambda t: f"{t[0]}.{t[1]}"),
        memory_total_mib=_part(memory, lambda m: int(m.total) // _MIB),
        power_limit_w=_call("nvmlDeviceGetEnforcedPowerLimit", handle, convert=_watts),  # milliwatts
        # GeForce boards have no ECC: NVML_ERROR_NOT_SUPPORTED, which is normal there
        ecc_uncorrected_volatile=_call(
            "nvmlDeviceGetTotalEccErrors", handle, _NVML_MEMORY_ERROR_TYPE_UNCORRECTED, _NVML_VOLATILE_ECC, convert=int
        ),
        mig_mode=mig,
        persistence_mode=_call("nvmlDeviceGetPersistenceMode", handle, convert=lambda v: int(v) == _NVML_FEATURE_ENABLED),
        processes=_call(
            "nvmlDeviceGetComputeRunningProcesses_v3|nvmlDeviceGetComputeRunningProcesses_v2|nvmlDeviceGetComputeRunningProcesses",
            handle,
            convert=_processes,
        ),
        max_sm_clock_mhz=_call("nvmlDeviceGetMaxClockInfo", handle, _NVML_CLOCK_SM, convert=int),
        # nvidia-smi's "Memory-Usage" (its "Used", without the driver's reserved memory)
        memory_used_mib=_part(memory, lambda m: int(m.used) // _MIB),
    )
    if mig is not True:
        return gpu
    # In MIG mode NVML gives the whole GPU's memory and processes to privileged callers only
    # (nvml.h: "only if the caller has appropriate privileges"); each MIG device's own handle answers.
    return replace(gpu, memory_total_mib=_mig_privileged(gpu.memory_total_mib), memory_used_mib=_mig_privileged(gpu.memory_used_mib),
                   processes=_mig_privileged(gpu.processes), mig_devices=_mig_devices(handle))


def live_state(handle) -> dict:
    """The GPU's facts that change under load, as GpuInfo's fields: what doctor reads once and
    bench's sampler (probes/gpu_live.py) reads a few times a second while the GPU works."""
    return dict(
        # nvmlDeviceGetTemperature is deprecated in favour of ...TemperatureV, which older drivers lack
        temperature_c=_call("nvmlDeviceGetTemperatureV|nvmlDeviceGetTemperature", handle, _NVML_TEMPERATURE_GPU, convert=int),
        power_draw_w=_call("nvmlDeviceGetPowerUsage", handle, convert=_watts),  # milliwatts
        clocks_event_reasons=_call("nvmlDeviceGetCurrentClocksEventReasons|nvmlDeviceGetCurrentClocksThrottleReasons", handle,
                                   convert=decode_clocks_event_reasons),
        pcie_link=_pcie_link(handle),
        sm_clock_mhz=_call("nvmlDeviceGetClockInfo", handle, _NVML_CLOCK_SM, convert=int),
        # nvidia-smi's "GPU-Util": the share of the last sample period (1/6 s to 1 s) in which a
        # kernel ran; NVML_ERROR_NOT_SUPPORTED on MIG-enabled GPUs
        utilization_pct=_call("nvmlDeviceGetUtilizationRates", handle, convert=lambda u: int(u.gpu)),
    )


def _mig_privileged(value):
    if isinstance(value, Unavailable) and value.code == "no_permission":
        return Unavailable("no_permission", "in MIG mode NVML gives the whole GPU's figures to root only; its MIG devices' own are shown")
    return value


def _mig_devices(parent) -> object:
    """The MIG devices of a GPU in MIG mode, each read through its own handle.

    nvmlDeviceGetMaxMigDeviceCount is how many MIG devices could exist, not how many do: an empty
    index answers NVML_ERROR_NOT_FOUND and is skipped, as NVIDIA's go-nvlib does (indices may have
    gaps once instances are destroyed). Command line equivalent: `nvidia-smi -L`.
    """
    top = _call("nvmlDeviceGetMaxMigDeviceCount", parent)
    if isinstance(top, Unavailable):
        return top
    out = []
    for k in range(top):
        h = _call("nvmlDeviceGetMigDeviceHandleByIndex", parent, k)
        if isinstance(h, Unavailable):
            if h.code in ("not_found", "invalid_argument"):
                continue
            return h
        attrs = _call("nvmlDeviceGetAttributes_v2|nvmlDeviceGetAttributes", h)
        memory = _memory(h)
        out.append(MigDevice(
            index=k,
            uuid=_call("nvmlDeviceGetUUID", h, convert=_text),
            name=_call("nvmlDeviceGetName", h, convert=_text),
            gpu_instance_id=_call("nvmlDeviceGetGpuInstanceId", h, convert=int),
            compute_instance_id=_call("nvmlDeviceGetComputeInstanceId", h, convert=int),
            sm_count=_part(attrs, lambda a: int(a.multiprocessorCount)),
            memory_total_mib=_part(memory, lambda m: int(m.total) // _MIB),
            memory_used_mib=_part(memory, lambda m: int(m.used) // _MIB),
            processes=_call("nvmlDeviceGetComputeRunningProcesses_v3|nvmlDeviceGetComputeRunningProcesses_v2|nvmlDeviceGetComputeRunningProcesses",
                            h, convert=_processes),
        ))
    return tuple(out)


def _memory(handle):
    """The v2 memory answer, whose "used" leaves out the driver's reserved memory as nvidia-smi
    does (the v1 answer counted it: 615 MiB "used" on an idle H200, driver 580); the v1 answer where
    the bindings or the driver lack v2 (nvidia-ml-py before 11.510, drivers before R510)."""
    import pynvml

    version = getattr(pynvml, "nvmlMemory_v2", None)
    if version is not None and "nvmlDeviceGetMemoryInfo_v2" not in _missing:
        try:
            return pynvml.nvmlDeviceGetMemoryInfo(handle, version)
        except TypeError:  # bindings whose nvmlDeviceGetMemoryInfo takes no version
            _missing.add("nvmlDeviceGetMemoryInfo_v2")
        except Exception as exc:
            why = _reason(exc)
            if why.code != "function_missing":
                return why
            _missing.add("nvmlDeviceGetMemoryInfo_v2")
    return _call("nvmlDeviceGetMemoryInfo", handle)


def _part(answer, convert):
    """One field of an answer already read through _call: its Unavailable as it is, or the field
    converted through _query, so that a field the answer cannot give is Unavailable too."""
    if isinstance(answer, Unavailable):
        return answer
    return _query(lambda: answer, convert=convert)


def _watts(milliwatts) -> float:
    return round(int(milliwatts) / 1000.0, 3)


def _processes(infos) -> tuple:
    """GpuProcess for each compute process; the name is "" where NVML cannot read it (another
    PID namespace, e.g. a process outside this container)."""
    result = []
    for info in infos:
        pid = int(info.pid)
        used = getattr(info, "usedGpuMemory", None)  # None: not available (Windows WDDM)
        name = _call("nvmlSystemGetProcessName", pid, convert=_text)
        result.append(GpuProcess(pid=pid, name=name if isinstance(name, str) else "", used_memory_mib=None if used is None else int(used) // _MIB))
    return tuple(result)


def _pcie_link(handle):
    """"Gen4 x16": the link's current generation and width (both drop while the GPU idles)."""
    gen = _call("nvmlDeviceGetCurrPcieLinkGeneration", handle, convert=int)
    width = _call("nvmlDeviceGetCurrPcieLinkWidth", handle, convert=int)
    if isinstance(gen, Unavailable):
        return gen
    if isinstance(width, Unavailable):
        return width
    return f"Gen{gen} x{width}"


def _absent(why: Unavailable, kernel=None) -> DriverInfo:
    return DriverInfo(why, why, why, nvidia_on_pci=nvidia_on_pci(), kernel_module_version=kernel, source="none")


def read_driver(timeout: float = 5.0, keep_open: bool = False) -> DriverInfo:
    """Driver and GPU facts from NVML, or the reason they are missing; never raises, never hangs.

    `timeout` bounds each step: /proc/driver/nvidia/version and nvmlInit, then each GPU in turn (a
    GPU without persistence mode takes 1-3 s to start when a process opens it), up to 12 steps'
    worth in all: a wedged driver blocks NVML forever. When it runs out after some GPUs answered,
    those are kept and the rest say why they are missing. keep_open leaves NVML initialised for
    the next read (close() ends it).
    """
    partial: dict = {}
    try:
        info = call_with_progress(lambda tick: _read(partial, tick, keep_open), timeout, max(60.0, 12 * timeout))
    except ProbeTimeout as exc:
        kernel = partial.get("kernel_module_version", Unavailable("timeout", f"/proc/driver/nvidia/version gave {exc}"))
        if isinstance(partial.get("count"), int):
            done = list(partial["gpus"])
            why = Unavailable("timeout", f"NVML gave {exc} for this GPU (a wedged driver, or a GPU that does not start)")
            gpus = tuple(done) + tuple(_unanswered(i, why) for i in range(len(done), partial["count"]))
            return DriverInfo(partial["driver"], partial["cuda"], gpus, nvidia_on_pci=True, kernel_module_version=kernel, source="nvml")
        return _absent(Unavailable("timeout", f"NVML gave {exc} (a wedged driver?)"), kernel)
    if isinstance(info.driver_version, Unavailable) and info.driver_version.code == "library_not_found":
        from envcheck.probes.nvidia_smi import read_nvidia_smi

        fallback = read_nvidia_smi()
        if fallback is not None:
            return replace(fallback, kernel_module_version=info.kernel_module_version)
    return info
