"""benchmarks/gpu_acceptance.sh run here, end to end, as a lent GPU machine would run it: in a
virtual environment that holds exactly the script's stated dependencies (and what they require),
with a recorded machine's NVML replayed in every process it starts (tests/fakes/site) and the CPU
build of torch. The script's own bugs show up before a GPU is lent, and its `gpu` tests skip cleanly.

The environment is built from this interpreter's installed distributions by linking, not
installing: each stated dependency and its requirements, read from their metadata, and nothing
else (no hypothesis, no uv, no ruff), in well under a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.pythons import HAS_TORCH

if not HAS_TORCH:  # the script's bench, onnx and cluster steps run torch in the Python they are given
    pytest.skip("benchmarks/gpu_acceptance.sh needs torch in its Python", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_acceptance.sh"
# The dependencies the script's header states, as distributions.
STATED = ("torch", "nvidia-ml-py", "typer", "rich", "packaging", "pytest", "onnx", "onnxruntime", "onnxscript")
STEPS = ("preflight", "record", "gpus_json", "doctor_json", "bench_json", "cluster_json", "onnx_json", "pytest_gpu",
         "doctor_text", "gpus_text", "bench_text", "onnx_text")


def _closure(names) -> list:
    """The installed distributions `names` need, transitively (markers evaluated for this Python)."""
    found: dict = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = metadata.distribution(name)
        for line in found[name].requires or ():
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(found.values())


@pytest.fixture(scope="module")
def stated_python(tmp_path_factory) -> str:
    """A venv's python whose site-packages links exactly the stated dependencies' files."""
    home = tmp_path_factory.mktemp("stated-venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(home)
    site = next(home.glob("lib/python3*/site-packages"))
    for dist in _closure(STATED):
        for entry in {f.parts[0] for f in dist.files or () if f.parts[0] not in ("..", "__pycache__")}:
            source = Path(dist.locate_file(entry))
            if source.exists() and not (site / entry).exists():
                (site / entry).symlink_to(source)
    python = str(home / "bin" / "python")
    missing = subprocess.run([python, "-c", "import hypothesis"], capture_output=True).returncode
    assert missing != 0, "the stated-dependencies venv must not hold the test suite's own extras"
    return python


def _run(python: str, out: Path, budget: int | None = None, **popen):
    env = {**os.environ, "PYTHON": python, "GPU_ACCEPTANCE_QUICK": "1", "ENVCHECK_FAKE_MACHINE": "laptop_rtx4060",
           "PYTHONPATH": str(ROOT / "tests" / "fakes" / "site")}
    env.pop("VIRTUAL_ENV", None)
    if budget is not None:
        env["GPU_ACCEPTANCE_BUDGET"] = str(budget)
    return subprocess.Popen(["bash", str(SCRIPT), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            **popen)


def _rows(summary: str) -> dict:
    lines = summary.strip().splitlines()
    return {line.split()[0]: line for line in lines[1:-1]}


def test_the_acceptance_script_runs_every_step_with_only_its_stated_dependencies(stated_python, tmp_path):
    out = tmp_path / "out"
    proc = _run(stated_python, out)
    stdout, stderr = proc.communicate(timeout=420)
    rows = _rows(stdout)
    assert stdout.strip().splitlines()[-1].endswith("steps passed"), stdout + stderr[-2000:]
    assert tuple(rows) == STEPS, rows.keys()
    # no GPU here: preflight says the machine lacks one (ENV), and the steps that need a GPU say so too
    assert proc.returncode == 1 and rows["preflight"].split()[1] == "ENV"
    assert rows["bench_json"].split()[1] == "ENV" and "an NVIDIA driver" in rows["bench_json"]
    preflight = json.loads((out / "preflight.json").read_text())
    assert preflight["missing"] == [] and preflight["nvidia_smi"] is False
    # the gpu tests ran without the suite's conftest and skipped cleanly
    assert rows["pytest_gpu"].split()[1] == "pass" and ", 0 failed," in rows["pytest_gpu"]
    # every envcheck step ran against the recorded laptop, and every --json is one document from byte 0
    assert "driver 550.120" in rows["doctor_json"]
    for step in ("gpus_json", "doctor_json", "onnx_json", "cluster_json"):
        json.loads((out / f"{step}.out").read_text())
        assert rows[step].split()[1] in ("pass", "FAIL"), rows[step]
    assert rows["onnx_json"].split()[1] == "pass" and "CPU pass" in rows["onnx_json"]
    assert "1 rank(s), gloo" in rows["cluster_json"]
    for step in STEPS:
        assert (out / f"{step}.out").exists() and (out / f"{step}.err").exists(), step
        # no traceback through envcheck's own code (torchrun prints its own when a rank exits 2)
        assert f'File "{ROOT / "envcheck"}' not in (out / f"{step}.err").read_text(errors="replace"), step
    assert (out / "summary.txt").read_text() == stdout


def test_a_small_budget_skips_the_steps_it_cannot_afford(stated_python, tmp_path):
    """The whole run is capped by construction: with 20 s, the steps after the budget is spent are
    SKIP rows, and the script ends within the budget (plus one step's grace)."""
    start = time.monotonic()
    proc = _run(stated_python, tmp_path / "out", budget=20)
    stdout, _ = proc.communicate(timeout=120)
    assert time.monotonic() - start < 20 + 15
    rows = _rows(stdout)
    assert tuple(rows) == STEPS
    assert rows["onnx_text"].split()[1] == "SKIP" and rows["preflight"].split()[1] != "SKIP"


def test_a_run_killed_midway_leaves_its_summary(stated_python, tmp_path):
    out = tmp_path / "out"
    proc = _run(stated_python, out, start_new_session=True)
    summary = out / "summary.txt"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (summary.exists() and "\nrecord" in summary.read_text()):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-step (gpus_json) or mid-summary: nothing can run after
    proc.communicate(timeout=30)
    lines = summary.read_text().splitlines()
    assert lines[1].startswith("preflight") and lines[2].startswith("record") and lines[-1].endswith("steps passed"), lines
