"""What a person watching a terminal sees while a command runs (a live display on stderr, gone
when it ends) and what a log or a pipe gets (nothing); and the report tables and bar chart that
fit 80 and 120 columns, every column with a header."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envcheck.bench.results import LoadSummary
from envcheck.bench.runner import DeviceResult, allreduce_result
from envcheck.bench.suites import Measurement
from envcheck.bench.verdicts import judge
from envcheck.compat import Tables
from envcheck.onnxcheck.runner import ModelResult, OnnxReport, ProviderRun
from envcheck.render import bench as bench_render
from envcheck.render import onnx as onnx_render
from envcheck.render.console import Output
from tests.pythons import needs_torch

HERE = Path(__file__).resolve().parent
POSIX_TERMINAL = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pseudo-terminal")
HANG = {"PYTHONPATH": str(HERE / "fakes" / "torch"), "FAKE_TORCH_SPEC": str(HERE / "fixtures" / "torch" / "hang.json")}


def _run(args: list, env: dict, on_terminal: bool, timeout: float = 120) -> tuple:
    """(exit code, stdout, stderr) of `python -m envcheck ARGS`, its stderr a pseudo-terminal or a pipe."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")} | {"COLUMNS": "100", "TERM": "xterm"} | env
    if not on_terminal:
        proc = subprocess.run([sys.executable, "-m", "envcheck", *args], env=env, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", *args], env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    err = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal: it has ended
                break
            if not chunk:
                break
            err += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    out = proc.stdout.read()
    proc.wait(timeout=10)
    return proc.returncode, out, err.decode("utf-8", "replace")


@POSIX_TERMINAL
def test_doctor_names_the_probe_it_waits_for_on_a_terminal_only():
    args = ["doctor", "--timeout", "1.5"]
    code, out, err = _run(args, HANG, on_terminal=True)
    assert code == 2 and "torch-import-failed" in out
    assert f"waiting for: torch probe ({sys.executable})" in err and " s" in err
    assert "waiting for" not in out
    after = err.rsplit("\x1b[2K", 1)[1]  # the line is erased when the probes end: nothing printable after
    assert re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", after).strip() == ""
    code, out, err = _run(args, HANG, on_terminal=False)
    assert "torch-import-failed" in out and "waiting for" not in err + out
    code, out, err = _run(args, {**HANG, "NO_COLOR": "1"}, on_terminal=True)
    assert "torch-import-failed" in out and "waiting for" not in err


@POSIX_TERMINAL
def test_bench_shows_a_bar_per_device_and_suite_on_a_terminal():
    pytest.importorskip("torch")
    args = ["bench", "--device", "cpu", "--level", "quick", "--suite", "matmul", "--dtype", "fp32", "--size", "256"]
    code, out, err = _run(args, {}, on_terminal=True)
    assert code == 0 and "matmul (TFLOP/s)" in out
    assert "CPU matmul" in err and "━" in err and "/1" in err and "s left" in err


@needs_torch  # exports a reference network
def test_onnx_shows_the_step_it_runs_on_a_terminal_but_not_for_json(run_cli, monkeypatch):
    pytest.importorskip("onnxruntime")
    args = ("onnx", "--exporter", "torchscript", "--network", "cifar_cnn")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    code, _, err = run_cli(*args, "--json")
    assert code == 0 and err == ""
    code, out, err = run_cli(*args)
    assert code == 0 and "exporting cifar_cnn with torchscript" in err and "verdict: all pass" in out


H100 = "NVIDIA H100 80GB HBM3"


def _gpu(label: str, f: float, load: LoadSummary) -> DeviceResult:
    return DeviceResult(label, H100, (
        Measurement("matmul", "fp32", 51 * f, "TFLOP/s", 50 * f, 52 * f, 120, "8192x8192", True),
        Measurement("matmul", "bf16", 700 * f, "TFLOP/s", 690 * f, 710 * f, 900, "8192x8192", True),
        Measurement("conv", "bf16 fwd+bwd", 300 * f, "TFLOP/s", 290 * f, 310 * f, 80, "N=64 64x56x56 3x3", images_per_s=12345 * f),
        Measurement("memory", "copy", 2900 * f, "GB/s", 2800 * f, 2950 * f, 40, "1024 MiB", note="out of memory: shrunk to 512"),
        Measurement("memory", "h2d pinned", 50 * f, "GB/s", 49 * f, 51 * f, 40, "1024 MiB"),
    ), load=load)


def _load(clock: float, lowest: int, power: float, hottest: int, reasons: dict) -> LoadSummary:
    return LoadSummary(readings=120, busy=112, sm_clock_mhz=clock, sm_clock_min_mhz=lowest, max_sm_clock_mhz=1980, power_w=power,
                       power_limit_w=700.0, temperature_max_c=hottest, utilization_pct=99, reasons=reasons, pcie_link="Gen5 x16")


def _bench_report(width: int, stream=None) -> str:
    row = Tables().gpus.get(H100)
    capped = {"sw_power_cap": 1.0}
    results = [_gpu("GPU 0", 1.0, _load(1755, 1650, 698.0, 71, capped)),
               _gpu("GPU 2", 0.7, _load(1290, 1005, 540.0, 88, {"sw_thermal_slowdown": 0.62, "sw_power_cap": 0.21})),
               _gpu("GPU 3", 1.01, _load(1770, 1665, 697.5, 69, capped)),
               allreduce_result("all-reduce (3 ranks, nccl)", "nccl", [{"bytes": 1 << 20, "algbw": 100.0, "busbw": 133.3, "runs": 100},
                                                                        {"bytes": 1 << 26, "algbw": 300.0, "busbw": 400.0, "runs": 50}])]
    rows = {"GPU 0": row, "GPU 2": row, "GPU 3": row}
    mapping = [{"device": f"GPU {i}", "name": H100, "uuid": f"GPU-6f0c1e5a-93d2-4b7e-8a1f-2c3d4e5f6a7{i}", "pci": f"00000000:{i}B:00.0",
                "worker": "cuda:0", "compute cap": "9.0", "power limit W": 700, "max SM clock MHz": 1980} for i in (0, 2, 3)]
    notes = ["peer-to-peer access: GPU 0→GPU 2 yes; GPU 0→GPU 3 yes; GPU 2→GPU 0 yes; GPU 2→GPU 3 NO; GPU 3→GPU 0 yes"]
    buf = stream or io.StringIO()
    bench_render.text(mapping, results, judge(results, rows), notes, rows, Output(buf, width=width))
    if stream is not None:
        stream.seek(0)
        return stream.read()
    return buf.getvalue()


def _onnx_report(width: int) -> str:
    """onnxruntime-gpu whose CUDA provider loads only after torch: TensorRT left out, CUDA a warning
    with nodes on the CPU, and an export that failed."""
    from envcheck.probes.ort_load import TENSORRT_NOTE
    from envcheck.snapshot.model import ProviderLoad

    trt, cuda, cpu = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
    alone = (ProviderLoad(trt, None, note=TENSORRT_NOTE),
             ProviderLoad(cuda, False, "Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open "
                          "shared object file: No such file or directory", ("libcublasLt.so.12",), True))
    why = ("CUDAExecutionProvider loaded here only because envcheck had imported torch, whose CUDA libraries it borrowed; without "
           "torch it does not load (libcublasLt.so.12 not found) and the model runs on the CPU; the libraries are installed but "
           "nothing loads them: call onnxruntime.preload_dlls() before creating a session")
    runs = (ProviderRun(cuda, "torch_only", why, 1.2e-6, 3e-5, 0.12, (cuda, cpu), True, {"use_tf32": "0"}),
            ProviderRun(cpu, "pass", "", 1.2e-7, 3e-6, 0.52, (cpu,)))
    report = OnnxReport("2.4.0+cu124", "1.16.0", "1.22.0", (trt, cuda, cpu), (
        ModelResult("cifar_cnn", "torchscript", "ok", runs=runs),
        ModelResult("transformer_block", "dynamo", "export_failed", error="torch.onnx.OnnxExporterError: Failed to export the model with torch.export."),
    ), alone, {trt: TENSORRT_NOTE})
    buf = io.StringIO()
    onnx_render.text(report, Output(buf, width=width))
    return buf.getvalue()


def _header_after(text: str, title: str) -> list:
    lines = text.splitlines()
    return lines[lines.index(title) + 1].split()


@pytest.mark.parametrize("width", [80, 120])
def test_bench_tables_fit_the_width_and_label_every_column(width):
    text = _bench_report(width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert _header_after(text, "matmul (TFLOP/s)") == ["device", "dtype", "median", "p10–p90", "of", "peak", "runs", "size"]
    assert _header_after(text, "conv (TFLOP/s)") == ["device", "dtype/pass", "median", "p10–p90", "images/s", "runs", "size"]
    assert _header_after(text, "all-reduce (3 ranks, nccl) (GB/s)") == ["message", "busbw", "algbw", "runs"]
    assert "GPU 0   fp32     51.0  50.0–52.0   76% of 66.9" in text
    assert "GPU-6f0c1e5a-93d2-4b7e-8a1f-2c3d4e5f6a70" in text  # a UUID is never cut
    assert "note: GPU 0 memory copy: out of memory: shrunk to 512" in text
    assert H100 + "  " + H100 not in text and "CPU  CPU" not in text


@pytest.mark.parametrize("width", [80, 120])
def test_onnx_table_fits_the_width_and_labels_every_column(width):
    text = _onnx_report(width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert _header_after(text, "cifar_cnn") == ["exporter", "provider", "verdict", "max", "abs", "max", "rel", "median", "ms"]
    assert "torchscript  CUDA      torch_only" in text and "export_failed" in text


def test_bar_chart_sets_each_figure_beside_its_peak_and_its_siblings():
    text = _bench_report(80)
    lines = text.splitlines()
    at = lines.index("matmul bf16 (TFLOP/s)")
    gpu0, gpu2 = lines[at + 1], lines[at + 2]
    assert gpu0.startswith("  GPU 0 █") and gpu0.endswith(" 700 of 989.4 peak (71%)")
    assert gpu2.endswith(" 490 of 989.4 peak (50%)") and gpu2.count("█") < gpu0.count("█")
    assert gpu0.count("█") + gpu0.count("░") == gpu2.count("█") + gpu2.count("░")  # both bars end at the peak
    assert all(len(line) <= 80 for line in lines[at:at + 4])


def test_bar_chart_falls_back_to_ascii_where_the_console_lacks_blocks():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii", newline="\n")
    text = _bench_report(80, stream)
    lines = text.splitlines()
    bar = lines[lines.index("matmul bf16 (TFLOP/s)") + 1]
    assert bar.startswith("  GPU 0 ###") and "." in bar and bar.endswith("700 of 989.4 peak (71%)")
    assert text.isascii()
