"""Output never fails on a console's encoding: on a Chinese Windows console (GBK / cp936), or one
that can hold only ASCII, every command answers; symbols fall back to ASCII, Chinese passes through."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.render.console import Output, fit
from tests.pythons import HAS_TORCH

FIXTURES = Path(__file__).parent / "fixtures"
ZH_PASTE = str(FIXTURES / "pastes" / "t_arch_sm120_rtx5090_leggedlab_zh.txt")
REPORT = str(FIXTURES / "reports" / "cpu_build_rtx4080_laptop_win.txt")
ROOT = Path(__file__).resolve().parent.parent
# args -> (exit code, words on stdout, or on stderr for a refusal). The machine is a recorded one
# without a driver (tests/fakes/site), so no answer depends on the machine running the tests.
COMMANDS = {
    ("doctor", "--no-torch"): (0, "verdict: all good"),
    ("doctor", "--from", REPORT): (2, "verdict: 1 error(s), 0 warning(s)"),  # a CPU build beside an RTX 4080
    ("doctor", "--from", ZH_PASTE): (2, "verdict: 1 error(s), 0 warning(s)"),  # no sm_120 kernels for the RTX 5090
    ("doctor", "--from", ZH_PASTE, "--json"): (2, '"exit_code": 2'),
    ("doctor", "--from", ZH_PASTE, "--format", "markdown"): (2, "**verdict: 1 error(s), 0 warning(s)**"),
    ("install-cmd", "--mirror", "tuna", "--explain"): (0, "pip install torch=="),
    ("install-cmd", "--torch", "9.9"): (2, "envcheck: error: torch 9.9 "),
    ("compat", "--torch", "2.2.1"): (0, "previous-versions/#v221"),
    ("compat", "--gpu", "RTX 3090"): (0, "builds without kernels for it: cu102"),
    ("compat", "--driver", "470.82.01"): (0, "cu101  torch 1.8.1"),
    ("mirror", "list"): (0, "tuna"),
    ("diff", REPORT, ZH_PASTE): (1, "1 difference that matters between A and B"),
    # any file is a dataset of raw bytes; without torch the DataLoader sweep is skipped with a line
    ("data", REPORT, "--seconds", "1"): (0, "verdict: all good"),
    # bench measures with torch; without it, it says so in one line
    ("bench", "--device", "cpu", "--suite", "memory", "--level", "quick", "--seconds", "0.2"):
        (0, "verdict: all good") if HAS_TORCH else (2, "torch"),
}


@pytest.mark.parametrize("encoding", ["gbk", "cp936", "ascii"])
@pytest.mark.parametrize("args", sorted(COMMANDS), ids=lambda a: " ".join(a)[:40])
def test_every_command_answers_in_the_consoles_encoding(args, encoding):
    code, words = COMMANDS[args]
    path = os.pathsep.join([str(ROOT / "tests" / "fakes" / "site"), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": path, "ENVCHECK_FAKE_MACHINE": "no_driver"}
    done = subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, env=env, timeout=120)
    err = done.stderr.decode(encoding, errors="strict")
    out = done.stdout.decode(encoding, errors="strict")  # what the console shows, without mojibake
    assert "Traceback" not in err and "internal error" not in err, err
    assert done.returncode == code, (done.returncode, out[-300:], err)
    if code == 2 and not out:  # refused: one line
        assert len(err.strip().splitlines()) == 1 and words in err, err
    else:
        assert words in out, out[-300:]
    if "--json" in args:
        json.loads(out)


def test_symbols_fall_back_and_chinese_passes_through():
    gbk = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    assert fit("✗ error: 显卡驱动 ≤ 12.2 — ok", gbk) == "x error: 显卡驱动 ≤ 12.2 — ok"  # GBK has ≤ and —, not ✗
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert fit("✗ ⚠ ≤ → … 显卡", ascii_out) == "x ! <= -> ... ??"
    utf = io.StringIO()
    Output(utf).print("✗ 显卡")
    assert utf.getvalue() == "✗ 显卡\n"


FAKE_SITE = Path(__file__).parent / "fakes" / "site"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """y = relu(x) with a symbolic batch: the smallest model `onnx --model` runs end to end."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny", [x], [y])
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return str(path)


@pytest.mark.parametrize("encoding", ["gbk", "cp936", "ascii"])
@pytest.mark.parametrize("args", [["gpus"], ["gpus", "--pick", "1"], ["gpus", "--json"], ["onnx", "--model", "{model}"]],
                         ids=lambda a: " ".join(a))
def test_gpus_and_onnx_answer_in_the_consoles_encoding(args, encoding, request):
    """`gpus` on a recorded laptop (fake NVML in the child), `onnx` on a model built here."""
    if "onnx" in args:
        args = [a.replace("{model}", request.getfixturevalue("tiny_model")) for a in args]
    env = {**os.environ, "PYTHONIOENCODING": encoding, "ENVCHECK_FAKE_MACHINE": "laptop_rtx4060", "PYTHONPATH": f"{FAKE_SITE}{os.pathsep}{FAKE_SITE.parents[2]}"}
    done = subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, env=env, timeout=120)
    err = done.stderr.decode(encoding, errors="strict")
    out = done.stdout.decode(encoding, errors="strict")
    assert done.returncode in (0, 1) and "Traceback" not in err, err
    assert out.strip()
    if "gpus" in args and "--json" not in args:
        assert "RTX 4060" in out


def _ascii_run(*args: str, **env: str):
    done = subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "ascii", **env})
    return done.returncode, done.stdout.decode("ascii"), done.stderr.decode("ascii")


@pytest.mark.skipif(os.name != "posix", reason="a shell-script interpreter")
def test_doctor_markdown_refuses_a_fix_an_ascii_console_would_change(tmp_path):
    """A fix naming a Python under a Chinese folder: on an ASCII console, '?' in its place would be
    another path, so markdown says so in one line (exit 2), as install-cmd's does."""
    from envcheck.snapshot.json_io import dump
    from envcheck.snapshot.model import OnnxRuntime
    from tests.snapshots import snapshot

    python = tmp_path / "环境" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    report = tmp_path / "report.json"
    report.write_text(json.dumps(dump(snapshot(ort=OnnxRuntime(("onnxruntime", "onnxruntime-gpu"), "1.22.0", ("CPUExecutionProvider",), ())))))
    code, out, err = _ascii_run("doctor", "--from", str(report), "--python", str(python), "--format", "markdown")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "this console (ascii) cannot show" in err and "PYTHONIOENCODING=utf-8" in err


def test_gpus_markdown_refuses_a_pick_command_an_ascii_console_would_change():
    env = {"ENVCHECK_FAKE_MACHINE": "laptop_rtx4060", "PYTHONPATH": f"{FAKE_SITE}{os.pathsep}{FAKE_SITE.parents[2]}"}
    code, out, err = _ascii_run("gpus", "--pick", "1", "--cmd", "python 训练.py", "--format", "markdown", **env)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "this console (ascii) cannot show" in err, err
    code, out, err = _ascii_run("gpus", "--pick", "1", "--format", "markdown", **env)
    assert code in (0, 1) and "CUDA_VISIBLE_DEVICES" in out, err
