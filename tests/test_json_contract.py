"""Every command's JSON: strict (no NaN or Infinity, which strict parsers refuse), one envelope
(schema_version, command, exit_code, equal to the process's exit code) with the command's own keys
beside it, pinned here; doctor's findings and snapshot to their leaves (every finding's keys and
types, every snapshot section's and list item's keys). A change to any of them is a change of
contract: bump SCHEMA_VERSION and these tables together."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envcheck.snapshot.facts import SCHEMA_VERSION
from tests.pythons import needs_torch
from tests.test_doctor_cli import doctor  # noqa: F401 - the fixture: doctor on a replayed machine, isolated from this one

REPORTS = Path(__file__).parent / "fixtures" / "reports"
HEALTHY = str(REPORTS / "healthy_v100s_torch2_5_cu118.txt")
OLD_DRIVER = str(REPORTS / "driver_too_old_a100_torch2_1_cu121.txt")

# arguments -> (the envelope's command, the command's own keys)
CONTRACT = {
    ("doctor", "--no-torch"): ("doctor", {"findings", "snapshot"}),
    ("doctor", "--from", OLD_DRIVER): ("doctor", {"findings", "snapshot"}),
    ("install-cmd",): ("install-cmd", {"torch", "torchvision", "torchaudio", "variant", "cuda", "manager", "python", "os", "arch",
                                       "mirror", "why", "steps", "notes", "rejected", "commands", "wheels_from"}),
    ("compat", "--torch", "2.2.1"): ("compat", {"release", "variants", "conda"}),
    ("compat", "--driver", "535.104.05"): ("compat", {"driver", "os", "max_cuda", "full", "mvc", "newest_builds", "mvc_limits"}),
    ("compat", "--cuda", "12.1"): ("compat", {"cuda", "variant", "min_driver_linux", "min_driver_windows", "mvc_driver_linux", "releases"}),
    ("compat", "--gpu", "RTX 3090"): ("compat", {"gpu", "builds", "dropped"}),
    ("mirror", "list"): ("mirror list", {"mirrors"}),
    ("mirror", "show"): ("mirror show", {"index_url", "extra_index_urls", "mirror", "problems"}),
    ("diff", HEALTHY, OLD_DRIVER): ("diff", {"a", "b", "differences", "not_compared"}),
    ("bench", "--device", "cpu", "--suite", "memory", "--level", "quick", "--seconds", "0.2"):
        ("bench", {"devices", "results", "verdicts", "notes"}),
    ("data", HEALTHY, "--seconds", "1"): ("data", {"path", "samples_found", "bytes_found", "reads", "cold_note", "decode", "sweep", "best",
                                                   "gpu_rate", "verdicts", "notes", "interrupted", "environment", "bottleneck"}),
    ("gpus",): ("gpus", {"driver_version", "cuda_driver_version", "cuda_visible_devices", "cuda_device_order", "problem", "warnings",
                         "notes", "gpus", "pick"}),
}


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _param(args: tuple):
    if args[0] == "bench":  # bench measures with torch; without it, it says so in one line instead
        return pytest.param(args, marks=needs_torch)
    return args


# arguments -> exit code. doctor --no-torch and gpus read this machine (NVML, pip's configuration),
# so each runs on a recorded one: no driver for doctor, the four RTX 3090s for gpus.
EXIT = {
    ("doctor", "--no-torch"): 0,
    ("doctor", "--from", OLD_DRIVER): 2,  # the driver cannot run torch's CUDA 12.1 build
    ("install-cmd",): 0,
    ("compat", "--torch", "2.2.1"): 0,
    ("compat", "--driver", "535.104.05"): 0,
    ("compat", "--cuda", "12.1"): 0,
    ("compat", "--gpu", "RTX 3090"): 0,
    ("mirror", "list"): 0,
    ("mirror", "show"): 0,
    ("diff", HEALTHY, OLD_DRIVER): 1,  # differences that matter
    ("bench", "--device", "cpu", "--suite", "memory", "--level", "quick", "--seconds", "0.2"): 0,
    ("data", HEALTHY, "--seconds", "1"): 0,  # any file is a dataset of raw bytes
    ("gpus",): 0,
}


@pytest.mark.parametrize("args", [_param(a) for a in sorted(CONTRACT)], ids=lambda a: " ".join(a)[:50])
def test_json_is_strict_and_keeps_its_keys(run_cli, machine, monkeypatch, args):
    machine("rtx3090x4_throttled" if args[0] == "gpus" else "no_driver")
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(var, raising=False)
    code, out, err = run_cli(*args, "--json")
    assert "Traceback" not in err, err
    assert code == EXIT[args], (code, err)
    data = _envelope(out, *CONTRACT[args], code=code)
    if args[0] == "data":
        assert set(data["environment"]) == {"cores", "shm_bytes", "start_method", "filesystem"}
        assert set(data["bottleneck"]) == {"name", "text"} and set(data["decode"]) >= {"kind", "per_core", "ceiling"}
    if args[0] == "doctor":
        _findings_keep_their_shape(data["findings"])
        _snapshot_keeps_its_shape(data["snapshot"])


ENVELOPE = ["schema_version", "command", "exit_code"]


def _envelope(out: str, command: str, keys: set, code: int) -> dict:
    data = _strict(out)
    assert isinstance(data, dict) and list(data)[:3] == ENVELOPE, list(data)[:3]
    assert data["schema_version"] == SCHEMA_VERSION and data["command"] == command and data["exit_code"] == code
    assert set(data) - set(ENVELOPE) == keys
    return data


def test_onnx_json_keeps_its_keys(run_cli, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "m.onnx"))
    code, out, err = run_cli("onnx", "--model", str(tmp_path / "m.onnx"), "--json")
    _envelope(out, "onnx", {"torch", "onnx", "onnxruntime", "available_providers", "passed", "results", "without_torch", "not_run"},
              code=code)


# -- doctor's findings and snapshot, to the leaves ---------------------------------------------------
# The contract written out, not read from envcheck's dataclasses: a field renamed, dropped or added
# there fails here, and then is a change of contract (SCHEMA_VERSION).

OPTIONAL_STR = (str, type(None))
FINDING = {  # envcheck/checks/findings.py
    "code": str, "severity": str, "area": str, "summary": str, "facts": dict, "fix": OPTIONAL_STR, "why": str,
    "fix_notes": list, "verify": OPTIONAL_STR, "alternative": OPTIONAL_STR,
}
SEVERITIES = {"ok", "info", "warn", "error"}
AREAS = {"system", "python", "driver", "toolkit", "torch", "onnxruntime"}

UNAVAILABLE = {"unavailable", "reason"}  # a missing fact: its code and why
SNAPSHOT = {"schema_version", "system", "python", "driver", "toolkit", "cuda_env", "torch", "packages", "onnxruntime", "pasted",
            "taken_at", "origin"}
# path -> keys: each section of the snapshot (a dict), and each item of its lists ("[]")
SHAPE = {
    "system": {"os", "arch", "os_release", "kernel", "cpu", "cpu_count", "memory_total_mib", "container", "wsl", "hostname"},
    "python": {"version", "executable", "venv", "conda_env", "pip_index_url", "pip_extra_index_urls", "mirror", "pip_check",
               "free_threaded"},
    "driver": {"driver_version", "cuda_driver_version", "gpus", "nvidia_on_pci", "kernel_module_version", "source",
               "cuda_driver_inferred", "bindings_version"},
    "driver.gpus[]": {"index", "name", "uuid", "pci_bus_id", "compute_capability", "memory_total_mib", "temperature_c", "power_draw_w",
                      "power_limit_w", "clocks_event_reasons", "ecc_uncorrected_volatile", "mig_mode", "persistence_mode", "processes",
                      "pcie_link", "sm_clock_mhz", "max_sm_clock_mhz", "memory_used_mib", "utilization_pct", "mig_devices"},
    "driver.gpus[].processes[]": {"pid", "name", "used_memory_mib"},
    "driver.gpus[].mig_devices[]": {"index", "uuid", "name", "gpu_instance_id", "compute_instance_id", "sm_count", "memory_total_mib",
                                    "memory_used_mib", "processes"},
    "driver.gpus[].mig_devices[].processes[]": {"pid", "name", "used_memory_mib"},
    "toolkit": {"nvcc_version", "nvcc_path", "cuda_home", "ld_library_path_cuda"},
    "cuda_env": {"cuda_visible_devices", "cuda_device_order", "nvidia_visible_devices"},
    "torch": {"status", "error", "version", "cuda", "hip", "cudnn", "nccl", "cuda_available", "device_count", "arch_list", "devices",
              "warnings", "loaded_libraries", "min_capability", "seconds", "dist_version", "installer"},
    "torch.devices[]": {"index", "name", "capability"},
    "packages[]": {"name", "version"},
    "onnxruntime": {"installed", "version", "providers", "loads"},
    "onnxruntime.loads[]": {"provider", "loads", "error", "missing", "after_preload", "torch_imported", "note"},
    "pasted[]": {"signature", "text", "groups"},
}


def _findings_keep_their_shape(findings: list) -> None:
    assert isinstance(findings, list)
    for f in findings:
        assert list(f) == list(FINDING), list(f)  # the keys, in their order
        for key, kind in FINDING.items():
            assert isinstance(f[key], kind), (f["code"], key, f[key])
        assert f["severity"] in SEVERITIES and f["area"] in AREAS, f
        assert all(isinstance(note, str) for note in f["fix_notes"]), f["fix_notes"]


def _snapshot_keeps_its_shape(snap: dict) -> set:
    """Check every section and list item against SHAPE; return the paths of SHAPE that held data."""
    assert set(snap) == SNAPSHOT, set(snap) ^ SNAPSHOT
    seen = set()

    def walk(value, path: str) -> None:
        if isinstance(value, dict) and "unavailable" in value:
            assert set(value) == UNAVAILABLE and all(isinstance(v, str) for v in value.values()), (path, value)
            return
        if path in SHAPE:  # a section, or an item of a list
            assert isinstance(value, dict) and set(value) == SHAPE[path], (path, value if not isinstance(value, dict) else set(value) ^ SHAPE[path])
            seen.add(path)
            for key, inner in value.items():
                walk(inner, f"{path}.{key}")
        elif isinstance(value, list) and f"{path}[]" in SHAPE:
            for item in value:
                walk(item, f"{path}[]")

    for key in SNAPSHOT:
        walk(snap[key], key)
    for path in ("system", "python", "driver", "toolkit", "cuda_env", "onnxruntime"):
        assert path in seen, f"{path}: not a section"
    return seen


# Inputs whose snapshots hold every kind of list item, each named with the paths it must show.
ZH_PASTE = str(Path(__file__).parent / "fixtures" / "pastes" / "t_arch_sm120_rtx5090_leggedlab_zh.txt")


@pytest.mark.parametrize("box, spec, want", [
    # MIG A100s: GPUs, their MIG devices and the processes on those; torch's devices; companions
    ("a100_mig", "a100_mig_bench", {"driver.gpus[]", "driver.gpus[].mig_devices[]", "driver.gpus[].mig_devices[].processes[]", "torch",
                                    "torch.devices[]", "packages[]"}),
    # four RTX 3090s, two of them busy: the processes on whole GPUs
    ("rtx3090x4_throttled", "rtx3090x4", {"driver.gpus[]", "driver.gpus[].processes[]", "torch.devices[]"}),
])
def test_a_full_snapshot_keeps_its_shape_to_the_leaves(doctor, box, spec, want):  # noqa: F811 - the fixture imported above
    """Every list of the snapshot with items, each item checked, between these machines."""
    code, data = doctor(box, spec, packages={"torchvision": "0.21.0+cu126"})
    assert data["exit_code"] == code
    _findings_keep_their_shape(data["findings"])
    seen = _snapshot_keeps_its_shape(data["snapshot"])
    assert want <= seen, want - seen


def test_a_pasted_report_keeps_its_shape(run_cli):
    code, out, err = run_cli("doctor", "--from", ZH_PASTE, "--json")
    data = _envelope(out, "doctor", {"findings", "snapshot"}, code=code)
    assert code == 2 and data["findings"], err
    _findings_keep_their_shape(data["findings"])
    assert {"pasted[]", "driver.gpus[]"} <= _snapshot_keeps_its_shape(data["snapshot"])


def test_the_providers_tried_keep_their_shape(doctor, monkeypatch, tmp_path):  # noqa: F811 - the fixture imported above
    """onnxruntime's loads: each provider beside the CPU's, tried in a process of its own (a fake
    onnxruntime-gpu that lists CUDA and cannot load it, tests/fakes/onnxruntime)."""
    from tests.fakes import fake_ort

    cuda, cpu = "CUDAExecutionProvider", "CPUExecutionProvider"
    fake_ort.install(monkeypatch, tmp_path, {"version": "1.22.0", "providers": [cuda, cpu], "load": {cuda: "missing"}})
    isolated = tmp_path / "python-isolated"  # this Python: the fake wraps its own onnxruntime build
    isolated.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    isolated.chmod(0o755)
    code, data = doctor("driver580_h100x8", "cuda_h100x8", packages={"onnxruntime-gpu": "1.22.0"}, args=("--python", str(isolated)),
                        path=(fake_ort.FAKE,))
    _findings_keep_their_shape(data["findings"])
    assert {"onnxruntime.loads[]", "driver.gpus[]"} <= _snapshot_keeps_its_shape(data["snapshot"])
