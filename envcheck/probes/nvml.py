"""The one module that talks to the NVIDIA driver through NVML (nvidia-ml-py, module `pynvml`).

pynvml is imported and initialised lazily, never at import time (install-cmd asks the driver, and
a machine without one must not pay pynvml's import). This module decides what to ask; every
question goes through probes/nvml_query.py's `call`, which turns an NVML error into `Unavailable`.
Besides NVML, the kernel module's own version is read first (probes/kernel_module.py): after a
driver upgrade without a reboot it is the only place that still names the running driver.

Command line equivalent: `nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,compute_cap,memory.total,
memory.used,utilization.gpu,temperature.gpu,power.draw,enforced.power.limit,clocks_event_reasons.active,ecc.errors.uncorrected.volatile.total,
mig.mode.current,persistence_mode,pcie.link.gen.current,pcie.link.width.current --format=csv`
and `cat /proc/driver/nvidia/version`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import Optional

from envcheck.probes.kernel_module import (
    PROC_DRIVER_VERSION,
    kernel_module_version,
    parse_proc_driver_version,
)
from envcheck.probes.nvml_query import (
    MIB,
    as_text,
    call,
    forget_missing,
    memory_info,
    part,
    query,
    reason,
)
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

__all__ = ["CLOCKS_EVENT_REASONS", "PROC_DRIVER_VERSION", "close", "decode_clocks_event_reasons", "kernel_module_version",
           "live_state", "nvml_library_present", "parse_proc_driver_version", "read_driver"]

_NVML_TEMPERATURE_GPU = 0  # nvmlTemperatureSensors_t NVML_TEMPERATURE_GPU
_NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1  # nvmlMemoryErrorType_t
_NVML_VOLATILE_ECC = 0  # nvmlEccCounterType_t: since the last driver load
_NVML_DEVICE_MIG_ENABLE = 1
_NVML_FEATURE_ENABLED = 1
_NVML_CLOCK_SM = 1  # nvmlClockType_t: NVML_CLOCK_GRAPHICS 0, NVML_CLOCK_SM 1, NVML_CLOCK_MEM 2

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
        import pynvml  # only now that NVML's library may load: ~35 ms that a machine without a driver never pays
    except ImportError:
        return _absent(Unavailable("library_not_found", "nvidia-ml-py is not installed (pip install nvidia-ml-py)"), kernel)
    if not _session["open"]:
        forget_missing()
        try:
            pynvml.nvmlInit()
        except Exception as exc:
            why = reason(exc)
            if why.code == "driver_library_mismatch" and isinstance(kernel, str):
                why = Unavailable(why.code, f"the NVIDIA kernel module is {kernel} but the NVML library is another version (driver upgraded without a reboot?)")
            return _absent(why, kernel)
    _session["open"] = True
    tick()
    try:
        driver = call("nvmlSystemGetDriverVersion", convert=as_text)
        cuda = call("nvmlSystemGetCudaDriverVersion_v2|nvmlSystemGetCudaDriverVersion", convert=_cuda_version)
        count = call("nvmlDeviceGetCount")
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
        import pynvml  # already loaded by the read that left NVML open

        _session["open"] = False
        query(pynvml.nvmlShutdown)


def _unanswered(index: int, why: Unavailable) -> GpuInfo:
    """A GPU whose handle NVML did not give: every fact carries the same reason."""
    h = why
    return GpuInfo(index, h, h, h, h, h, h, h, h, h, h, h, h, h, h, memory_used_mib=h, utilization_pct=h)


def _gpu(index: int) -> GpuInfo:
    handle = call("nvmlDeviceGetHandleByIndex", index)
    if isinstance(handle, Unavailable):
        if handle.code == "no_permission":  # counted by NVML, kept from this process by its cgroup
            handle = Unavailable(NOT_PERMITTED, f"this process may not use GPU {index}: the job's cgroup (Slurm, Kubernetes, "
                                 "Docker) gives it to other jobs")
        return _unanswered(index, handle)
    memory = memory_info(handle)  # one call answers both total and used
    mig = call("nvmlDeviceGetMigMode", handle, convert=lambda modes: int(modes[0]) == _NVML_DEVICE_MIG_ENABLE)
    gpu = GpuInfo(
        **live_state(handle),
        index=index,
        name=call("nvmlDeviceGetName", handle, convert=as_text),
        uuid=call("nvmlDeviceGetUUID", handle, convert=as_text),
        pci_bus_id=call("nvmlDeviceGetPciInfo_v3|nvmlDeviceGetPciInfo", handle, convert=lambda p: as_text(p.busId)),
        compute_capability=call("nvmlDeviceGetCudaComputeCapability", handle, convert=lambda t: f"{t[0]}.{t[1]}"),
        memory_total_mib=part(memory, lambda m: int(m.total) // MIB),
        power_limit_w=call("nvmlDeviceGetEnforcedPowerLimit", handle, convert=_watts),  # milliwatts
        # GeForce boards have no ECC: NVML_ERROR_NOT_SUPPORTED, which is normal there
        ecc_uncorrected_volatile=call(
            "nvmlDeviceGetTotalEccErrors", handle, _NVML_MEMORY_ERROR_TYPE_UNCORRECTED, _NVML_VOLATILE_ECC, convert=int
        ),
        mig_mode=mig,
        persistence_mode=call("nvmlDeviceGetPersistenceMode", handle, convert=lambda v: int(v) == _NVML_FEATURE_ENABLED),
        processes=call(
            "nvmlDeviceGetComputeRunningProcesses_v3|nvmlDeviceGetComputeRunningProcesses_v2|nvmlDeviceGetComputeRunningProcesses",
            handle,
            convert=_processes,
        ),
        max_sm_clock_mhz=call("nvmlDeviceGetMaxClockInfo", handle, _NVML_CLOCK_SM, convert=int),
        # nvidia-smi's "Memory-Usage" (its "Used", without the driver's reserved memory)
        memory_used_mib=part(memory, lambda m: int(m.used) // MIB),
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
        temperature_c=call("nvmlDeviceGetTemperatureV|nvmlDeviceGetTemperature", handle, _NVML_TEMPERATURE_GPU, convert=int),
        power_draw_w=call("nvmlDeviceGetPowerUsage", handle, convert=_watts),  # milliwatts
        clocks_event_reasons=call("nvmlDeviceGetCurrentClocksEventReasons|nvmlDeviceGetCurrentClocksThrottleReasons", handle,
                                   convert=decode_clocks_event_reasons),
        pcie_link=_pcie_link(handle),
        sm_clock_mhz=call("nvmlDeviceGetClockInfo", handle, _NVML_CLOCK_SM, convert=int),
        # nvidia-smi's "GPU-Util": the share of the last sample period (1/6 s to 1 s) in which a
        # kernel ran; NVML_ERROR_NOT_SUPPORTED on MIG-enabled GPUs
        utilization_pct=call("nvmlDeviceGetUtilizationRates", handle, convert=lambda u: int(u.gpu)),
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
    top = call("nvmlDeviceGetMaxMigDeviceCount", parent)
    if isinstance(top, Unavailable):
        return top
    out = []
    for k in range(top):
        h = call("nvmlDeviceGetMigDeviceHandleByIndex", parent, k)
        if isinstance(h, Unavailable):
            if h.code in ("not_found", "invalid_argument"):
                continue
            return h
        attrs = call("nvmlDeviceGetAttributes_v2|nvmlDeviceGetAttributes", h)
        memory = memory_info(h)
        out.append(MigDevice(
            index=k,
            uuid=call("nvmlDeviceGetUUID", h, convert=as_text),
            name=call("nvmlDeviceGetName", h, convert=as_text),
            gpu_instance_id=call("nvmlDeviceGetGpuInstanceId", h, convert=int),
            compute_instance_id=call("nvmlDeviceGetComputeInstanceId", h, convert=int),
            sm_count=part(attrs, lambda a: int(a.multiprocessorCount)),
            memory_total_mib=part(memory, lambda m: int(m.total) // MIB),
            memory_used_mib=part(memory, lambda m: int(m.used) // MIB),
            processes=call("nvmlDeviceGetComputeRunningProcesses_v3|nvmlDeviceGetComputeRunningProcesses_v2|nvmlDeviceGetComputeRunningProcesses",
                            h, convert=_processes),
        ))
    return tuple(out)


def _watts(milliwatts) -> float:
    return round(int(milliwatts) / 1000.0, 3)


def _processes(infos) -> tuple:
    """GpuProcess for each compute process; the name is "" where NVML cannot read it (another
    PID namespace, e.g. a process outside this container)."""
    result = []
    for info in infos:
        pid = int(info.pid)
        used = getattr(info, "usedGpuMemory", None)  # None: not available (Windows WDDM)
        name = call("nvmlSystemGetProcessName", pid, convert=as_text)
        result.append(GpuProcess(pid=pid, name=name if isinstance(name, str) else "", used_memory_mib=None if used is None else int(used) // MIB))
    return tuple(result)


def _pcie_link(handle):
    """"Gen4 x16": the link's current generation and width (both drop while the GPU idles)."""
    gen = call("nvmlDeviceGetCurrPcieLinkGeneration", handle, convert=int)
    width = call("nvmlDeviceGetCurrPcieLinkWidth", handle, convert=int)
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
        # the fallback where NVML's library is missing: a machine with a driver never loads its reader
        from envcheck.probes.nvidia_smi import read_nvidia_smi

        fallback = read_nvidia_smi()
        if fallback is not None:
            return replace(fallback, kernel_module_version=info.kernel_module_version)
    return info
