"""benchmarks/gpu_acceptance.sh run here, end to end, with a recorded machine's NVML replayed in
every process it starts (tests/fakes/site) and the CPU build of torch: the script's own bugs show
up before a GPU is lent, and its `gpu` tests skip cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pythons import HAS_TORCH

if not HAS_TORCH:  # the script's bench, onnx and cluster steps run torch in the Python they are given
    pytest.skip("benchmarks/gpu_acceptance.sh needs torch in its Python", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_acceptance.sh"
STEPS = ("machine", "pytest_gpu", "doctor_json", "doctor_text", "bench_json", "bench_text", "onnx_json", "onnx_text", "cluster_json")


def test_the_acceptance_script_runs_every_step_and_summarises(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "GPU_ACCEPTANCE_QUICK": "1", "ENVCHECK_FAKE_MACHINE": "laptop_rtx4060",
           "PYTHONPATH": str(ROOT / "tests" / "fakes" / "site")}
    done = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=600)
    out = tmp_path / "out"
    summary = done.stdout.strip().splitlines()
    assert summary[-1].endswith("steps passed"), done.stdout + done.stderr[-2000:]
    rows = {line.split()[0]: line for line in summary[1:-1]}
    assert set(STEPS) <= set(rows), rows.keys()
    # no GPU here: the machine step fails (no nvidia-smi), so the script says so with exit 1
    assert done.returncode == 1 and rows["machine"].split()[1] == "FAIL"
    # the gpu tests skip cleanly rather than fail
    assert "0 failed, 9 skipped" in rows["pytest_gpu"] and rows["pytest_gpu"].split()[1] == "pass"
    # every envcheck step ran against the recorded laptop: its driver, not this machine's lack of one
    assert "driver 550.120" in rows["doctor_json"]
    assert rows["onnx_json"].split()[1] == "pass" and "CPU pass" in rows["onnx_json"]
    assert "1 rank(s), gloo" in rows["cluster_json"]
    for step in STEPS:
        assert (out / f"{step}.out").exists() and (out / f"{step}.err").exists(), step
        # no traceback through envcheck's own code (torchrun prints its own when a rank exits 2)
        assert f'File "{ROOT / "envcheck"}' not in (out / f"{step}.err").read_text(errors="replace"), step
    assert (out / "summary.txt").read_text() == done.stdout
