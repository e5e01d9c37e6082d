"""A fake NVML: replaces the functions of the real `pynvml` module with answers replayed from a
recorded machine (tests/fixtures/machines/<name>.json), so envcheck's real NVML adapter runs.

Errors are raised as the real pynvml.NVMLError subclasses, built from the NVML return code the
fixture names; functions listed in "missing_functions" are removed, as on an old driver or an
old nvidia-ml-py; "bytes": true returns bytes as old nvidia-ml-py releases did. A function the
*driver* lacks is replayed as its real return code, e.g. "errors": {"nvmlDeviceGetTemperatureV":
"NVML_ERROR_FUNCTION_NOT_FOUND"}; every versioned alias answers under its own name for that.

Health fields per GPU (a field left out of a recording answers NVML_ERROR_NOT_SUPPORTED, which is
what NVML says for a fact a board cannot report): temperature_c, power_draw_mw, power_limit_mw,
clocks_event_reasons (names such as "sw_thermal_slowdown", or the raw bitmask as an int),
ecc_uncorrected (volatile; ecc_uncorrected_aggregate optional), mig_mode (bool or [current,
pending]), persistence_mode, processes [{pid, name, used_memory_bytes}] (name null: NVML cannot
read it), pcie_gen, pcie_width, sm_clock_mhz, max_sm_clock_mhz, utilization_pct (nvidia-smi's
GPU-Util), memory_used_mib (the v1 memory answer's "used", which counts the driver's reserved
memory; without it, reading "used" raises NVML_ERROR_NOT_SUPPORTED: a recording that did not keep it
says "unknown", not 0), memory_reserved_mib (the v2 answer's "reserved"; a recording without it
replays a driver whose NVML lacks nvmlDeviceGetMemoryInfo_v2). "proc_driver_version"
is the text of /proc/driver/nvidia/version; without it that file does not exist.

Start-up: "handle_delay_s" (per GPU, or for the whole machine) is how long nvmlDeviceGetHandleByIndex
takes, as a GPU without persistence mode starts when a process first opens it (1-3 s each, one after
another); a GPU's "hang_seconds" replays a handle that never comes. init_calls and shutdown_calls
count the sessions a test's code opened. A GPU the process may not open (a Slurm or Kubernetes
cgroup) is recorded as "errors": {"nvmlDeviceGetHandleByIndex": "NVML_ERROR_NO_PERMISSION"}.

MIG: a GPU in MIG mode lists its "mig_devices" (index, uuid, name, gpu_instance_id,
compute_instance_id, sm_count, memory_total_bytes, memory_used_mib, memory_reserved_mib, processes),
answered through MIG handles (parent index, MIG index); an index without a device answers
NVML_ERROR_NOT_FOUND. "mig_privileged": false replays a non-root caller: the parent's memory and
processes answer NVML_ERROR_NO_PERMISSION (nvml.h), its MIG devices' own still answer.

A GPU may also carry "under_load": a list of readings recorded while it was loaded, each with some
of sm_clock_mhz, power_draw_mw, temperature_c, clocks_event_reasons, pcie_gen, pcie_width and
utilization_pct. The first question about such a field gets the recorded (idle) answer, as a read
before the load does; every later one gets the next reading of the list, round and round, as a
sampler asking during the load does (the lent H200: idle 345 MHz and no reason, loaded 1380-1515 MHz
with sw_power_cap).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pynvml

from envcheck.probes import kernel_module

MACHINES = Path(__file__).resolve().parent.parent / "fixtures" / "machines"

FUNCTIONS = (
    "nvmlInit",
    "nvmlShutdown",
    "nvmlSystemGetDriverVersion",
    "nvmlSystemGetCudaDriverVersion",
    "nvmlSystemGetCudaDriverVersion_v2",
    "nvmlDeviceGetCount",
    "nvmlDeviceGetHandleByIndex",
    "nvmlDeviceGetName",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetPciInfo",
    "nvmlDeviceGetPciInfo_v3",
    "nvmlDeviceGetCudaComputeCapability",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetTemperatureV",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetEnforcedPowerLimit",
    "nvmlDeviceGetCurrentClocksEventReasons",
    "nvmlDeviceGetCurrentClocksThrottleReasons",
    "nvmlDeviceGetTotalEccErrors",
    "nvmlDeviceGetMigMode",
    "nvmlDeviceGetPersistenceMode",
    "nvmlDeviceGetComputeRunningProcesses",
    "nvmlDeviceGetComputeRunningProcesses_v2",
    "nvmlDeviceGetComputeRunningProcesses_v3",
    "nvmlSystemGetProcessName",
    "nvmlDeviceGetCurrPcieLinkGeneration",
    "nvmlDeviceGetCurrPcieLinkWidth",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetMaxClockInfo",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetMaxMigDeviceCount",
    "nvmlDeviceGetMigDeviceHandleByIndex",
    "nvmlDeviceGetAttributes",
    "nvmlDeviceGetAttributes_v2",
    "nvmlDeviceGetGpuInstanceId",
    "nvmlDeviceGetComputeInstanceId",
)

# Reason names -> pynvml's own bit constants (not envcheck's table, so the tests cross-check it).
_REASON_CONSTANTS = {
    "gpu_idle": "GpuIdle",
    "applications_clocks_setting": "ApplicationsClocksSetting",
    "sw_power_cap": "SwPowerCap",
    "hw_slowdown": "HwSlowdown",
    "sync_boost": "SyncBoost",
    "sw_thermal_slowdown": "SwThermalSlowdown",
    "hw_thermal_slowdown": "HwThermalSlowdown",
    "hw_power_brake_slowdown": "HwPowerBrakeSlowdown",
    "display_clock_setting": "DisplayClockSetting",
    "board_limit": "BoardLimit",  # pynvml names these two as ClocksThrottleReason only
    "reliability_voltage": "Reliability",
}


def reason_mask(reasons) -> int:
    """A fixture's clocks_event_reasons (names or an int) as the bitmask NVML returns."""
    if isinstance(reasons, int):
        return reasons
    mask = 0
    for name in reasons:
        suffix = _REASON_CONSTANTS[name]
        mask |= getattr(pynvml, f"nvmlClocksEventReason{suffix}", None) or getattr(pynvml, f"nvmlClocksThrottleReason{suffix}")
    return mask


class _Memory:
    """nvmlMemory_t (v1): total and used from the recording, free the rest; a recording without
    memory_used_mib cannot say how much is used, so reading it raises what NVML raises for a fact
    it cannot report. nvmlMemory_v2_t (reserved given): "used" leaves out the driver's reserved
    memory, as nvidia-smi's "Used" does (seen on an H200, driver 580: v1 used 9333 MiB, v2 used
    8719 MiB and reserved 616 MiB, nvidia-smi 8719 MiB)."""

    def __init__(self, total_bytes: int, used_mib, reserved_mib=None):
        self.total = total_bytes
        self._used = None if used_mib is None else int(used_mib) * 1024 * 1024
        if reserved_mib is not None:
            self.reserved = int(reserved_mib) * 1024 * 1024
            if self._used is not None:
                self._used -= self.reserved

    @property
    def used(self) -> int:
        if self._used is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self._used

    @property
    def free(self) -> int:
        return self.total - (self._used or 0)


def load_machine(name: str) -> dict:
    return json.loads((MACHINES / f"{name}.json").read_text())


class FakeNvml:
    def __init__(self, machine: dict):
        self.m = machine
        self.as_bytes = machine.get("bytes", False)
        self._unwedged = threading.Event()  # set by release(): a replayed hang ends with its test
        self.init_calls = self.shutdown_calls = 0
        self._asked: Counter = Counter()  # (GPU, field) -> questions so far, for "under_load"

    def _raise_if(self, function: str, gpu: dict | None = None) -> None:
        code = (gpu or {}).get("errors", {}).get(function) or self.m.get("errors", {}).get(function)
        if code:
            raise pynvml.NVMLError(getattr(pynvml, code))
        if function == "nvmlInit" and self.m.get("hang_seconds"):
            self._unwedged.wait(self.m["hang_seconds"])

    def release(self) -> None:
        """End a replayed hang, so the probe's thread stops with the test instead of outliving it."""
        self._unwedged.set()

    def _s(self, text: str):
        return text.encode() if self.as_bytes else text

    def _gpu(self, handle) -> dict:
        if isinstance(handle, tuple):  # a MIG device's handle: (parent, MIG index)
            parent, k = handle
            return next(d for d in self.m["gpus"][parent]["mig_devices"] if d["index"] == k)
        return self.m["gpus"][handle]

    def _mig_private(self, h, function: str) -> None:
        """A non-root caller asking a MIG-mode GPU for its totals."""
        gpu = self._gpu(h)
        if not isinstance(h, tuple) and gpu.get("mig_devices") is not None and self.m.get("mig_privileged") is False:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NO_PERMISSION)

    # -- the NVML functions -------------------------------------------------------------------
    def nvmlInit(self):
        self.init_calls += 1
        self._raise_if("nvmlInit")

    def nvmlShutdown(self):
        self.shutdown_calls += 1

    def nvmlSystemGetDriverVersion(self):
        self._raise_if("nvmlSystemGetDriverVersion")
        return self._s(self.m["driver_version"])

    def nvmlSystemGetCudaDriverVersion(self):
        self._raise_if("nvmlSystemGetCudaDriverVersion")
        return self.m["cuda_driver_version"]

    nvmlSystemGetCudaDriverVersion_v2 = nvmlSystemGetCudaDriverVersion

    def nvmlDeviceGetCount(self):
        self._raise_if("nvmlDeviceGetCount")
        return len(self.m["gpus"])

    def nvmlDeviceGetHandleByIndex(self, index):
        if index >= len(self.m["gpus"]):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        gpu = self.m["gpus"][index]
        delay = gpu.get("hang_seconds") or gpu.get("handle_delay_s", self.m.get("handle_delay_s"))
        if delay:
            self._unwedged.wait(delay)
        self._raise_if("nvmlDeviceGetHandleByIndex", gpu)
        return index

    def nvmlDeviceGetName(self, h):
        self._raise_if("nvmlDeviceGetName", self._gpu(h))
        return self._s(self._gpu(h)["name"])

    def nvmlDeviceGetUUID(self, h):
        self._raise_if("nvmlDeviceGetUUID", self._gpu(h))
        return self._s(self._gpu(h)["uuid"])

    def nvmlDeviceGetPciInfo(self, h):
        self._raise_if("nvmlDeviceGetPciInfo", self._gpu(h))
        return SimpleNamespace(busId=self._s(self._gpu(h)["pci_bus_id"]))

    nvmlDeviceGetPciInfo_v3 = nvmlDeviceGetPciInfo

    def nvmlDeviceGetCudaComputeCapability(self, h):
        self._raise_if("nvmlDeviceGetCudaComputeCapability", self._gpu(h))
        return tuple(self._gpu(h)["cuda_compute_capability"])

    def nvmlDeviceGetMemoryInfo(self, h, version=None):
        gpu = self._gpu(h)
        self._raise_if("nvmlDeviceGetMemoryInfo", gpu)
        self._mig_private(h, "nvmlDeviceGetMemoryInfo")
        if not version:
            return _Memory(gpu["memory_total_bytes"], gpu.get("memory_used_mib"))
        assert version == pynvml.nvmlMemory_v2, version
        if "memory_reserved_mib" not in gpu:  # a driver without nvmlDeviceGetMemoryInfo_v2
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        return _Memory(gpu["memory_total_bytes"], gpu.get("memory_used_mib"), gpu["memory_reserved_mib"])

    # -- health -------------------------------------------------------------------------------
    def _field(self, function: str, h, key: str):
        """The recorded answer to `function` for GPU h, or the NVML error it recorded."""
        gpu = self._gpu(h)
        self._raise_if(function, gpu)
        if key not in gpu:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self._loaded(h, key, gpu)

    def _loaded(self, h, key: str, gpu: dict):
        """The recorded answer the first time; after that the next "under_load" reading's, where
        the recording has one for this field."""
        readings = gpu.get("under_load")
        asked = self._asked[(h, key)]
        self._asked[(h, key)] += 1
        if not readings or asked == 0:
            return gpu[key]
        return readings[(asked - 1) % len(readings)].get(key, gpu[key])

    def nvmlDeviceGetTemperature(self, h, sensor):
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return self._field("nvmlDeviceGetTemperature", h, "temperature_c")

    def nvmlDeviceGetTemperatureV(self, h, sensor, version=None):
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return self._field("nvmlDeviceGetTemperatureV", h, "temperature_c")

    def nvmlDeviceGetPowerUsage(self, h):
        return self._field("nvmlDeviceGetPowerUsage", h, "power_draw_mw")

    def nvmlDeviceGetEnforcedPowerLimit(self, h):
        return self._field("nvmlDeviceGetEnforcedPowerLimit", h, "power_limit_mw")

    def nvmlDeviceGetCurrentClocksEventReasons(self, h):
        return reason_mask(self._field("nvmlDeviceGetCurrentClocksEventReasons", h, "clocks_event_reasons"))

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h):
        return reason_mask(self._field("nvmlDeviceGetCurrentClocksThrottleReasons", h, "clocks_event_reasons"))

    def nvmlDeviceGetTotalEccErrors(self, h, error_type, counter_type):
        assert error_type == pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, "only uncorrected errors are recorded"
        volatile = self._field("nvmlDeviceGetTotalEccErrors", h, "ecc_uncorrected")
        if counter_type == pynvml.NVML_AGGREGATE_ECC:
            return self._gpu(h).get("ecc_uncorrected_aggregate", volatile)
        return volatile

    def nvmlDeviceGetMigMode(self, h):
        mode = self._field("nvmlDeviceGetMigMode", h, "mig_mode")
        if isinstance(mode, list):
            return list(mode)
        value = pynvml.NVML_DEVICE_MIG_ENABLE if mode else pynvml.NVML_DEVICE_MIG_DISABLE
        return [value, value]  # [current, pending]

    def nvmlDeviceGetPersistenceMode(self, h):
        on = self._field("nvmlDeviceGetPersistenceMode", h, "persistence_mode")
        return pynvml.NVML_FEATURE_ENABLED if on else pynvml.NVML_FEATURE_DISABLED

    def _processes(self, function: str, h):
        self._mig_private(h, function)
        return [
            SimpleNamespace(pid=p["pid"], usedGpuMemory=p.get("used_memory_bytes"), gpuInstanceId=0xFFFFFFFF, computeInstanceId=0xFFFFFFFF)
            for p in self._field(function, h, "processes")
        ]

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        return self._processes("nvmlDeviceGetComputeRunningProcesses", h)

    def nvmlDeviceGetComputeRunningProcesses_v2(self, h):
        return self._processes("nvmlDeviceGetComputeRunningProcesses_v2", h)

    def nvmlDeviceGetComputeRunningProcesses_v3(self, h):
        return self._processes("nvmlDeviceGetComputeRunningProcesses_v3", h)

    def nvmlSystemGetProcessName(self, pid):
        self._raise_if("nvmlSystemGetProcessName")
        records = [r for gpu in self.m["gpus"] for r in [gpu, *(gpu.get("mig_devices") or ())]]
        for gpu in records:
            for p in gpu.get("processes", ()):
                if p["pid"] == pid:
                    if p.get("name") is None:  # e.g. a process in another PID namespace
                        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
                    return self._s(p["name"])
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetCurrPcieLinkGeneration(self, h):
        return self._field("nvmlDeviceGetCurrPcieLinkGeneration", h, "pcie_gen")

    def nvmlDeviceGetCurrPcieLinkWidth(self, h):
        return self._field("nvmlDeviceGetCurrPcieLinkWidth", h, "pcie_width")

    def nvmlDeviceGetClockInfo(self, h, clock_type):
        assert clock_type == pynvml.NVML_CLOCK_SM, "only SM clocks are recorded"
        return self._field("nvmlDeviceGetClockInfo", h, "sm_clock_mhz")

    def nvmlDeviceGetMaxClockInfo(self, h, clock_type):
        assert clock_type == pynvml.NVML_CLOCK_SM, "only SM clocks are recorded"
        return self._field("nvmlDeviceGetMaxClockInfo", h, "max_sm_clock_mhz")

    def nvmlDeviceGetUtilizationRates(self, h):
        gpu = self._field("nvmlDeviceGetUtilizationRates", h, "utilization_pct")
        return SimpleNamespace(gpu=gpu, memory=0)  # nvmlUtilization_t: percent of the sample period

    # -- MIG ----------------------------------------------------------------------------------------
    def nvmlDeviceGetMaxMigDeviceCount(self, h):
        gpu = self._gpu(h)
        self._raise_if("nvmlDeviceGetMaxMigDeviceCount", gpu)
        return gpu.get("max_mig_devices", 7) if gpu.get("mig_devices") is not None else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h, k):
        gpu = self._gpu(h)
        self._raise_if("nvmlDeviceGetMigDeviceHandleByIndex", gpu)
        if not any(d["index"] == k for d in gpu.get("mig_devices") or ()):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        return (h, k)

    def nvmlDeviceGetAttributes_v2(self, h):
        if not isinstance(h, tuple):  # nvml.h: "currently only supports MIG device handles"
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        d = self._gpu(h)
        self._raise_if("nvmlDeviceGetAttributes_v2", d)
        return SimpleNamespace(multiprocessorCount=d["sm_count"], memorySizeMB=d["memory_total_bytes"] >> 20)

    nvmlDeviceGetAttributes = nvmlDeviceGetAttributes_v2

    def nvmlDeviceGetGpuInstanceId(self, h):
        return self._field("nvmlDeviceGetGpuInstanceId", h, "gpu_instance_id")

    def nvmlDeviceGetComputeInstanceId(self, h):
        return self._field("nvmlDeviceGetComputeInstanceId", h, "compute_instance_id")

    # -- /proc/driver/nvidia/version ----------------------------------------------------------
    def read_file(self, path: str) -> str:
        if path != kernel_module.PROC_DRIVER_VERSION:
            return self._real_read_file(path)  # a file a test wrote itself
        if "proc_driver_version" in self.m:
            return self.m["proc_driver_version"]
        raise FileNotFoundError(2, "No such file or directory", path)

    def install(self, monkeypatch) -> None:
        """Swap the real module's functions for these; sysfs says what the fixture says."""
        missing = set(self.m.get("missing_functions", ()))
        for name in FUNCTIONS:
            if name in missing:
                monkeypatch.delattr(pynvml, name, raising=False)
            else:
                monkeypatch.setattr(pynvml, name, getattr(self, name))
        monkeypatch.setattr("envcheck.probes.nvml.nvidia_on_pci", lambda: bool(self.m.get("nvidia_on_pci", self.m.get("gpus"))))
        # the replayed machine has its driver's library wherever NVML looks, so pynvml is asked
        monkeypatch.setattr("envcheck.probes.nvml.nvml_library_present", lambda: True)
        # /proc/driver/nvidia/version says what the recording says (and is absent without it)
        self._real_read_file = kernel_module._read_file
        monkeypatch.setattr(kernel_module, "_read_file", self.read_file)


def install_machine(monkeypatch, name: str) -> FakeNvml:
    fake = FakeNvml(load_machine(name))
    fake.install(monkeypatch)
    return fake
