"""The real NVML adapter against replayed machines."""

from __future__ import annotations

import time

from envcheck.probes.nvml import read_driver
from envcheck.snapshot import Unavailable, jsonable


def test_reads_driver_and_every_gpu(machine):
    machine("driver580_h100x8")
    info = read_driver()
    assert info.driver_version == "580.65.06"
    assert info.cuda_driver_version == "13.0"
    assert len(info.gpus) == 8
    assert {g.name for g in info.gpus} == {"NVIDIA H100 80GB HBM3"}
    assert [g.index for g in info.gpus] == list(range(8))
    assert info.gpus[3].pci_bus_id == "00000000:5D:00.0"
    assert info.gpus[0].compute_capability == "9.0"
    assert info.gpus[0].memory_total_mib == 81559


def test_old_nvidia_ml_py_with_bytes_and_without_versioned_functions(machine):
    machine("old_pynvml_bytes")
    info = read_driver()
    assert info.driver_version == "535.104.05"
    assert info.cuda_driver_version == "12.2"  # fell back to the unversioned function
    gpu = info.gpus[0]
    assert gpu.name == "NVIDIA GeForce GTX 1080 Ti" and isinstance(gpu.name, str)
    assert gpu.pci_bus_id == "00000000:02:00.0"


def test_no_driver_is_a_reason_not_an_exception(machine):
    machine("no_driver")
    info = read_driver()
    assert isinstance(info.driver_version, Unavailable)
    assert info.driver_version.code == "library_not_found"
    assert not info.nvidia_on_pci


def test_gpu_on_bus_without_driver(machine):
    machine("gpu_without_driver")
    info = read_driver()
    assert info.driver_version.code == "driver_not_loaded"
    assert info.nvidia_on_pci


def test_one_unsupported_field_spoils_nothing_else(machine, monkeypatch):
    m = machine("driver470_rtx3090")
    m["gpus"][0]["errors"] = {"nvmlDeviceGetMemoryInfo": "NVML_ERROR_NOT_SUPPORTED"}
    info = read_driver()
    gpu = info.gpus[0]
    assert gpu.memory_total_mib == Unavailable("not_supported", "not supported by this GPU or driver")
    assert gpu.name == "NVIDIA GeForce RTX 3090" and gpu.compute_capability == "8.6"


def test_wedged_driver_costs_only_the_timeout(machine):
    machine("wedged_driver")
    start = time.monotonic()
    info = read_driver(timeout=0.3)
    assert time.monotonic() - start < 2
    assert info.driver_version.code == "timeout"


def test_snapshot_json_marks_missing_fields(machine):
    machine("no_driver")
    d = jsonable(read_driver())
    assert d["driver_version"] == {"unavailable": "library_not_found", "reason": d["driver_version"]["reason"]}


def test_library_search_follows_ld_library_path(tmp_path, monkeypatch):
    from envcheck.probes import nvml

    monkeypatch.setattr(nvml, "_DEFAULT_DIRS", ())
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    (tmp_path / "libnvidia-ml.so.1").write_bytes(b"")
    assert nvml.nvml_library_present()


def test_no_library_anywhere_means_no_driver_without_importing_pynvml(monkeypatch):
    import builtins

    from envcheck.probes import nvml

    monkeypatch.setattr(nvml, "nvml_library_present", lambda: False)
    monkeypatch.setattr(nvml, "nvidia_on_pci", lambda: False)
    real_import = builtins.__import__

    def guard(name, *args, **kwargs):
        assert name != "pynvml", "pynvml imported although NVML cannot load"
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guard)
    info = nvml._read()
    assert info.driver_version.code == "library_not_found"
