"""`envcheck cluster`: the launcher's environment, drift between ranks and nodes, the verdicts,
and the whole job run for real on the CPU with gloo, under torchrun and with ranks started by hand
as two "nodes" of one machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from envcheck.bench.runner import DeviceResult
from envcheck.bench.suites import Measurement
from envcheck.cluster.drift import drift
from envcheck.cluster.job import choose_backend
from envcheck.cluster.launch import Launch, from_env
from envcheck.cluster.report import RankReport, build, exit_code
from envcheck.cluster.sizes import ALWAYS, describe, message_cap, next_size
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.numbers import spans
from tests.pythons import needs_torch
from tests.snapshots import cuda_torch, gpu, snapshot

# -- the launcher's environment -------------------------------------------------------------------


def test_torchrun_environment():
    got = from_env({"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4", "GROUP_RANK": "1",
                    "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29400"})
    assert (got.launcher, got.rank, got.world, got.local_rank, got.local_world, got.node) == ("torchrun", 5, 8, 1, 4, 1)
    assert got.env() == {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29400"}


def test_slurm_environment_reads_this_nodes_task_count():
    got = from_env({"SLURM_PROCID": "9", "SLURM_NTASKS": "11", "SLURM_LOCALID": "1", "SLURM_NODEID": "2",
                    "SLURM_TASKS_PER_NODE": "4(x2),3", "MASTER_ADDR": "node-a"})
    assert (got.launcher, got.rank, got.world, got.local_rank, got.local_world, got.node) == ("slurm", 9, 11, 1, 3, 2)
    assert got.env()["RANK"] == "9" and got.env()["MASTER_PORT"] == "29500"


@pytest.mark.parametrize("env, needle", [
    ({}, "torchrun --nproc-per-node"),
    ({"RANK": "a", "WORLD_SIZE": "2"}, "RANK='a' is not a whole number"),
    ({"RANK": "2", "WORLD_SIZE": "2"}, "rank 2 is not below the world size 2"),
    ({"WORLD_SIZE": "2"}, "RANK is not set"),
    ({"RANK": "0", "WORLD_SIZE": "2", "MASTER_PORT": "70000"}, "not a TCP port"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "4"}, "set MASTER_ADDR"),
])
def test_a_bad_launch_environment_is_one_clear_error(env, needle):
    with pytest.raises(UserError, match=".") as exc:
        from_env(env)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


# -- drift, verdicts, exit code (pure) ------------------------------------------------------------


def rank(r, node, torch_version="2.2.1+cu121", gpu_name="NVIDIA GeForce RTX 3090", tflops=60.0, error="", **snap):
    cuda = "11.8" if "+cu118" in torch_version else "12.1"
    s = snapshot(torch=cuda_torch(version=torch_version, cuda=cuda), gpus=(gpu(0, gpu_name),), **snap)
    mm = Measurement("matmul", "fp16", tflops, "TFLOP/s", tflops, tflops, 10, "8192x8192", True) if not error else None
    return RankReport(r, node, f"host-{node}", r % 2, f"cuda:{r % 2}", gpu_name, "8.6", s, (), mm, error)


def report(ranks, node_results=(), strict=False, notes=()):
    return build("torchrun", "nccl", ranks, DeviceResult("all-reduce", "nccl"), tuple(node_results), tables(), strict, notes)


def test_identical_ranks_have_no_drift_and_exit_0():
    r = report([rank(i, i // 2) for i in range(4)])
    assert r.drift == () and r.verdicts == () and exit_code(r) == 0


def test_the_node_with_another_torch_is_named():
    ranks = [rank(i, i // 2, torch_version="2.1.0+cu118" if i >= 4 else "2.2.1+cu121") for i in range(6)]
    found = {d.key: d for d in drift(ranks)}
    assert set(found) == {"torch.version", "torch.cuda_build"}
    assert found["torch.version"].groups == (("2.2.1+cu121", (0, 1, 2, 3)), ("2.1.0+cu118", (4, 5)))
    assert found["torch.version"].odd_nodes == (2,) and found["torch.version"].split_nodes == ()
    assert exit_code(report(ranks)) == 0 and exit_code(report(ranks, strict=True)) == 1  # drift is a warning


def test_a_node_whose_ranks_disagree_and_a_tie_names_no_odd_node():
    ranks = [rank(0, 0), rank(1, 0), rank(2, 1), rank(3, 1, gpu_name="NVIDIA A100-SXM4-80GB")]
    device = next(d for d in drift(ranks) if d.key == "rank.device")
    assert device.split_nodes == (1,) and device.odd_nodes == ()
    tie = [rank(0, 0), rank(1, 1, driver="550.54.15")]
    driver = next(d for d in drift(tie) if d.key == "driver.version")
    assert driver.odd_nodes == () and [v for v, _ in driver.groups] == ["535.104.05", "550.54.15"]


def test_per_rank_cuda_visible_devices_is_not_drift():
    ranks = [rank(i, 0, cuda_visible=str(i)) for i in range(2)]
    assert drift(ranks) == []


def test_a_slow_node_and_a_failed_rank_are_verdicts():
    ranks = [rank(i, i // 2, tflops=45.0 if i >= 4 else 60.0) for i in range(6)]
    got = report(ranks)
    texts = [(v.label, v.severity, v.text) for v in got.verdicts]
    assert ("node 2", "warn") in [(label, sev) for label, sev, _ in texts]
    assert any(label == "rank 4" and "slower than its siblings" in t for label, _, t in texts)
    assert exit_code(got) == 0 and exit_code(report(ranks, strict=True)) == 1
    failed = [rank(0, 0), rank(1, 0, error="matmul fp16 8192x8192 failed: RuntimeError: CUDA error")]
    assert exit_code(report(failed)) == 2 and exit_code(report(failed, strict=True)) == 2
    assert any(v.label == "rank 1" and v.severity == "error" for v in report(failed).verdicts)


def test_a_node_with_slow_links_is_named():
    def sweep(label, busbw):
        return DeviceResult(label, "nccl", (Measurement("allreduce", "16 MiB", busbw, "GB/s", busbw, busbw, 10, "16 MiB"),))
    got = report([rank(i, i // 2) for i in range(6)], [sweep("node 0", 180.0), sweep("node 1", 178.0), sweep("node 2", 40.0)])
    assert [v.label for v in got.verdicts] == ["node 2"] and "allreduce 16 MiB: 78% slower than its siblings" in got.verdicts[0].text


def test_doctor_problems_carry_their_ranks():
    ranks = [rank(0, 0), rank(1, 0, driver="450.80.02", cuda_driver="11.0")]
    got = report(ranks)
    codes = {f.code: ranks for f, ranks in got.findings}
    assert codes.get("driver-too-old") == (1,)


def test_a_doctor_error_on_a_rank_is_a_warning_of_the_job_unless_strict():
    """The ranks joined and their all-reduce ran: cluster checks that. Doctor's error on rank 1 is
    reported with its rank and node as a warning (exit 0); --strict counts it as the error it is."""
    ranks = [rank(0, 0), rank(1, 0, driver="450.80.02", cuda_driver="11.0")]
    got = report(ranks)
    (f, where), = [(f, r) for f, r in got.findings if f.code == "driver-too-old"]
    assert f.severity == "warn" and f.facts["doctor_severity"] == "error" and where == (1,)
    assert exit_code(got) == 0
    strict = report(ranks, strict=True)
    assert {f.severity for f, _ in strict.findings if f.code == "driver-too-old"} == {"error"} and exit_code(strict) == 2


# -- the backend, and the sizes the all-reduce is measured at (pure) --------------------------------


def test_a_gpu_rank_without_nccl_falls_back_to_gloo_and_says_so():
    backend, note = choose_backend(None, cuda=True, nccl=False)
    assert backend == "gloo" and "no NCCL (torch.distributed.is_nccl_available() is False" in note and "gloo on the CPU" in note
    assert choose_backend(None, cuda=True, nccl=True) == ("nccl", "")
    assert choose_backend(None, cuda=False, nccl=False) == ("gloo", "")
    assert choose_backend("gloo", cuda=True, nccl=True) == ("gloo", "")


@pytest.mark.parametrize("cuda, needle", [(True, "--backend nccl: this torch build has no NCCL"), (False, "--backend nccl needs CUDA")])
def test_backend_nccl_that_cannot_run_is_one_line(cuda, needle):
    with pytest.raises(UserError) as exc:
        choose_backend("nccl", cuda=cuda, nccl=False)
    assert needle in str(exc.value) and "--backend gloo" in str(exc.value) and "\n" not in str(exc.value)


def _sweep_on(busbw_gbs: float, latency_s: float, world: int, cap=None, seconds=1.0):
    """The sizes cluster's sweep measures on links of this bus bandwidth (time = latency + size/algbw)."""
    rows = []
    while True:
        size, sizing = next_size(rows, cap, seconds, world)
        if size is None:
            return [r["bytes"] for r in rows], sizing
        algbw = busbw_gbs * 1e9 * (world / (2 * (world - 1)) if world > 1 else 1)
        rows.append({"bytes": size, "seconds": latency_s + size / algbw})


def test_the_sweep_climbs_to_where_bus_bandwidth_levels_off():
    """16 MiB measures a tenth of NVLink or InfiniBand (nccl-tests, 2x8 H100: 32 GB/s at 16 MiB,
    298 at 1 GiB): on fast links, with the default second per size, the sweep goes on to 4 GiB."""
    sizes, sizing = _sweep_on(300.0, 100e-6, world=16)
    assert sizes == [1 << 10, 1 << 20, 16 << 20, 256 << 20, 1 << 30, 4 << 30] and sizing.limit == "top"
    assert describe(sizing, "nccl", 1.0) == "largest message 4 GiB, where bus bandwidth levels off"


def test_the_sweep_stops_where_time_or_memory_ends_and_says_which():
    sizes, sizing = _sweep_on(1.2, 50e-6, world=2)  # 10 Gb Ethernet: 256 MiB takes 0.22 s a run, 7 runs at least
    assert sizes == list(ALWAYS) and sizing.limit == "time"
    assert describe(sizing, "nccl", 1.0) == ("largest message 16 MiB: 256 MiB would take about 1.6 s, more than --seconds 1; raise "
                                             "--seconds to measure it; bus bandwidth is still climbing at this size, so the figures "
                                             "understate the links")
    sizes, sizing = _sweep_on(1.2, 50e-6, world=2, seconds=10)
    assert sizes[-1] == 1 << 30
    cap = message_cap(6 << 30, ranks_sharing=2)  # 6 GiB free on a GPU two ranks share: 768 MiB a message
    sizes, sizing = _sweep_on(300.0, 100e-6, world=16, cap=cap)
    assert sizes[-1] == 256 << 20 and sizing.limit == "memory"
    assert describe(sizing, "nccl", 1.0).startswith("largest message 256 MiB: 1 GiB would not fit in the memory a rank can spare (768 MiB a message)")
    sizes, sizing = _sweep_on(300.0, 100e-6, world=1)
    assert sizes == list(ALWAYS) and describe(sizing, "gloo", 1.0) == "largest message 16 MiB: with one rank there is no link to measure"


def test_how_the_job_was_measured_is_noted_and_changes_no_exit_code():
    import io

    from envcheck.render import cluster as render
    from envcheck.render.console import Output

    notes = (("backend", "this torch build has no NCCL ..."), ("all-reduce", "largest message 4 GiB, where bus bandwidth levels off"))
    got = report([rank(i, 0) for i in range(2)], notes=notes)
    assert [(v.label, v.severity) for v in got.verdicts] == [("backend", "info"), ("all-reduce", "info")] and exit_code(got) == 0
    assert exit_code(report([rank(i, 0) for i in range(2)], notes=notes, strict=True)) == 0
    buf = io.StringIO()
    render.text(got, Output(buf))
    assert "info: all-reduce: largest message 4 GiB, where bus bandwidth levels off" in buf.getvalue()


def test_helpers():
    assert spans(sorted([5, 0, 1, 2])) == "0-2, 5" and spans([3]) == "3"


# -- the CLI --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (("--backend", "mpi"), "--backend 'mpi'"),
    (("--seconds", "0"), "--seconds 0"),
    (("--timeout", "-1"), "--timeout -1"),
])
def test_bad_options_are_one_line(run_cli, args, needle):
    code, out, err = run_cli("cluster", *args)
    assert code == 2 and needle in err and err.count("\n") == 1 and out == ""


def test_outside_a_launcher_says_how_to_run_it(run_cli, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run_cli("cluster")
    assert code == 2 and "torchrun --nproc-per-node" in err and err.count("\n") == 1


# -- for real, on the CPU with gloo (these need torch; the rest of the module does not) ------------


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "NCCL_", "GLOO_")) and k not in ("RANK", "WORLD_SIZE")}
    env.update({"MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}, **extra)
    return env


@needs_torch
def test_two_nodes_of_one_machine_one_configured_apart():
    """Four ranks started by hand as two nodes; node 1 disables InfiniBand: the drift names it,
    each node gets its own all-reduce sweep, and every rank exits 0 (no --strict)."""
    port = str(_port())
    procs = []
    for r in range(4):
        extra = {"NCCL_IB_DISABLE": "1"} if r >= 2 else {}
        env = _env(RANK=str(r), WORLD_SIZE="4", LOCAL_RANK=str(r % 2), LOCAL_WORLD_SIZE="2", GROUP_RANK=str(r // 2),
                   MASTER_PORT=port, **extra)
        procs.append(subprocess.Popen([sys.executable, "-m", "envcheck", "cluster", "--json", "--seconds", "0.05", "--timeout", "60"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [e[-500:] for _, e in outs]  # drift is reported, not a failure
    assert all(o == "" for o, _ in outs[1:])  # only rank 0 reports
    data = json.loads(outs[0][0])
    assert data["world"] == 4 and data["nodes"].keys() == {"0", "1"} and data["backend"] == "gloo"
    (nccl,) = [d for d in data["drift"] if d["key"] == "rank.transport"]
    assert nccl["label"] == "NCCL settings"
    assert nccl["groups"] == [["GLOO_SOCKET_IFNAME=lo", [0, 1]], ["NCCL_IB_DISABLE=1, GLOO_SOCKET_IFNAME=lo", [2, 3]]]
    assert nccl["split_nodes"] == [] and nccl["odd_nodes"] == []  # two against two: neither is the odd one
    assert [r["label"] for r in data["node_allreduce"]] == ["node 0", "node 1"]
    assert len(data["allreduce"]["measurements"]) == 3 and all(m["value"] > 0 for m in data["allreduce"]["measurements"])
    # 256 MiB over gloo in 0.05 s a size is out of reach: the report says where it stopped and why
    (sized,) = [v for v in data["verdicts"] if v["label"] == "all-reduce"]
    assert sized["severity"] == "info" and sized["text"].startswith("largest message 16 MiB: 256 MiB would take about")
    assert [m["size"] for m in data["node_allreduce"][0]["measurements"]] == ["1 KiB", "1 MiB", "16 MiB"]  # the same sizes
    assert all(r["matmul"]["value"] > 0 and r["device"] == "cpu" for r in data["ranks"])
    import torch

    assert {r["facts"]["torch.version"] for r in data["ranks"]} == {torch.__version__}  # read in each rank's own process


def _two_cores():
    """Run torchrun (and so its ranks) on at most two cores: three ranks of one thread then share them."""
    cores = sorted(os.sched_getaffinity(0))[:2]
    return lambda: os.sched_setaffinity(0, cores)


@needs_torch
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_under_torchrun_three_ranks_on_two_cores(strict):
    """Three ranks on two cores: the sharing is named, no rank is called slow, and a warning exits 0
    (1 with --strict) on every rank, with the report the last thing printed."""
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=3", f"--master-port={_port()}",
                           "-m", "envcheck", "cluster", "--seconds", "0.05", "--timeout", "60", *(["--strict"] if strict else [])],
                          env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180,
                          preexec_fn=_two_cores())
    out = done.stdout
    assert "cluster: 3 ranks on 1 node (torchrun, gloo)" in out, out[-2000:]
    assert "differences: none" in out and "all-reduce (3 ranks, gloo)" in out
    assert "ranks 0, 1, 2 share 2 CPU cores with 3 threads in all" in out and "slower than its siblings" not in out
    assert done.returncode == (1 if strict else 0), out[-2000:]
    if not strict:  # nothing after the report: no traceback, no terminated ranks
        assert out.rstrip().endswith("verdict: 1 problem(s)") and "Traceback" not in out, out[-2000:]


@needs_torch
@pytest.mark.parametrize("encoding", ["gbk", "cp936"])
def test_one_rank_reports_on_a_chinese_windows_console(encoding):
    """A world of one (torch's env:// variables set by hand): the whole report, written in the
    console's encoding, symbols falling back to ASCII, no traceback."""
    done = subprocess.run([sys.executable, "-m", "envcheck", "cluster", "--seconds", "0.05", "--timeout", "60"],
                          env=_env(RANK="0", WORLD_SIZE="1", MASTER_PORT=str(_port()), PYTHONIOENCODING=encoding),
                          capture_output=True, timeout=120)
    out, err = done.stdout.decode(encoding, errors="strict"), done.stderr.decode(encoding, errors="strict")
    assert done.returncode in (0, 1) and "Traceback" not in err, err[-2000:]
    assert "cluster: 1 rank on 1 node" in out and "verdict:" in out


FAKES = os.path.join(os.path.dirname(__file__), "fakes")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_rank(*args, **env):
    """A job of one rank, started by hand; (exit code, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "envcheck", "cluster", "--seconds", "0.05", "--timeout", "60", *args],
                          env=_env(RANK="0", WORLD_SIZE="1", MASTER_PORT=str(_port()), **env), capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


@needs_torch
def test_a_doctor_error_on_a_rank_is_reported_and_the_job_exits_0():
    """On a replayed GTX 1080 Ti box the rank's torch is the CPU build: doctor's error
    cpu-only-build, reported with its rank; the job itself ran, so every rank exits 0."""
    code, out, err = _one_rank(ENVCHECK_FAKE_MACHINE="driver535_gtx1080ti", PYTHONPATH=f"{FAKES}/site{os.pathsep}{ROOT}")
    assert "warn: cpu-only-build: " in out and "rank 0 (node 0) (an error for envcheck doctor; --strict counts it so)" in out, out + err
    assert code == 0 and "Traceback" not in err


@needs_torch
def test_a_gpu_rank_without_nccl_runs_on_gloo_and_says_so():
    """torch with CUDA but no NCCL (every Windows build): gloo, and the report says why."""
    code, out, err = _one_rank("--json", ENVCHECK_FAKE_NO_NCCL="1", PYTHONPATH=f"{FAKES}/no_nccl{os.pathsep}{ROOT}")
    assert code in (0, 1) and "Traceback" not in err, err[-2000:]
    data = json.loads(out)
    (note,) = [v for v in data["verdicts"] if v["label"] == "backend"]
    assert data["backend"] == "gloo" and "this torch build has no NCCL" in note["text"] and "gloo on the CPU" in note["text"]


@needs_torch
def test_backend_nccl_without_nccl_is_one_line_and_exit_2():
    code, out, err = _one_rank("--backend", "nccl", ENVCHECK_FAKE_NO_NCCL="1", PYTHONPATH=f"{FAKES}/no_nccl{os.pathsep}{ROOT}")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "--backend nccl: this torch build has no NCCL" in err and "use --backend gloo" in err


@needs_torch
def test_a_rank_that_never_comes_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "envcheck", "cluster", "--timeout", "2"],
                          env=_env(RANK="0", WORLD_SIZE="2", MASTER_PORT=str(_port())), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "could not join the job" in done.stderr and done.stderr.count("\n") == 1


def test_the_text_report_names_the_odd_node_and_the_ranks_with_a_problem():
    import io

    from envcheck.render import cluster as render
    from envcheck.render.console import Output

    ranks = [rank(i, i // 2, torch_version="2.1.0+cu118" if i >= 4 else "2.2.1+cu121",
                  driver="418.67" if i == 5 else "535.104.05", cuda_driver="10.1" if i == 5 else "12.2") for i in range(6)]
    buf = io.StringIO()
    got = report(ranks)
    render.text(got, Output(buf))
    text = buf.getvalue()
    assert "cluster: 6 ranks on 3 nodes (torchrun, nccl)" in text
    assert "torch: 2.2.1+cu121 on ranks 0-3 (nodes 0-1); 2.1.0+cu118 on ranks 4-5 (node 2)  → node 2 differs" in text
    assert "driver: 535.104.05 on ranks 0-4 (nodes 0-2); 418.67 on rank 5 (node 2)  → node 2 disagrees within itself" in text
    assert "warn: driver-too-old: " in text and "rank 5 (node 2) (an error for envcheck doctor; --strict counts it so)" in text
    assert text.rstrip().endswith(f"verdict: {len(got.drift) + len(got.findings)} problem(s)")
    assert got.exit_code == 0 and report(ranks, strict=True).exit_code == 2  # doctor's error, counted as one with --strict


def test_markdown_leaves_host_names_out():
    from envcheck.render import cluster as render
    from envcheck.render.console import fenced

    got = report([rank(i, i // 2) for i in range(4)])
    text = fenced("envcheck cluster", lambda c: render.text(got, c, hosts=False))
    assert text.startswith("## envcheck cluster\n\n```text\n") and "node 1  ranks 2-3" in text and "host-" not in text


def test_two_ranks_on_one_gpu_are_named_and_not_called_slow():
    # rank() puts rank r on cuda:(r % 2): ranks 0 and 2 share cuda:0, and each runs at half speed
    ranks = [rank(0, 0, tflops=30.0), rank(1, 0), rank(2, 0, tflops=30.0)]
    got = report(ranks)
    assert [(v.label, v.severity) for v in got.verdicts] == [("node 0", "warn")]
    assert "ranks 0, 2 share cuda:0" in got.verdicts[0].text
    assert exit_code(got) == 0 and exit_code(report(ranks, strict=True)) == 1


def cpu_rank(r, node, gflops, cpus=(0, 1), threads=1):
    mm = Measurement("matmul", "fp32", gflops / 1000, "TFLOP/s", gflops / 1000, gflops / 1000, 10, "1024x1024", True)
    return RankReport(r, node, f"host-{node}", r, "cpu", "CPU", "", snapshot(torch=cuda_torch()), (), mm, "", cpus, threads)


def test_ranks_sharing_cpu_cores_are_named_and_not_called_slow():
    three_on_two = [cpu_rank(0, 0, 34.0), cpu_rank(1, 0, 23.0), cpu_rank(2, 0, 33.0)]
    got = report(three_on_two)
    assert [(v.label, v.severity) for v in got.verdicts] == [("node 0", "warn")]
    assert "ranks 0, 1, 2 share 2 CPU cores with 3 threads in all" in got.verdicts[0].text
    assert exit_code(got) == 0 and exit_code(report(three_on_two, strict=True)) == 1
    # pinned apart (one core each), or as many threads as cores: no sharing, and a lagging rank is flagged
    apart = [cpu_rank(0, 0, 34.0, cpus=(0,)), cpu_rank(1, 0, 23.0, cpus=(1,)), cpu_rank(2, 0, 33.0, cpus=(2,))]
    texts = [v.text for v in report(apart).verdicts]
    assert not any("share" in t for t in texts) and any("slower than its siblings" in t for t in texts)


@needs_torch
def test_a_rank_that_cannot_reach_rank_0_says_so_in_one_line():
    """c10d prints some 40 lines of C++ frames per try from fd 2; the rank prints one line naming
    rank 0's address and what to check, and exits 2 (envcheck/cluster/rendezvous.py)."""
    port = _port()  # free, and nothing listens on it
    env = _env(RANK="1", WORLD_SIZE="2", LOCAL_RANK="0", LOCAL_WORLD_SIZE="1", MASTER_PORT=str(port))
    done = subprocess.run([sys.executable, "-m", "envcheck", "cluster", "--timeout", "1"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"envcheck: error: rank 1 cannot reach rank 0 at 127.0.0.1:{port} ")
    assert "MASTER_ADDR and MASTER_PORT" in done.stderr


def test_failures_other_than_reaching_rank_0_keep_their_words():
    from envcheck.cluster.rendezvous import failure

    rank0 = Launch("torchrun", 0, 2, 0, 1, 0, "10.0.0.1", 29500)
    rank1 = Launch("torchrun", 1, 2, 0, 1, 0, "10.0.0.1", 29500)
    assert failure(TimeoutError("no answer"), rank0, 5).startswith("rank 0 could not join the job at 10.0.0.1:29500: ")
    assert failure(RuntimeError("bad backend"), rank1, 5) == "rank 1 could not join the job at 10.0.0.1:29500: RuntimeError: bad backend"
    assert "cannot reach rank 0 at 10.0.0.1:29500" in failure(ConnectionRefusedError("refused"), rank1, 5)


class _C10d:
    """A stand-in torch.distributed whose rendezvous writes to fd 2 from below Python, as c10d does."""

    def __init__(self, error=None):
        self.error = error

    def init_process_group(self, backend, timeout):
        os.write(2, b"[W socket.cpp] retrying\nframe #0: c10::Error::Error\n")
        if self.error:
            raise self.error


def test_what_c10d_printed_is_written_out_after_a_join_and_dropped_after_a_failure(capfd):
    from envcheck.cluster import rendezvous

    rank1 = Launch("torchrun", 1, 2, 0, 1, 0, "127.0.0.1", 29500)
    rendezvous.join(_C10d(), "gloo", rank1, 5)
    assert capfd.readouterr().err == "[W socket.cpp] retrying\nframe #0: c10::Error::Error\n"
    with pytest.raises(UserError, match="rank 1 cannot reach rank 0 at 127.0.0.1:29500"):
        rendezvous.join(_C10d(ConnectionRefusedError("refused")), "gloo", rank1, 5)
    assert capfd.readouterr().err == ""
