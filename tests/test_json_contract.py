"""Every command's JSON: strict (no NaN or Infinity, which strict parsers refuse), one envelope
(schema_version, command, exit_code, equal to the process's exit code) with the command's own keys
beside it, pinned here. A change to any of them is a change of contract: bump SCHEMA_VERSION and
this table together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envcheck.snapshot.facts import SCHEMA_VERSION
from tests.pythons import needs_torch

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


@pytest.mark.parametrize("args", [_param(a) for a in sorted(CONTRACT)], ids=lambda a: " ".join(a)[:50])
def test_json_is_strict_and_keeps_its_keys(run_cli, args):
    code, out, err = run_cli(*args, "--json")
    assert code in (0, 1, 2) and "Traceback" not in err, err
    _envelope(out, *CONTRACT[args], code=code)


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
