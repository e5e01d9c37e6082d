"""Record this machine's NVML answers as a fixture that tests/fakes/fake_nvml.py replays.

    python tools/record_machine.py [--keep-uuids] > tests/fixtures/machines/NAME.json

The real driver's answers, asked the way envcheck's NVML adapter asks them, in the fixture's own
schema (tests/fakes/fake_nvml.py's docstring); an answer NVML refused is kept as the error it raised,
under "errors", so the fake raises it too. Besides the schema's fields it keeps what the fake does not
replay yet but a test may need, under "observed": how long nvmlInit and each handle took (a GPU
without persistence mode starts when a process first opens it), the v2 memory answer with the
driver's reserved memory, and the PIDs NVML gives against this process's own (a PID namespace).

UUIDs are replaced by synthetic ones unless --keep-uuids: fixtures are public, the UUID names the
board. Needs only pynvml; no torch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import pynvml

_ERROR_NAMES = {getattr(pynvml, n): n for n in dir(pynvml) if n.startswith("NVML_ERROR_") and isinstance(getattr(pynvml, n), int)}


def _text(v):
    return v.decode(errors="replace") if isinstance(v, bytes) else v


class Recorder:
    def __init__(self):
        self.errors: dict = {}

    def ask(self, gpu_errors: dict, function: str, *args, convert=lambda v: v):
        """pynvml.<function>(*args) converted, or None with the NVML error kept under its name."""
        fn = getattr(pynvml, function, None)
        if fn is None:
            gpu_errors[function] = "missing_in_bindings"
            return None
        try:
            return convert(fn(*args))
        except pynvml.NVMLError as exc:
            gpu_errors[function] = _ERROR_NAMES.get(exc.value, f"NVML_ERROR_{exc.value}")
            return None


def _timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, round(time.perf_counter() - start, 4)


def record(keep_uuids: bool) -> dict:
    rec = Recorder()
    _, init_s = _timed(pynvml.nvmlInit)
    errors: dict = {}
    machine = {
        "description": "",
        "driver_version": rec.ask(errors, "nvmlSystemGetDriverVersion", convert=_text),
        "cuda_driver_version": rec.ask(errors, "nvmlSystemGetCudaDriverVersion_v2") or rec.ask(errors, "nvmlSystemGetCudaDriverVersion"),
        "gpus": [],
    }
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8", errors="replace") as fh:
            machine["proc_driver_version"] = fh.read()
    except OSError:
        pass
    observed = {"nvml_init_s": init_s, "handle_s": [], "memory_v2": [], "own_pid": os.getpid(), "python": platform.python_version(),
                "nvidia_ml_py": _bindings_version(), "mig_devices": []}
    count = rec.ask(errors, "nvmlDeviceGetCount") or 0
    for i in range(count):
        g_err: dict = {}
        start = time.perf_counter()
        h = rec.ask(g_err, "nvmlDeviceGetHandleByIndex", i)
        observed["handle_s"].append(round(time.perf_counter() - start, 4))
        if h is None:
            machine["gpus"].append({"errors": g_err})
            continue
        gpu: dict = {
            "name": rec.ask(g_err, "nvmlDeviceGetName", h, convert=_text),
            "uuid": rec.ask(g_err, "nvmlDeviceGetUUID", h, convert=_text),
            "pci_bus_id": rec.ask(g_err, "nvmlDeviceGetPciInfo_v3", h, convert=lambda p: _text(p.busId)),
            "cuda_compute_capability": rec.ask(g_err, "nvmlDeviceGetCudaComputeCapability", h, convert=list),
        }
        mem = rec.ask(g_err, "nvmlDeviceGetMemoryInfo", h)
        if mem is not None:
            gpu["memory_total_bytes"] = int(mem.total)
            gpu["memory_used_mib"] = int(mem.used) // (1 << 20)
        v2 = rec.ask(g_err, "nvmlDeviceGetMemoryInfo", h, getattr(pynvml, "nvmlMemory_v2", 0))
        observed["memory_v2"].append(None if v2 is None else {k: int(getattr(v2, k)) for k in ("total", "reserved", "free", "used")})
        fields = {
            "temperature_c": ("nvmlDeviceGetTemperature", (h, pynvml.NVML_TEMPERATURE_GPU)),
            "power_draw_mw": ("nvmlDeviceGetPowerUsage", (h,)),
            "power_limit_mw": ("nvmlDeviceGetEnforcedPowerLimit", (h,)),
            "clocks_event_reasons": ("nvmlDeviceGetCurrentClocksEventReasons", (h,)),
            "ecc_uncorrected": ("nvmlDeviceGetTotalEccErrors", (h, pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, pynvml.NVML_VOLATILE_ECC)),
            "ecc_uncorrected_aggregate": ("nvmlDeviceGetTotalEccErrors", (h, pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, pynvml.NVML_AGGREGATE_ECC)),
            "mig_mode": ("nvmlDeviceGetMigMode", (h,)),
            "persistence_mode": ("nvmlDeviceGetPersistenceMode", (h,)),
            "pcie_gen": ("nvmlDeviceGetCurrPcieLinkGeneration", (h,)),
            "pcie_width": ("nvmlDeviceGetCurrPcieLinkWidth", (h,)),
            "sm_clock_mhz": ("nvmlDeviceGetClockInfo", (h, pynvml.NVML_CLOCK_SM)),
            "max_sm_clock_mhz": ("nvmlDeviceGetMaxClockInfo", (h, pynvml.NVML_CLOCK_SM)),
            "utilization_pct": ("nvmlDeviceGetUtilizationRates", (h,)),
        }
        for key, (function, args) in fields.items():
            value = rec.ask(g_err, function, *args)
            if value is None:
                continue
            if key == "utilization_pct":
                value = int(value.gpu)
            elif key == "mig_mode":
                value = [int(value[0]), int(value[1])]
            elif key == "persistence_mode":
                value = int(value) == pynvml.NVML_FEATURE_ENABLED
            else:
                value = int(value)
            gpu[key] = value
        procs = rec.ask(g_err, "nvmlDeviceGetComputeRunningProcesses", h)
        if procs is not None:
            gpu["processes"] = []
            for p in procs:
                name_err: dict = {}
                name = rec.ask(name_err, "nvmlSystemGetProcessName", p.pid, convert=_text)
                gpu["processes"].append({"pid": int(p.pid), "name": name, "used_memory_bytes": p.usedGpuMemory})
        mig = gpu.get("mig_mode")
        if mig and mig[0] == 1:
            observed["mig_devices"].append(_mig_devices(rec, h, i))
        if g_err:
            gpu["errors"] = g_err
        machine["gpus"].append(gpu)
    pynvml.nvmlShutdown()
    # a second session in the same process: persistence mode off makes every nvmlInit start the GPUs again
    _, observed["nvml_init_again_s"] = _timed(pynvml.nvmlInit)
    start = time.perf_counter()
    for i in range(count):
        pynvml.nvmlDeviceGetHandleByIndex(i)
    observed["handles_again_s"] = round(time.perf_counter() - start, 4)
    pynvml.nvmlShutdown()
    if errors:
        machine["errors"] = errors
    machine["observed"] = observed
    if not keep_uuids:
        _synthetic_uuids(machine)
    names = sorted({g.get("name") or "?" for g in machine["gpus"]})
    machine["description"] = f"driver {machine['driver_version']}, {count}x {', '.join(names)}"
    machine["provenance"] = f"Recorded with tools/record_machine.py on {time.strftime('%Y-%m-%d')}; UUIDs {'real' if keep_uuids else 'synthetic'}."
    machine["observed"] = machine.pop("observed")  # last, after the fields the fake replays
    return machine


def _mig_devices(rec: Recorder, parent, index: int) -> dict:
    """The MIG devices of one GPU, as NVML lists them (reading them may need privileges)."""
    err: dict = {}
    out = {"parent": index, "devices": [], "errors": err}
    top = rec.ask(err, "nvmlDeviceGetMaxMigDeviceCount", parent) or 0
    for k in range(top):
        h = rec.ask(err, "nvmlDeviceGetMigDeviceHandleByIndex", parent, k)
        if h is None:
            continue
        mem = rec.ask(err, "nvmlDeviceGetMemoryInfo", h)
        out["devices"].append({"uuid": rec.ask(err, "nvmlDeviceGetUUID", h, convert=_text),
                               "name": rec.ask(err, "nvmlDeviceGetName", h, convert=_text),
                               "gpu_instance_id": rec.ask(err, "nvmlDeviceGetGpuInstanceId", h),
                               "compute_instance_id": rec.ask(err, "nvmlDeviceGetComputeInstanceId", h),
                               "memory_total_bytes": None if mem is None else int(mem.total)})
    return out


def _synthetic_uuids(machine: dict) -> None:
    for i, gpu in enumerate(machine["gpus"]):
        if gpu.get("uuid"):
            gpu["uuid"] = f"GPU-{i:08x}-0000-4000-8000-{i:012x}"
    for m in machine.get("observed", {}).get("mig_devices", []):
        for k, d in enumerate(m["devices"]):
            if d.get("uuid"):
                d["uuid"] = f"MIG-{m['parent']:08x}-{k:04x}-4000-8000-{k:012x}"


def _bindings_version() -> str:
    try:
        from importlib.metadata import version

        return version("nvidia-ml-py")
    except Exception:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-uuids", action="store_true", help="keep the GPUs' real UUIDs (fixtures are public: default off)")
    args = parser.parse_args()
    try:
        machine = record(args.keep_uuids)
    except pynvml.NVMLError as exc:
        print(f"record_machine: NVML failed: {exc}", file=sys.stderr)
        return 2
    json.dump(machine, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
