"""A fake NVML: replaces the functions of the real `pynvml` module with answers replayed from a
recorded machine (tests/fixtures/machines/<name>.json), so envcheck's real NVML adapter runs.

Errors are raised as the real pynvml.NVMLError subclasses, built from the NVML return code the
fixture names; functions listed in "missing_functions" are removed, as on an old driver or an
old nvidia-ml-py; "bytes": true returns bytes as old nvidia-ml-py releases did.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pynvml

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
)


def load_machine(name: str) -> dict:
    return json.loads((MACHINES / f"{name}.json").read_text())


class FakeNvml:
    def __init__(self, machine: dict):
        self.m = machine
        self.errors = machine.get("errors", {})
        self.as_bytes = machine.get("bytes", False)

    def _raise_if(self, function: str, gpu: dict | None = None) -> None:
        code = (gpu or {}).get("errors", {}).get(function) or self.errors.get(function)
        if code:
            raise pynvml.NVMLError(getattr(pynvml, code))
        if function == "nvmlInit" and self.m.get("hang_seconds"):
            time.sleep(self.m["hang_seconds"])

    def _s(self, text: str):
        return text.encode() if self.as_bytes else text

    def _gpu(self, handle) -> dict:
        return self.m["gpus"][handle]

    # -- the NVML functions -------------------------------------------------------------------
    def nvmlInit(self):
        self._raise_if("nvmlInit")

    def nvmlShutdown(self):
        pass

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
        self._raise_if("nvmlDeviceGetHandleByIndex", self.m["gpus"][index])
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

    def nvmlDeviceGetMemoryInfo(self, h):
        self._raise_if("nvmlDeviceGetMemoryInfo", self._gpu(h))
        return SimpleNamespace(total=self._gpu(h)["memory_total_bytes"], free=0, used=0)

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


def install_machine(monkeypatch, name: str) -> dict:
    machine = load_machine(name)
    FakeNvml(machine).install(monkeypatch)
    return machine
