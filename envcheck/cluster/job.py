"""The work of `envcheck cluster`, done by every rank of the job through torch.distributed.

Each rank takes doctor's snapshot of its own process (torch read in-process: the rank has imported
it already), times a short matmul on its device, and takes part in an all-reduce sweep over all
ranks and, on a job of several nodes, in one sweep per node. The reports travel to every rank by
all_gather_object over gloo, so every rank computes the same report and the same exit code; rank 0
prints it. envcheck adds no transport of its own.
"""

from __future__ import annotations

import os
import socket
import statistics
from dataclasses import dataclass, replace
from datetime import timedelta

from envcheck.cluster.drift import drift, lagging_nodes
from envcheck.cluster.launch import Launch
from envcheck.errors import UserError
from envcheck.snapshot import Snapshot

# Settings that change how NCCL (and gloo) move data: a node configured apart shows here. Read
# from an allow-list, never the whole environment (DESIGN.md, "Reliability and security").
TRANSPORT_SETTINGS = (
    "NCCL_SOCKET_IFNAME", "NCCL_IB_DISABLE", "NCCL_IB_HCA", "NCCL_NET", "NCCL_NET_GDR_LEVEL", "NCCL_P2P_DISABLE",
    "NCCL_P2P_LEVEL", "NCCL_SHM_DISABLE", "NCCL_CROSS_NIC", "NCCL_ALGO", "NCCL_PROTO", "NCCL_NVLS_ENABLE",
    "NCCL_DEBUG", "GLOO_SOCKET_IFNAME",
)
MATMUL = {"cuda": ("fp16", 8192), "cpu": ("fp32", 1024)}  # dtype and size of the per-rank product


@dataclass(frozen=True)
class RankReport:
    rank: int
    node: int
    host: str
    local_rank: int
    device: str  # cuda:N or cpu
    device_name: str  # the GPU model (with sm_XY) or "CPU"
    snapshot: Snapshot
    nccl_env: tuple = ()  # "NAME=value" of TRANSPORT_SETTINGS that are set
    matmul: object = None  # bench.suites.Measurement, or None when it failed
    error: str = ""


@dataclass(frozen=True)
class ClusterReport:
    launcher: str
    world: int
    backend: str
    ranks: tuple  # RankReport, by rank
    drift: tuple  # Drift
    findings: tuple  # (Finding, (rank, ...)): doctor's warnings and errors, with the ranks that have them
    allreduce: object  # bench.runner.DeviceResult over all ranks
    node_allreduce: tuple  # DeviceResult per node with two ranks or more (jobs of several nodes)
    verdicts: tuple  # bench.verdicts.Verdict

    @property
    def nodes(self) -> dict:
        """node -> (host, ranks)."""
        out: dict = {}
        for r in self.ranks:
            host, ranks = out.get(r.node, (r.host, ()))
            out[r.node] = (host, ranks + (r.rank,))
        return dict(sorted(out.items()))


def _device(torch, launch: Launch, backend: str):
    if backend == "nccl":
        count = torch.cuda.device_count()
        index = launch.local_rank % count
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


def _device_name(torch, device) -> str:
    if device.type != "cuda":
        return "CPU"
    major, minor = torch.cuda.get_device_capability(device)
    return f"{torch.cuda.get_device_name(device)} (sm_{major}{minor})"


def _matmul(torch, device, seconds: float):
    from envcheck.bench import suites

    dtype, size = MATMUL[device.type]
    try:
        return suites.matmul(torch, device, dtype, size, seconds), ""
    except Exception as exc:  # out of memory, a broken device: a finding about this rank
        return None, f"matmul {dtype} {size}x{size} failed: {type(exc).__name__}: {exc}"


def _snapshot(tables) -> Snapshot:
    from envcheck.collect import take_snapshot
    from envcheck.probes.torch_probe import read_torch_here

    snap = take_snapshot(tables, torch=False)
    torch_info, packages, ort = read_torch_here()
    return replace(snap, torch=torch_info, packages=packages, onnxruntime=ort)


def run(launch: Launch, tables, seconds: float, sizes: list, timeout: float, backend: str | None = None) -> ClusterReport:
    import torch

    try:
        import torch.distributed as dist
    except ImportError:
        dist = None
    if dist is None or not dist.is_available():
        raise UserError("this torch build has no torch.distributed")
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    os.environ.update(launch.env())  # under srun, torch's env:// rendezvous reads these
    try:
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    except Exception as exc:
        raise UserError(f"rank {launch.rank} could not join the job at "
                        f"{launch.master_addr}:{launch.master_port}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from exc
    try:
        return _run(torch, dist, launch, tables, seconds, sizes, backend)
    except UserError:
        raise
    except Exception as exc:  # a collective that failed or timed out: another rank died or is unreachable
        text = str(exc).strip()
        raise UserError(f"rank {launch.rank}: the job broke off: {type(exc).__name__}: {text.splitlines()[0] if text else ''} "
                        "(another rank failed, or did not answer within --timeout)") from exc
    finally:
        dist.destroy_process_group()


def _run(torch, dist, launch: Launch, tables, seconds: float, sizes: list, backend: str) -> ClusterReport:
    from envcheck.bench.allreduce import sweep
    from envcheck.bench.runner import allreduce_result

    objects = dist.new_group(backend="gloo") if backend != "gloo" else None
    device = _device(torch, launch, backend)
    snap = _snapshot(tables)
    dist.barrier(group=objects)  # the products run together, as training would load the machine
    matmul, error = _matmul(torch, device, seconds)
    mine = RankReport(launch.rank, launch.node, socket.gethostname(), launch.local_rank, str(device), _device_name(torch, device),
                      snap, tuple(f"{k}={os.environ[k]}" for k in TRANSPORT_SETTINGS if k in os.environ), matmul, error)
    reports: list = [None] * launch.world
    dist.all_gather_object(reports, mine, group=objects)

    args = {"backend": backend, "sizes": sizes, "seconds": seconds}
    everyone = allreduce_result(f"all-reduce ({launch.world} ranks, {backend})", backend, sweep(args, device))
    node_results = _per_node(dist, reports, args, device, objects)
    return build(launch.launcher, backend, reports, everyone, node_results, tables)


def _per_node(dist, reports: list, args: dict, device, objects) -> tuple:
    """One sweep inside each node at once, when the job spans several: the node whose own links
    are slow shows against the others."""
    from envcheck.bench.allreduce import sweep
    from envcheck.bench.runner import allreduce_result

    nodes: dict = {}
    for r in reports:
        nodes.setdefault(r.node, []).append(r.rank)
    if len(nodes) < 2:
        return ()
    me = dist.get_rank()
    mine = None
    for node, ranks in sorted(nodes.items()):
        group = dist.new_group(ranks=sorted(ranks))  # every rank creates every group, in one order
        if me in ranks:
            mine = (node, group, len(ranks))
    node, group, size = mine
    rows = sweep(args, device, group) if size >= 2 else None
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, (node, rows) if me == min(nodes[node]) else None, group=objects)
    return tuple(allreduce_result(f"node {n}", args["backend"], rows) for n, rows in sorted(x for x in gathered if x and x[1]))


def build(launcher: str, backend: str, reports: list, everyone, node_results: tuple, tables) -> ClusterReport:
    """The report from what the ranks gathered: pure, the same on every rank."""
    from envcheck.bench.runner import DeviceResult
    from envcheck.bench.verdicts import Verdict, judge
    from envcheck.checks import run_all

    reports = sorted(reports, key=lambda r: r.rank)
    per_rank = [DeviceResult(f"rank {r.rank}", r.device_name, (r.matmul,) if r.matmul else (), (r.error,) if r.error else ())
                for r in reports]
    rows = {f"rank {r.rank}": tables.gpu(r.device_name.rsplit(" (sm_", 1)[0]) if r.device.startswith("cuda") else None for r in reports}
    verdicts = list(judge(per_rank, rows))
    nodes = {r.node for r in reports}
    if len(nodes) > 1:
        by_node: dict = {}
        for r in reports:
            if r.matmul:
                by_node.setdefault(r.node, []).append(r.matmul.value)
        medians = {n: statistics.median(v) for n, v in by_node.items()}
        for n, v, others in lagging_nodes(medians):
            verdicts.append(Verdict(f"node {n}", "warn", f"matmul: its ranks' median {v:.3g} TFLOP/s is {1 - v / others:.0%} "
                                                         f"behind the other nodes' {others:.3g}"))
        largest = {n.label: n.measurements[-1].value for n in node_results if n.measurements}
        for label, v, others in lagging_nodes(largest):
            verdicts.append(Verdict(label, "warn", f"all-reduce inside the node: {v:.3g} GB/s busbw is {1 - v / others:.0%} "
                                                   f"behind the other nodes' {others:.3g}"))
    verdicts += [Verdict(everyone.label, "error", e) for e in everyone.errors]
    found: dict = {}
    for r in reports:
        for f in run_all(r.snapshot, tables):
            if f.severity in ("warn", "error"):
                found.setdefault((f.code, f.summary), (f, []))[1].append(r.rank)
    findings = tuple((f, tuple(ranks)) for f, ranks in found.values())
    return ClusterReport(launcher, len(reports), backend, tuple(reports), tuple(drift(reports)), findings, everyone, node_results,
                         tuple(verdicts))


def exit_code(report: ClusterReport) -> int:
    """2 when a rank failed or doctor found an error; 1 for drift, a lagging rank or node, or a warning."""
    severities = {v.severity for v in report.verdicts} | {f.severity for f, _ in report.findings}
    if "error" in severities:
        return 2
    return 1 if report.drift or "warn" in severities else 0

