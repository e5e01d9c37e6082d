"""Golden text: what each command prints, at 80 and 120 columns without colour, pinned byte for byte.

A change to the output fails here first; when it is meant, regenerate with
`ENVCHECK_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py` and read the diff before committing.
Inputs are fixed (recorded machines, report texts, explicit install targets), so the output depends
on nothing of the machine running the tests. Tables must fit the width; command lines never wrap
(they are copied), so lines holding a command are the only ones allowed past it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
REPORTS = "tests/fixtures/reports"
PASTES = "tests/fixtures/pastes"
WIDTHS = (80, 120)

# name -> (recorded machine or None, argv). Report paths are relative: the output names them.
CASES = {
    "doctor-from-cpu-build-win": (None, ["doctor", "--from", f"{REPORTS}/cpu_build_rtx4080_laptop_win.txt"]),
    "doctor-from-driver-too-old": (None, ["doctor", "--from", f"{REPORTS}/driver_too_old_a100_torch2_1_cu121.txt"]),
    "doctor-from-healthy-md": (None, ["doctor", "--from", f"{REPORTS}/healthy_v100s_torch2_5_cu118.txt", "--format", "markdown"]),
    "doctor-from-nvsmi-table": (None, ["doctor", "--from", f"{REPORTS}/nvsmi_table_a800_535.txt"]),
    "install-cmd-cuda126": (None, ["install-cmd", "--cuda", "12.6", "--python", "3.12", "--os", "linux", "--arch", "x86_64", "--env", "torch"]),
    "install-cmd-gpu1080ti-explain": (None, ["install-cmd", "--gpu", "GTX 1080 Ti", "--driver", "535.183.01", "--python", "3.10",
                                             "--os", "linux", "--arch", "x86_64", "--env", "torch", "--explain"]),
    "install-cmd-windows-uv": (None, ["install-cmd", "--cuda", "12.8", "--python", "3.12", "--os", "windows", "--arch", "x86_64",
                                      "--manager", "uv", "--env", ".venv"]),
    "diff-two-machines": (None, ["diff", f"{REPORTS}/healthy_v100s_torch2_5_cu118.txt", f"{REPORTS}/driver_too_old_a100_torch2_1_cu121.txt"]),
    "diff-two-machines-md": (None, ["diff", f"{REPORTS}/cpu_build_rtx4080_laptop_win.txt", f"{REPORTS}/cpu_build_rtx3060_laptop_win.txt",
                                    "--format", "markdown"]),
    "diff-same-report": (None, ["diff", f"{REPORTS}/nvsmi_table_a800_535.txt", f"{REPORTS}/nvsmi_table_a800_535.txt"]),
    "compat-gpu-3090": (None, ["compat", "--gpu", "3090"]),
    "compat-driver-470": (None, ["compat", "--driver", "470.82.01"]),
    "gpus-4x3090": ("rtx3090x4_throttled", ["gpus"]),
    "gpus-4x3090-pick": ("rtx3090x4_throttled", ["gpus", "--pick", "3"]),
    "gpus-h100x8": ("driver580_h100x8", ["gpus"]),
    "gpus-laptop": ("laptop_rtx4060", ["gpus"]),
}
# name -> exit code: 0 all good, 1 warnings only (diff: differences that matter; --pick: a busy GPU
# in the pick), 2 errors found (these inputs never make a command refuse to run).
EXIT = {
    "doctor-from-cpu-build-win": 2,  # a CPU build of torch on a machine with an NVIDIA GPU
    "doctor-from-driver-too-old": 2,  # the driver cannot run torch's CUDA build
    "doctor-from-healthy-md": 0,
    "doctor-from-nvsmi-table": 0,
    "install-cmd-cuda126": 0,
    "install-cmd-gpu1080ti-explain": 0,
    "install-cmd-windows-uv": 0,
    "diff-two-machines": 1,
    "diff-two-machines-md": 1,
    "diff-same-report": 0,
    "compat-gpu-3090": 0,
    "compat-driver-470": 0,
    "gpus-4x3090": 0,
    "gpus-4x3090-pick": 1,  # GPU 1 of the three picked is busy
    "gpus-h100x8": 0,
    "gpus-laptop": 0,
}
COMMAND_LINE = ("pip ", "uv ", "conda ", "python", "source ", "CUDA_", "envcheck ", "torchrun", "fix: ", "check: ", "or: ")


def _compare(name: str, width: int, text: str) -> None:
    """Compare with the golden file; in update mode, rewrite it and skip: a file compared with
    what was just written to it proves nothing, so such a run never reports a pass."""
    path = GOLDEN / f"{name}.{width}.txt"
    if os.environ.get("ENVCHECK_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"{path.name} rewritten (ENVCHECK_UPDATE_GOLDEN=1): read its diff before committing")
    assert path.exists(), f"no golden file {path.name}: run with ENVCHECK_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} at {width} columns differs from {path.name}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_output(name, width, machine, run_cli, monkeypatch):
    recorded, argv = CASES[name]
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    machine(recorded or "no_driver")
    code, out, err = run_cli(*argv)
    assert not err, err
    assert code == EXIT[name], f"{name}: exit code {code}, expected {EXIT[name]}"
    if "markdown" not in argv:  # markdown is reflowed where it is pasted
        too_wide = [line for line in out.splitlines() if len(line) > width and not line.lstrip().startswith(COMMAND_LINE)]
        assert not too_wide, f"{name}: lines wider than {width} columns:\n" + "\n".join(too_wide)
    _compare(name, width, out)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["bench-3xh100-allreduce", "onnx-providers"])
def test_golden_results(name, width, monkeypatch):
    """bench and onnx measure, so their figures differ on every run: their renderers are pinned on
    fixed results (three H100s, one throttled, and an all-reduce; an onnx run with a provider that
    fell back to the CPU and an export that failed), built in tests/test_progress.py."""
    from tests.test_progress import _bench_report, _onnx_report

    monkeypatch.setenv("NO_COLOR", "1")
    out = (_bench_report if name.startswith("bench") else _onnx_report)(width)
    assert max(len(line) for line in out.splitlines()) <= width
    _compare(name, width, out)
