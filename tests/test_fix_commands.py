"""Every fix command a check prints is written for the shell of the machine the snapshot describes
and, with `doctor --python X`, runs X's pip (checks/commands.py)."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import sys

import pytest

from envcheck.checks import run_all
from envcheck.compat import Tables
from envcheck.render import doctor
from envcheck.render.console import Output
from envcheck.reports import read_report
from envcheck.snapshot.json_io import dump
from envcheck.snapshot.model import OnnxRuntime, ProviderLoad
from tests.snapshots import cpu_torch, snapshot

T = Tables()
CUDA_EP = "CUDAExecutionProvider"
LISTED = ("TensorrtExecutionProvider", CUDA_EP, "CPUExecutionProvider")
WIN_PYTHON = r"C:\Users\Li Lei\miniconda3\envs\dl\python.exe"


def _fix(s, code, interpreter=None):
    return next(f for f in run_all(s, T, interpreter) if f.code == code)


def _missing_libs(os="linux"):
    loads = (ProviderLoad(CUDA_EP, False, missing=("cublasLt64_12.dll",), after_preload=False),)
    return snapshot(ort=OnnxRuntime(("onnxruntime-gpu",), "1.22.0", LISTED, loads), os=os)


def test_a_windows_snapshot_s_onnx_runtime_fix_is_quoted_for_cmd_exe():
    """cmd.exe takes no single quotes: 'onnxruntime-gpu[cuda,cudnn]==1.22.0' would reach pip with them."""
    assert _fix(_missing_libs("windows"), "onnxruntime-no-gpu").fix == "pip install onnxruntime-gpu[cuda,cudnn]==1.22.0"
    assert _fix(_missing_libs("linux"), "onnxruntime-no-gpu").fix == "pip install 'onnxruntime-gpu[cuda,cudnn]==1.22.0'"


def test_another_interpreter_is_named_in_every_onnx_runtime_fix():
    f = _fix(_missing_libs("windows"), "onnxruntime-no-gpu", WIN_PYTHON)
    assert f.fix == f'"{WIN_PYTHON}" -m pip install onnxruntime-gpu[cuda,cudnn]==1.22.0'
    both = snapshot(ort=OnnxRuntime(("onnxruntime", "onnxruntime-gpu"), "1.22.0", ("CPUExecutionProvider",), ()))
    assert _fix(both, "onnxruntime-conflict", "/opt/my env/bin/python").fix == (
        "'/opt/my env/bin/python' -m pip uninstall -y onnxruntime onnxruntime-gpu && "
        "'/opt/my env/bin/python' -m pip install onnxruntime-gpu")
    cpu = snapshot(ort=OnnxRuntime(("onnxruntime",), "1.22.0", ("CPUExecutionProvider",), ()))
    assert _fix(cpu, "onnxruntime-no-gpu", "/opt/env2/bin/python").fix.startswith("/opt/env2/bin/python -m pip uninstall -y onnxruntime && ")


GPU_WARNING = ("UserWarning: NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
               "installation.\nThe current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.")


def test_a_pasted_error_s_hint_is_quoted_for_the_paste_s_shell():
    s = read_report(GPU_WARNING, T)
    windows = dataclasses.replace(s, system=dataclasses.replace(s.system, os="windows"))
    assert _fix(windows, "arch-unsupported").fix == 'envcheck install-cmd --gpu "NVIDIA GeForce RTX 5090"'
    assert _fix(s, "arch-unsupported").fix == "envcheck install-cmd --gpu 'NVIDIA GeForce RTX 5090'"


def test_a_pasted_error_s_fix_names_the_interpreter_given():
    """A paste that names the driver gets the torch-stack plan: with --python X it installs into X."""
    s = dataclasses.replace(snapshot(), pasted=read_report(GPU_WARNING, T).pasted)
    f = _fix(s, "arch-unsupported", "/opt/my env/bin/python")
    assert f.fix.startswith("'/opt/my env/bin/python' -m pip install torch=="), f.fix


def test_a_windows_interpreter_path_cmd_exe_cannot_hold_says_why_there_is_no_command():
    s = snapshot(os="windows", torch=cpu_torch())
    for path, char in ((r"C:\100%\python.exe", "'%'"), (r"C:\Hi!\python.exe", "'!'")):
        f = _fix(s, "cpu-only-build", path)
        assert f.fix is None and len(f.fix_notes) == 1
        assert f.fix_notes[0].startswith("no command is printed: ") and char in f.fix_notes[0]
        assert f.fix_notes[0].endswith("use a path to Python without it")


def test_the_fix_line_says_why_when_no_command_is_printed():
    """Text and markdown: a finding without a command still has its fix line, the reason on it."""
    s = snapshot(os="windows", torch=cpu_torch())
    findings = run_all(s, T, r"C:\100%\python.exe")
    stream = io.StringIO()
    doctor.text(s, findings, Output(stream, width=300))
    assert re.search(r"^ +fix: no command is printed: .*'%'.*use a path to Python without it$", stream.getvalue(), re.M)
    assert re.search(r"^  - fix: no command is printed: .*'%'", doctor.markdown(s, findings), re.M)


@pytest.mark.skipif(os.name != "posix", reason="a shell-script interpreter")
def test_doctor_from_a_saved_report_with_python_names_it_in_the_fix(run_cli, tmp_path):
    """`doctor --from REPORT --python X`: the report came from X, so its fixes install into X."""
    python = tmp_path / "my env" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    both = snapshot(ort=OnnxRuntime(("onnxruntime", "onnxruntime-gpu"), "1.22.0", ("CPUExecutionProvider",), ()))
    report = tmp_path / "report.json"
    report.write_text(json.dumps(dump(both)))
    code, out, err = run_cli("doctor", "--from", str(report), "--python", str(python), "--json")
    fix = next(f["fix"] for f in json.loads(out)["findings"] if f["code"] == "onnxruntime-conflict")
    assert fix.startswith(f"'{python}' -m pip uninstall -y onnxruntime onnxruntime-gpu"), (fix, err)
