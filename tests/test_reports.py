"""Saved reports: collect_env text and envcheck JSON through `doctor --from`, malformed input, the
collect_env parser under arbitrary input, and `envcheck diff`."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.compat import Tables
from envcheck.reports import ReportError, read_report
from envcheck.reports import collect_env as ce
from envcheck.snapshot.json_io import dump
from envcheck.snapshot.model import OnnxRuntime, Package
from tests.snapshots import cpu_torch, gpu, snapshot

T = Tables()

# The layout of torch 2.x's collect_env on Linux (values of one machine).
LINUX_2X = """Collecting environment information...
PyTorch version: 2.2.1+cu121
Is debug build: False
CUDA used to build PyTorch: 12.1
ROCM used to build PyTorch: N/A

OS: Ubuntu 22.04.3 LTS (x86_64)
GCC version: (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0
Clang version: Could not collect
CMake version: version 3.27.7
Libc version: glibc-2.35

Python version: 3.10.12 (main, Nov 20 2023, 15:14:05) [GCC 11.4.0] (64-bit runtime)
Python platform: Linux-5.15.0-88-generic-x86_64-with-glibc2.35
Is CUDA available: True
CUDA runtime version: 12.1.105
CUDA_MODULE_LOADING set to: LAZY
GPU models and configuration:
GPU 0: NVIDIA GeForce RTX 3090
GPU 1: NVIDIA GeForce RTX 3090

Nvidia driver version: 535.104.05
cuDNN version: Probably one of the following:
/usr/lib/x86_64-linux-gnu/libcudnn.so.8.9.2
HIP runtime version: N/A
MIOpen runtime version: N/A
Is XNNPACK available: True

CPU:
Architecture:                       x86_64
Model name:                         AMD Ryzen 9 5950X 16-Core Processor

Versions of relevant libraries:
[pip3] numpy==1.26.2
[pip3] torch==2.2.1+cu121
[pip3] torchvision==0.17.1+cu121
[pip3] triton==2.2.0
[conda] Could not collect
"""

# torch 1.x: one-line GPU field, [pip] lines, conda package lines.
LINUX_1X = """PyTorch version: 1.8.1+cu102
Is debug build: False
CUDA used to build PyTorch: 10.2
ROCM used to build PyTorch: N/A

OS: Ubuntu 18.04.5 LTS (x86_64)
GCC version: (Ubuntu 7.5.0-3ubuntu1~18.04) 7.5.0
Python version: 3.7 (64-bit runtime)
Is CUDA available: False
CUDA runtime version: Could not collect
GPU models and configuration: GPU 0: NVIDIA GeForce RTX 3080
Nvidia driver version: 460.32.03
cuDNN version: Could not collect

Versions of relevant libraries:
[pip] numpy==1.19.5
[pip] torch==1.8.1+cu102
[conda] torchvision 0.9.1 py37_cu102 pytorch
"""


def test_linux_2x_report():
    s = ce.parse(LINUX_2X, T)
    assert (s.system.os, s.system.arch, s.system.os_release, s.system.kernel) == ("linux", "x86_64", "Ubuntu 22.04.3 LTS", "5.15.0-88-generic")
    assert s.python.version == "3.10.12"
    assert s.driver.driver_version == "535.104.05" and len(s.driver.gpus) == 2
    assert s.driver.gpus[1].compute_capability == "8.6"
    assert (s.torch.version, s.torch.cuda, s.torch.cuda_available) == ("2.2.1+cu121", "12.1", True)
    assert s.toolkit.nvcc_version == "12.1"
    assert {p.name: p.version for p in s.packages}["torchvision"] == "0.17.1+cu121"
    assert s.python.pip_index_url.code == "not_in_report"


def test_a_healthy_report_gets_no_error():
    from envcheck.checks import run_all

    assert not [f for f in run_all(ce.parse(LINUX_2X, T), T) if f.severity == "error"]


def test_linux_1x_report_with_an_ampere_gpu_on_a_cu102_build():
    from envcheck.checks import run_all

    s = ce.parse(LINUX_1X, T)
    assert s.driver.gpus[0].name == "NVIDIA GeForce RTX 3080"
    assert {p.name: p.version for p in s.packages}["torchvision"] == "0.9.1"
    codes = {f.code for f in run_all(s, T)}
    assert "arch-unsupported" in codes  # cu102 wheels carry sm_37–sm_70 SASS and no PTX: nothing runs on sm_86


def test_missing_facts_stay_unknown_not_guessed():
    s = ce.parse("PyTorch version: 2.0.1\nIs CUDA available: False\n", T)
    assert s.driver.driver_version.code == "not_in_report"
    assert s.system.os == "unknown"
    from envcheck.checks import run_all

    assert not [f for f in run_all(s, T) if f.code == "no-driver"]


def test_doctor_from_collect_env_via_stdin(run_cli, monkeypatch):
    report = LINUX_2X.replace("2.2.1+cu121", "2.1.0+cpu").replace("CUDA used to build PyTorch: 12.1", "CUDA used to build PyTorch: None")
    monkeypatch.setattr("sys.stdin", io.StringIO(report))
    code, out, err = run_cli("doctor", "--from", "-", "--json")
    data = json.loads(out)
    f = [x for x in data["findings"] if x["code"] == "cpu-only-build"][0]
    assert code == 2 and f["fix"].startswith("pip install torch==")


def test_doctor_from_its_own_json(run_cli, tmp_path):
    s = snapshot(torch=cpu_torch())
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(dump(s)))
    code, out, _ = run_cli("doctor", "--from", str(path), "--json")
    assert {f["code"] for f in json.loads(out)["findings"]} >= {"cpu-only-build"}
    # the output of `doctor --json` reads back too
    path.write_text(out)
    code2, out2, _ = run_cli("doctor", "--from", str(path), "--json")
    assert json.loads(out2)["findings"] == json.loads(out)["findings"]


@pytest.mark.parametrize(
    "text,needle",
    [
        ("", "the report is empty"),
        ("hello world\n", "not a report envcheck reads"),
        ("{not json", "envcheck JSON that does not parse"),
        ('{"a": 1}', "not an envcheck snapshot"),
        ("index, name\n0, a, b\n", "row 1 has 3 values"),
    ],
)
def test_malformed_report_is_one_line_and_exit_2(run_cli, tmp_path, text, needle):
    path = tmp_path / "r.txt"
    path.write_text(text)
    code, out, err = run_cli("doctor", "--from", str(path))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""


def test_missing_report_file(run_cli):
    code, _, err = run_cli("doctor", "--from", "/nonexistent/report.txt")
    assert code == 2 and "no such file" in err


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_collect_env_parser_never_raises_anything_but_a_report_error(text):
    try:
        ce.parse(text, T)
    except ReportError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(LINUX_2X)), st.text(max_size=40))
def test_truncated_and_corrupted_collect_env_still_reads(cut, junk):
    text = LINUX_2X[:cut] + junk
    try:
        s = read_report(text, T)
    except ReportError:
        return
    assert s.schema_version == 1


# -- diff -------------------------------------------------------------------------------------------


def _saved(tmp_path, name, snap) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(dump(snap)))
    return str(path)


def test_diff_shows_exactly_the_fields_that_differ(run_cli, tmp_path):
    a = snapshot()
    b = replace(a, driver=replace(a.driver, driver_version="550.54.15", gpus=(gpu(0), gpu(1, name="NVIDIA GeForce RTX 4090", cc="8.9"))),
                torch=replace(a.torch, version="2.3.1+cu121"))
    code, out, _ = run_cli("diff", _saved(tmp_path, "a.json", a), _saved(tmp_path, "b.json", b), "--json")
    data = json.loads(out)
    fields = {d["key"]: (d["a"], d["b"]) for d in data["differences"]}
    assert set(fields) == {"driver.version", "driver.gpus", "torch.version"}
    assert fields["driver.version"] == ("535.104.05", "550.54.15")
    assert fields["driver.gpus"] == ("1× NVIDIA GeForce RTX 3090", "1× NVIDIA GeForce RTX 3090, 1× NVIDIA GeForce RTX 4090")
    assert [d["label"] for d in data["differences"]] == ["driver", "GPUs", "torch"]
    assert code == 1 and data["exit_code"] == 1


def test_diff_of_identical_snapshots_is_quiet(run_cli, tmp_path):
    p = _saved(tmp_path, "a.json", snapshot())
    code, out, _ = run_cli("diff", p, p)
    assert code == 0 and "no differences" in out


def test_diff_of_one_machine_saved_twice_with_different_unknowns_matches(run_cli, tmp_path):
    """What one save could not learn (nvidia-smi did not answer, the torch probe skipped) is not a
    difference, and no internal reason code reaches the user."""
    from envcheck.snapshot.model import Unavailable

    ort = OnnxRuntime(("onnxruntime-gpu",), "1.20.1", ("CUDAExecutionProvider", "CPUExecutionProvider"))
    packages = (Package("torchvision", "0.17.1+cu121"), Package("torchaudio", None))
    full = snapshot(packages=packages, ort=ort)
    a = replace(snapshot(driver=Unavailable("not_collected", "nvidia-smi did not answer"), packages=packages, ort=ort),
                torch=Unavailable("skipped", "--no-torch"))
    b = snapshot(driver=Unavailable("library_not_found", "NVML library (libnvidia-ml) not found"), packages=packages, ort=ort)
    pa, pb, pf = _saved(tmp_path, "a.json", a), _saved(tmp_path, "b.json", b), _saved(tmp_path, "full.json", full)
    for args in ((pa, pb), (pa, pf), (pf, pb), (pa, pb, "--format", "markdown")):
        code, out, err = run_cli("diff", *args)
        assert code == 0 and "no differences that matter" in out, out
        assert not any(c in out for c in ("not_collected", "library_not_found", "skipped", "unavailable (")), out
    code, out, _ = run_cli("diff", pa, pf)
    assert "not compared, unknown in A (nvidia-smi did not answer): driver" in out


def test_diff_names_a_real_difference_and_onnxruntime_by_its_version(run_cli, tmp_path):
    a = snapshot(ort=OnnxRuntime(("onnxruntime-gpu",), "1.20.1"), packages=(Package("torchvision", "0.17.1+cu121"),))
    b = replace(a, onnxruntime=OnnxRuntime(("onnxruntime", "onnxruntime-gpu"), "1.19.2"))
    code, out, _ = run_cli("diff", _saved(tmp_path, "a.json", a), _saved(tmp_path, "b.json", b))
    assert code == 1
    assert re.search(r"^ONNX Runtime +onnxruntime-gpu 1\.20\.1 +onnxruntime \+ onnxruntime-gpu 1\.19\.2$", out, re.M), out
    assert "1 difference that matters" in out


def test_diff_markdown_is_a_table_with_pipes_escaped(run_cli, tmp_path):
    import re

    a = snapshot()
    b = snapshot(gpus=(gpu(0, name="Odd|Board"),), python="3.12.1")
    code, out, _ = run_cli("diff", _saved(tmp_path, "a.json", a), _saved(tmp_path, "b.json", b), "--format", "markdown")
    rows = [line for line in out.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    assert code == 1 and len(rows) == 4 and all(len(c) == 3 for c in cells), out
    assert cells[1] == ["---", "---", "---"]
    assert cells[2] == ["Python", "3.11.7", "3.12.1"]
    assert cells[3] == ["GPUs", "1× NVIDIA GeForce RTX 3090", "1× Odd\\|Board"]


def test_diff_of_an_unreadable_report_is_one_line_and_exit_2(run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for other in (str(bad), str(tmp_path / "missing.json")):
        code, out, err = run_cli("diff", _saved(tmp_path, "a.json", snapshot()), other)
        assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err


def test_every_compared_fact_has_a_label_and_its_key_in_json(run_cli, tmp_path):
    from envcheck.render.diff import LABELS
    from envcheck.snapshot.diff import KEYS, facts

    assert tuple(f.key for f in facts(snapshot())) == KEYS and set(KEYS) <= set(LABELS)
    a = snapshot(python="3.10.12")
    code, out, _ = run_cli("diff", _saved(tmp_path, "a.json", a), _saved(tmp_path, "b.json", replace(a, torch=cpu_torch())), "--json")
    assert {(d["key"], d["label"], d["b"]) for d in json.loads(out)["differences"]} >= {
        ("torch.version", "torch", "2.1.0+cpu"), ("torch.cuda_build", "torch CUDA build", "none (CPU build)")}


def test_diff_across_formats(run_cli, tmp_path):
    p1, p2 = tmp_path / "a.txt", tmp_path / "b.txt"
    p1.write_text(LINUX_2X)
    p2.write_text(LINUX_2X.replace("535.104.05", "550.54.15").replace("3.10.12", "3.11.9"))
    code, out, _ = run_cli("diff", str(p1), str(p2))
    assert code == 1 and "driver" in out and re.search(r"^driver +535\.104\.05 +550\.54\.15$", out, re.M) and "Python" in out
