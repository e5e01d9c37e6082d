"""`envcheck bench`: real figures on the CPU, verdicts from injected figures, worker faults."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from envcheck.bench import runner
from envcheck.bench.results import WorkerArgs
from envcheck.bench.suites import Measurement
from envcheck.bench.verdicts import judge
from envcheck.bench.worker import _shrinking
from envcheck.compat import Tables
from tests.pythons import HAS_TORCH, needs_torch

T = Tables()
# bench asks whether torch imports before it reads the GPUs or the CPU's dtypes: without torch,
# that is the one line these inputs get
needs_torch_first = pytest.mark.skipif(not HAS_TORCH, reason="bench reports a missing torch before this input")
QUICK = ["--device", "cpu", "--suite", "matmul,memory", "--seconds", "0.2", "--size", "256", "--json"]


@needs_torch
def test_cpu_matmul_and_memory_give_real_figures(run_cli):
    code, out, err = run_cli("bench", *QUICK)
    data = json.loads(out)
    (cpu,) = data["results"]
    by = {(m["suite"], m["name"]): m for m in cpu["measurements"]}
    assert code == 0, err
    assert by[("matmul", "fp32")]["value"] > 0 and by[("matmul", "fp32")]["correct"] is True
    assert by[("matmul", "fp32")]["runs"] >= 5 and by[("matmul", "fp32")]["low"] <= by[("matmul", "fp32")]["high"]
    assert by[("memory", "copy")]["unit"] == "GB/s" and by[("memory", "copy")]["value"] > 0
    assert data["devices"][0]["device"] == "CPU"


def _result(label, **values):
    ms = tuple(Measurement("matmul", k, v, "TFLOP/s", v, v, 10, "8192x8192", True) for k, v in values.items())
    return runner.DeviceResult(label, "NVIDIA GeForce RTX 3090", ms)


def test_a_gpu_lagging_its_siblings_is_flagged_with_its_throttle_reasons():
    results = [_result("GPU 0", bf16=70.0), _result("GPU 2", bf16=55.0), _result("GPU 3", bf16=71.0)]
    verdicts = judge(results, {}, {"GPU 2": ("sw_thermal_slowdown",)})
    lag = [v for v in verdicts if v.label == "GPU 2"]
    assert len(lag) == 1 and lag[0].severity == "warn" and "22% slower" in lag[0].text and "sw_thermal_slowdown" in lag[0].text
    assert not [v for v in verdicts if v.label != "GPU 2"]


def test_figures_are_judged_against_the_datasheet_peak():
    row = T.gpu("NVIDIA H100 80GB HBM3")
    low = judge([_result("GPU 0", bf16=300.0)], {"GPU 0": row})
    assert low and low[0].severity == "warn" and "of the datasheet's 989" in low[0].text
    assert judge([_result("GPU 0", bf16=800.0)], {"GPU 0": row}) == []  # 81%: a healthy H100


def test_wrong_bits_under_load_are_an_error():
    bad = runner.DeviceResult("GPU 1", "x", (Measurement("matmul", "fp16", 50, "TFLOP/s", 50, 50, 10, "n", False, "the same product gave different bits"),))
    assert [v.severity for v in judge([bad], {})] == ["error"]


def _args(**kw):
    return WorkerArgs(**{"device": "cpu", "suites": ("matmul",), "dtypes": ("fp32",), "size": 128, "megabytes": 16, "seconds": 0.1, **kw})


@needs_torch
def test_a_crashing_worker_keeps_the_others_results():
    results = runner.run_devices([("CPU", _args(), {}), ("GPU 9", _args(device="cuda:0"), {})], timeout=120)
    assert results[0].measurements and not results[0].errors
    assert results[1].errors and "crashed" in results[1].errors[0]


@needs_torch
def test_a_hanging_worker_is_killed_after_the_timeout():
    results = runner.run_devices([("CPU", _args(seconds=120, size=1024), {})], timeout=3)
    assert results[0].errors and "did not finish within 3 s" in results[0].errors[0]


def test_out_of_memory_shrinks_the_problem():
    def workload(n):
        if n > 1024:
            raise MemoryError("simulated")
        return n

    no_cuda = SimpleNamespace()  # the worker's torch on a CPU: a MemoryError is its out-of-memory
    assert _shrinking(no_cuda, workload, 8192, 256) == (1024, "out of memory: shrunk to 1024")
    with pytest.raises(MemoryError):
        _shrinking(no_cuda, workload, 8192, 4096)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--device", "cpu", "--workers", "0"], "--workers 0"),
        (["--device", "cpu", "--suite", "nope"], "--suite 'nope' is not one of"),
        (["--device", "cpu", "--level", "huge"], "--level 'huge'"),
        (["--device", "tpu"], "--device 'tpu'"),
        (["--device", "cpu", "--size", "10"], "--size 10"),
        (["--device", "cpu", "--gpus", "0"], "contradict"),
        pytest.param(["--device", "cpu", "--dtype", "tf32"], "--dtype 'tf32'", marks=needs_torch_first),
    ],
)
def test_bad_input_is_one_line_before_any_work(run_cli, args, needle):
    code, out, err = run_cli("bench", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--gpus", "0,9"], "there is no GPU 9 (this machine has GPUs 0–3"),
        (["--gpus", "a,b"], "'a' is neither a GPU index (0–3) nor a GPU UUID"),
        (["--gpus", "0,0"], "GPU 0 is chosen twice"),
    ],
)
@needs_torch_first
def test_bad_gpu_selection_stops_before_any_work(machine, run_cli, args, needle):
    machine("rtx3090x4_throttled")
    code, out, err = run_cli("bench", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""


@needs_torch_first
def test_no_gpu_points_to_the_cpu(machine, run_cli):
    machine("no_driver")
    code, _, err = run_cli("bench")
    assert code == 2 and "use --device cpu" in err


@needs_torch
def test_cpu_allreduce_over_two_gloo_workers(run_cli):
    code, out, err = run_cli("bench", "--device", "cpu", "--workers", "2", "--suite", "allreduce", "--level", "quick", "--seconds", "0.2", "--json")
    data = json.loads(out)
    (ar,) = data["results"]
    assert code in (0, 1), err
    assert ar["label"] == "all-reduce (2 ranks, gloo)" and not ar["errors"]
    sizes = [m["name"] for m in ar["measurements"]]
    assert sizes == ["1 KiB", "1 MiB", "16 MiB"] and all(m["value"] > 0 and m["algbw"] > 0 for m in ar["measurements"])


@needs_torch
def test_cpu_conv_forward_and_backward(run_cli):
    code, out, _ = run_cli("bench", "--device", "cpu", "--suite", "conv", "--seconds", "0.2", "--json")
    names = [m["name"] for m in json.loads(out)["results"][0]["measurements"]]
    assert names == ["fp32 fwd", "fp32 fwd+bwd"] and code == 0


@needs_torch
def test_allreduce_needs_two_ranks(run_cli):
    code, out, _ = run_cli("bench", "--device", "cpu", "--workers", "1", "--suite", "allreduce", "--json")
    assert json.loads(out)["results"] == [] and "needs at least 2 ranks" in json.loads(out)["notes"][0]


@needs_torch
def test_ctrl_c_keeps_what_finished(monkeypatch):
    calls = []
    real = runner._result

    def interrupt_second(label, proc, err, timeout):
        calls.append(label)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(label, proc, err, timeout)

    monkeypatch.setattr(runner, "_result", interrupt_second)
    with pytest.raises(runner.Interrupted) as stop:
        runner.run_devices([("A", _args(), {}), ("B", _args(), {}), ("C", _args(), {})], timeout=60)
    results = stop.value.results
    assert [r.label for r in results] == ["A", "B", "C"]
    assert results[0].measurements
    # B and C were asked for what they had measured: each answers, or says it was cut short
    assert all(r.measurements or any("interrupted" in e for e in r.errors) for r in results[1:])


@needs_torch
def test_ctrl_c_on_a_real_run_prints_the_measurements_that_finished(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    measured = tmp_path / "measured"  # the worker appends a line per finished measurement (tests/fakes/measured)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent / "fakes" / "measured"), "ENVCHECK_TEST_MEASURED": str(measured)}
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "bench", "--device", "cpu", "--level", "quick", "--suite", "matmul,conv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    deadline = time.monotonic() + 120
    def finished() -> list:
        return measured.read_text().splitlines() if measured.exists() else []

    while not finished() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # a poll for the first measurement, not a guess at how long it takes
    assert finished()[:1] == ["matmul"], "the first matmul never finished"
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the conv suite has not run yet
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "matmul (TFLOP/s)" in out and "interrupted (Ctrl-C)" in out
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "envcheck: interrupted (Ctrl-C)"


@needs_torch
def test_peer_access_query_reports_why_it_cannot_answer():
    """On a machine without CUDA the query says so instead of inventing a matrix."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the matrix is real here")
    grid, problem = runner.p2p_matrix("0,1", timeout=120)
    assert grid is None and "sees no CUDA device" in problem


@needs_torch
def test_markdown_is_the_report_in_a_code_block(run_cli):
    code, out, _ = run_cli("bench", *QUICK[:-1], "--format", "markdown")
    assert code == 0 and out.startswith("## envcheck bench\n\n```text\ndevices\n") and out.endswith("```\n")
    assert "matmul (TFLOP/s)" in out and "p10–p90" in out


def test_markdown_leaves_gpu_and_mig_uuids_out():
    from envcheck.render.console import fenced

    uuid = "GPU-6f0c1e5a-93d2-4b7e-8a1f-2c3d4e5f6a7b"
    text = fenced("t", lambda c: c.print(f"GPU 0 uuid {uuid}; MIG-{uuid[4:]} and CUDA_VISIBLE_DEVICES={uuid},1"))
    assert uuid[4:] not in text and text.count("GPU-…") == 2 and "MIG-…" in text


FAKES = Path(__file__).parent / "fakes"
BENCH_SPEC = Path(__file__).parent / "fixtures" / "torch" / "rtx3090x4_bench.json"


@pytest.mark.skipif(not __import__("importlib").util.find_spec("numpy"), reason="the fake GPU multiplies with numpy")
def test_gpu_bench_runs_each_chosen_gpu_in_its_own_worker_on_a_recorded_machine(machine, run_cli, monkeypatch):
    """bench --gpus 0,2 on the recorded 4x RTX 3090 (GPU 2 throttled at 89 C): the real selection,
    device mapping, worker plan and GPU code path, with a fake torch in the workers whose boards
    (listed fastest-first, not in PCI order) each take their own time per product and copy."""
    machine("rtx3090x4_throttled")
    monkeypatch.setenv("PYTHONPATH", str(FAKES / "torch"))  # the probe child and the workers import the fake
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(BENCH_SPEC))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    code, out, err = run_cli("bench", "--gpus", "0,2", "--suite", "matmul,memory", "--size", "64", "--seconds", "0.05", "--json")
    data = json.loads(out)
    # nvidia-smi's GPU 0 and 2, each a worker whose only device (cuda:0) is that board, named by UUID
    assert [(d["device"], d["uuid"], d["pci"], d["worker"]) for d in data["devices"]] == [
        ("GPU 0", "GPU-4b2a1c77-0000-4e2b-9c1d-a0b0c0d0e000", "00000000:01:00.0", "cuda:0"),
        ("GPU 2", "GPU-4b2a1c77-0002-4e2b-9c1d-a0b0c0d0e002", "00000000:41:00.0", "cuda:0")]
    figures = {(r["label"], m["suite"], m["name"]): m["value"] for r in data["results"] for m in r["measurements"]}
    # each board's own speed (rtx3090x4_bench.json): CUDA's index 0 (GPU 3) or 2 (GPU 1) would differ
    assert figures[("GPU 0", "matmul", "fp32")] == pytest.approx(35.0) and figures[("GPU 2", "matmul", "bf16")] == pytest.approx(35.0)
    assert figures[("GPU 0", "matmul", "tf32")] == pytest.approx(35.0) and figures[("GPU 2", "matmul", "fp16")] == pytest.approx(35.0)
    assert figures[("GPU 0", "memory", "copy")] == pytest.approx(800.0) and figures[("GPU 2", "memory", "copy")] == pytest.approx(420.0)
    assert figures[("GPU 0", "memory", "h2d pinned")] == pytest.approx(25.0) and figures[("GPU 2", "memory", "d2h pinned")] == pytest.approx(12.0)
    assert all(m["correct"] for r in data["results"] for m in r["measurements"] if m["suite"] == "matmul")
    assert [r["errors"] for r in data["results"]] == [[], []] and {r["name"] for r in data["results"]} == {"NVIDIA GeForce RTX 3090"}
    lag = [v["text"] for v in data["verdicts"] if v["label"] == "GPU 2" and "slower than its siblings" in v["text"]]
    assert len(lag) == 7 and all("sw_thermal_slowdown" in t for t in lag)  # matmul in 4 dtypes, copy, h2d, d2h
    assert not [v for v in data["verdicts"] if v["label"] == "GPU 0"] and not [v for v in data["verdicts"] if v["severity"] == "error"]
    assert any("CUDA_VISIBLE_DEVICES=0,2 torchrun --nproc_per_node=2" in n for n in data["notes"])
    assert code == 1 == data["exit_code"], err  # warnings only


@needs_torch
def test_ctrl_c_keeps_what_finished_where_workers_cannot_get_sigint(monkeypatch):
    """Windows' Popen.send_signal takes only SIGTERM, CTRL_C_EVENT and CTRL_BREAK_EVENT and raises
    ValueError for SIGINT (CPython Lib/subprocess.py): replayed here, a worker that cannot be asked
    is stopped and reported, and the results that finished are kept instead of a traceback."""
    accepted = {signal.SIGTERM, getattr(signal, "CTRL_C_EVENT", None), getattr(signal, "CTRL_BREAK_EVENT", None)} - {None}

    def windows_send_signal(self, sig):
        if sig not in accepted:
            raise ValueError(f"Unsupported signal: {sig}")
        return subprocess.Popen.send_signal(self, sig)

    monkeypatch.setattr(runner._Child, "send_signal", windows_send_signal)
    calls = []
    real = runner._result

    def interrupt_second(label, proc, err, timeout):
        calls.append(label)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(label, proc, err, timeout)

    monkeypatch.setattr(runner, "_result", interrupt_second)
    with pytest.raises(runner.Interrupted) as stop:
        runner.run_devices([("A", _args(), {}), ("B", _args(seconds=60, size=512), {})], timeout=60)
    first, second = stop.value.results
    assert first.label == "A" and first.measurements and not first.errors
    assert second.label == "B" and second.errors == ("interrupted (Ctrl-C) before it finished",)


needs_numpy = pytest.mark.skipif(not __import__("importlib").util.find_spec("numpy"), reason="the fake GPU multiplies with numpy")


@needs_numpy
def test_matmul_inputs_are_drawn_on_the_gpu_itself():
    """Drawn on the host, bench's 8192x8192 inputs cost each worker seconds of CPU before its GPU
    starts (about one second per matrix on 2 cores with torch 2.13), so workers that should load
    their GPUs together start apart. The fake torch counts what is drawn on the host for a GPU."""
    import subprocess
    import sys

    script = ("import torch\nfrom torch import _compute\nfrom envcheck.bench import suites\n"
              "m = suites.matmul(torch, torch.device('cuda:0'), 'bf16', 64, 0.01)\n"
              "print(_compute.host_samples[0], m.correct)\n")
    env = {**__import__("os").environ, "PYTHONPATH": f"{FAKES / 'torch'}:{Path(__file__).parent.parent}",
           "FAKE_TORCH_SPEC": str(Path(__file__).parent / "fixtures" / "torch" / "h200_bench.json"), "CUDA_VISIBLE_DEVICES": "0"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True"]  # nothing drawn on the host; the same product gave the same bits
