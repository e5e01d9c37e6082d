"""`envcheck bench`: real figures on the CPU, verdicts from injected figures, worker faults."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from envcheck.bench import runner
from envcheck.bench.results import LoadSummary, WorkerArgs
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


def _result(label, load=None, **values):
    ms = tuple(Measurement("matmul", k, v, "TFLOP/s", v, v, 10, "8192x8192", True) for k, v in values.items())
    return runner.DeviceResult(label, "NVIDIA GeForce RTX 3090", ms, load=load)


def test_a_gpu_lagging_its_siblings_is_flagged_with_what_slowed_it_under_load():
    hot = LoadSummary(readings=10, busy=10, sm_clock_mhz=1110, temperature_max_c=89, reasons={"sw_thermal_slowdown": 0.8})
    results = [_result("GPU 0", bf16=70.0), _result("GPU 2", hot, bf16=55.0), _result("GPU 3", bf16=71.0)]
    verdicts = judge(results, {})
    lag = [v for v in verdicts if v.label == "GPU 2"]
    assert [v.severity for v in lag] == ["warn", "warn"]
    assert lag[0].text == "matmul bf16: 22% slower than its siblings (55.0 vs 70.5); under load: sw_thermal_slowdown in 80% of readings"
    assert lag[1].text.startswith("slowed down by the hardware under load: sw_thermal_slowdown in 80% of readings (up to 89 °C): too hot")
    assert not [v for v in verdicts if v.label != "GPU 2"]


def test_figures_are_judged_against_the_datasheet_peak():
    row = T.gpus.get("NVIDIA H100 80GB HBM3")
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


def _interrupt_at_the_second_result(monkeypatch):
    """Ctrl-C as the runner collects its second worker's result."""
    calls = []
    real = runner._result

    def interrupt_second(label, proc, err, timeout):
        calls.append(label)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(label, proc, err, timeout)

    monkeypatch.setattr(runner, "_result", interrupt_second)


@needs_torch
def test_ctrl_c_keeps_what_finished(monkeypatch):
    _interrupt_at_the_second_result(monkeypatch)
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


def _workers_of(pid: int) -> list:
    """The pids of bench workers whose parent is `pid`, from /proc (Linux): the children lists of
    its threads, each checked by its command line."""
    import glob

    found = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            kids = Path(path).read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                argv = Path(f"/proc/{kid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"envcheck.bench.worker" in argv:
                found.append(int(kid))
    return found


def _alive(pid: int) -> bool:
    """Running, or not yet reaped by anyone but a zombie (state Z) counts as gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@needs_torch
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the worker through Linux's /proc")
def test_sigterm_stops_the_workers_too(tmp_path):
    """SIGTERM to envcheck alone (a job scheduler, `kill PID`): its workers lead sessions of their
    own, registered in probes/children.py, so the CLI kills them before it exits 143 with one line.
    Sent while the worker is inside a long measurement, which writes nothing that could fail on
    envcheck's closed pipe and end the worker by chance."""
    import time

    started = tmp_path / "started"  # the worker appends a line as a measurement begins (tests/fakes/measured)
    env = {**os.environ, "PYTHONPATH": f"{Path(__file__).parent / 'fakes' / 'measured'}{os.pathsep}{Path(__file__).parent.parent}",
           "ENVCHECK_TEST_STARTED": str(started)}
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "bench", "--device", "cpu", "--suite", "matmul", "--level", "quick",
                             "--seconds", "60"],  # 1000 products of 1024² take longer than the test
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    workers: list = []
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # a poll for the first measurement to begin, not a guess at how long torch imports
        workers = _workers_of(proc.pid)
        assert started.exists() and workers, "no worker began measuring"
        proc.send_signal(signal.SIGTERM)  # to envcheck alone, not its group
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        assert err.strip().splitlines() == ["envcheck: stopped (SIGTERM)"]
        end = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "a worker outlived envcheck"
    finally:  # should it fail: only what this test started, by pid, a worker only while its pid is still one
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:
            try:
                if _alive(pid) and b"envcheck.bench.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


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
needs_numpy = pytest.mark.skipif(not importlib.util.find_spec("numpy"), reason="the fake GPU multiplies with numpy")
BENCH_SPEC = Path(__file__).parent / "fixtures" / "torch" / "rtx3090x4_bench.json"


@needs_numpy
def test_gpu_bench_runs_each_chosen_gpu_in_its_own_worker_on_a_recorded_machine(machine, run_cli, monkeypatch):
    """bench --gpus 0,2 on the recorded 4x RTX 3090 (GPU 2 throttled at 89 C): the real selection,
    device mapping, worker plan and GPU code path, with a fake torch in the workers whose boards
    (listed fastest-first, not in PCI order) each take their own time per product and copy. GPU 0,
    idle when recorded, answers as a loaded RTX 3090 does once bench reads it again (modelled: the
    link trains up from Gen1 to Gen4, the board holds its 350 W limit); GPU 2 runs hot throughout."""
    m = machine("rtx3090x4_throttled")
    m["gpus"][0]["under_load"] = [{"sm_clock_mhz": mhz, "power_draw_mw": 347000, "temperature_c": 72, "clocks_event_reasons": ["sw_power_cap"],
                                   "pcie_gen": 4, "utilization_pct": 100} for mhz in (1740, 1800, 1860)]
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
    # the verdicts name what NVML saw under load: GPU 2 slowed by heat, GPU 0 holding its power limit
    lag = [v["text"] for v in data["verdicts"] if v["label"] == "GPU 2" and "slower than its siblings" in v["text"]]
    assert len(lag) == 7  # matmul in 4 dtypes, copy, h2d, d2h
    assert all(t.endswith("under load: hw_slowdown in 100% of readings, sw_thermal_slowdown in 100% of readings") for t in lag)
    hot = [v for v in data["verdicts"] if v["label"] == "GPU 2" and v["text"].startswith("slowed down by the hardware")]
    assert len(hot) == 1 and hot[0]["severity"] == "warn" and "(up to 89 °C)" in hot[0]["text"] and "power cables" in hot[0]["text"]
    assert [(v["severity"], v["text"][:51]) for v in data["verdicts"] if v["label"] == "GPU 0"] == [
        ("info", "power-limited: normal under full load: median 347 W")]
    gpu0, gpu2 = (r["load"] for r in data["results"])
    assert gpu0["pcie_link"] == "Gen4 x16" and gpu0["sm_clock_min_mhz"] == 1740 and gpu0["reasons"] == {"sw_power_cap": 1.0}
    assert gpu2["sm_clock_mhz"] == 1110 and gpu2["temperature_max_c"] == 89 and gpu0["max_sm_clock_mhz"] == 2100
    assert not [v for v in data["verdicts"] if v["severity"] == "error"]
    assert any("CUDA_VISIBLE_DEVICES=0,2 torchrun --nproc_per_node=2" in n for n in data["notes"])
    assert code == 1 == data["exit_code"], err  # warnings only


def _on_fake_gpus(monkeypatch, spec: str) -> None:
    """The workers (and torch's probe child) import the fake torch, whose boards are `spec`'s."""
    monkeypatch.setenv("PYTHONPATH", str(FAKES / "torch"))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(Path(__file__).parent / "fixtures" / "torch" / f"{spec}.json"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)


@needs_numpy
def test_the_h200_is_judged_on_its_state_under_load_not_its_idle_state(machine, run_cli, monkeypatch):
    """The lent H200: read once before the load it said 345 of 1980 MHz and no reason; read during
    a bf16 matmul, 1380-1515 MHz with sw_power_cap at 688-694 W of 700 W. bench reports the latter,
    and a power cap at full load is normal on a data-centre GPU: exit code 0."""
    machine("h200_driver580")
    _on_fake_gpus(monkeypatch, "h200_bench")
    code, out, err = run_cli("bench", "--gpus", "0", "--suite", "matmul", "--size", "64", "--seconds", "0.1", "--json")
    data = json.loads(out)
    (result,) = data["results"]
    load = result["load"]
    assert load["busy"] >= 1 and load["busy"] == load["readings"]
    assert 1380 <= load["sm_clock_mhz"] <= 1515 and load["sm_clock_min_mhz"] == 1380 and load["max_sm_clock_mhz"] == 1980
    assert 688 <= load["power_w"] <= 694 and load["power_limit_w"] == 700 and 54 <= load["temperature_max_c"] <= 59
    assert load["reasons"] == {"sw_power_cap": 1.0} and load["pcie_link"] == "Gen5 x16"
    assert [(v["severity"], v["text"][:40]) for v in data["verdicts"]] == [("info", "power-limited: normal under full load: m")]
    assert data["devices"][0]["max SM clock MHz"] == 1980 and "345" not in json.dumps(data["devices"])
    assert code == 0 == data["exit_code"], err


@needs_numpy
def test_the_text_report_shows_each_gpu_under_load(machine, run_cli, monkeypatch):
    machine("h200_driver580")
    _on_fake_gpus(monkeypatch, "h200_bench")
    code, out, err = run_cli("bench", "--gpus", "0", "--suite", "matmul", "--dtype", "bf16", "--size", "64", "--seconds", "0.1")
    lines = out.splitlines()
    at = lines.index("under load (NVML: busy readings of all taken; medians)")
    assert lines[at + 1].split() == ["device", "busy", "SM", "MHz", "lowest", "power", "W", "max", "°C", "PCIe"]
    row = lines[at + 3].split()
    assert row[0:2] == ["GPU", "0"] and row[4:7] == ["of", "1980", "1380"] and row[8:10] == ["of", "700"] and row[11:] == ["Gen5", "x16"]
    assert lines[at + 4] == "GPU 0 clocks-event reasons under load: sw_power_cap in 100% of readings"
    assert "info: GPU 0: power-limited: normal under full load" in out and "verdict: all good" in out and "345" not in out
    assert code == 0, err


@needs_numpy
@pytest.mark.parametrize("nvml_knows", [True, False], ids=["capability from NVML", "capability from torch"])
def test_a_pre_ampere_gpu_skips_tf32_and_bf16_with_the_reason(machine, run_cli, monkeypatch, nvml_knows):
    """A GTX 1080 Ti (compute capability 6.1) has no tensor cores: a tf32 figure would repeat fp32's
    and bf16 is only emulated. Without NVML's answer, the worker asks torch and skips the same."""
    m = machine("driver535_gtx1080ti")
    if not nvml_knows:
        m["gpus"][0]["errors"] = {"nvmlDeviceGetCudaComputeCapability": "NVML_ERROR_NOT_SUPPORTED"}
    _on_fake_gpus(monkeypatch, "gtx1080ti_bench")
    code, out, err = run_cli("bench", "--gpus", "0", "--suite", "matmul", "--size", "64", "--seconds", "0.05", "--json")
    (result,) = json.loads(out)["results"]
    assert [m["name"] for m in result["measurements"]] == ["fp32", "fp16"] and not result["errors"]
    assert [(s["suite"], s["name"]) for s in result["skipped"]] == [("matmul", "tf32"), ("matmul", "bf16")]
    assert result["skipped"][0]["reason"] == ("tf32 needs compute capability 8.0 or newer (Ampere); this GPU is 6.1, where torch would run "
                                              "plain fp32")
    assert "bf16 is only emulated there" in result["skipped"][1]["reason"]
    assert code == 0, err
    _, text, _ = run_cli("bench", "--gpus", "0", "--suite", "matmul", "--size", "64", "--seconds", "0.05")
    assert "note: GPU 0 matmul bf16 skipped: bf16 needs compute capability 8.0 or newer (Ampere); this GPU is 6.1" in text


@needs_torch_first
def test_asking_only_for_a_dtype_no_chosen_gpu_runs_is_one_line(machine, run_cli, monkeypatch):
    machine("driver535_gtx1080ti")
    _on_fake_gpus(monkeypatch, "gtx1080ti_bench")
    code, out, err = run_cli("bench", "--gpus", "0", "--suite", "matmul", "--dtype", "bf16")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--dtype bf16: no chosen GPU runs it natively (GPU 0: bf16 needs compute capability 8.0 or newer" in err


@needs_numpy
def test_matmul_inputs_are_drawn_on_the_gpu_itself():
    """Drawn on the host, bench's 8192x8192 inputs cost each worker seconds of CPU before its GPU
    starts (about one second per matrix on 2 cores with torch 2.13), so workers that should load
    their GPUs together start apart. The fake torch counts what is drawn on the host for a GPU."""
    script = ("import torch\nfrom torch import _compute\nfrom envcheck.bench import suites\n"
              "m = suites.matmul(torch, torch.device('cuda:0'), 'bf16', 64, 0.01)\n"
              "print(_compute.host_samples[0], m.correct)\n")
    env = {**os.environ, "PYTHONPATH": f"{FAKES / 'torch'}:{Path(__file__).parent.parent}",
           "FAKE_TORCH_SPEC": str(Path(__file__).parent / "fixtures" / "torch" / "h200_bench.json"), "CUDA_VISIBLE_DEVICES": "0"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True"]  # nothing drawn on the host; the same product gave the same bits


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
    _interrupt_at_the_second_result(monkeypatch)
    with pytest.raises(runner.Interrupted) as stop:
        runner.run_devices([("A", _args(), {}), ("B", _args(seconds=60, size=512), {})], timeout=60)
    first, second = stop.value.results
    assert first.label == "A" and first.measurements and not first.errors
    assert second.label == "B" and second.errors == ("interrupted (Ctrl-C) before it finished",)


@needs_numpy
def test_a_gpu_in_mig_mode_is_benchmarked_per_mig_device_against_its_share_of_the_datasheet(machine, run_cli, monkeypatch):
    """--gpus 1 on the MIG A100 box: one worker per MIG device (4g.40gb, 2g.20gb, 1g.10gb), each
    named by its MIG UUID, and each judged against its share of the A100's peaks (its SMs of 108,
    its memory of 80 GiB), not against the whole GPU's: healthy slices draw no 'far under peak'."""
    machine("a100_mig")
    _on_fake_gpus(monkeypatch, "a100_mig_bench")
    code, out, err = run_cli("bench", "--gpus", "1", "--suite", "matmul,memory,allreduce", "--dtype", "bf16", "--size", "64",
                             "--seconds", "0.05", "--json")
    data = json.loads(out)
    assert [d["device"] for d in data["devices"]] == ["GPU 1 MIG 0", "GPU 1 MIG 1", "GPU 1 MIG 2"]
    assert [d["name"] for d in data["devices"]][2] == "NVIDIA A100-SXM4-80GB MIG 1g.10gb"
    figures = {(r["label"], m["name"]): m["value"] for r in data["results"] for m in r["measurements"]}
    assert figures[("GPU 1 MIG 0", "bf16")] == pytest.approx(129.6) and figures[("GPU 1 MIG 2", "bf16")] == pytest.approx(32.4)
    texts = " | ".join(v["text"] for v in data["verdicts"])
    assert "of the datasheet's" not in texts, texts  # 129.6 is 80% of its 4g share (161.8), 42% of the whole A100's 312
    assert "siblings" not in texts  # slices of other sizes are not siblings
    assert any("NCCL" in n and "MIG" in n for n in data["notes"])  # no all-reduce across MIG devices
    assert code in (0, 1) and not [v for v in data["verdicts"] if v["severity"] == "error"], (texts, err)
