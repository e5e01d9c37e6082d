"""What `envcheck cluster` found, from the rank reports rank 0 gathered: a pure function of them
and the compat tables, so it is tested without a job."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from envcheck.cluster.drift import drift
from envcheck.snapshot import Snapshot


@dataclass(frozen=True)
class RankReport:
    rank: int
    node: int
    host: str
    local_rank: int
    device: str  # cuda:N or cpu
    model: str  # the GPU's name as torch gives it, or "CPU"
    capability: str  # "9.0"; "" for the CPU
    snapshot: Snapshot
    nccl_env: tuple = ()  # "NAME=value" of TRANSPORT_SETTINGS that are set
    matmul: object = None  # bench.suites.Measurement, or None when it failed
    error: str = ""

    @property
    def device_name(self) -> str:
        return f"{self.model} (sm_{self.capability.replace('.', '')})" if self.capability else self.model


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


def build(launcher: str, backend: str, reports: list, everyone, node_results: tuple, tables) -> ClusterReport:
    """The report from what the ranks sent: a pure function, run on rank 0."""
    from envcheck.bench.runner import DeviceResult
    from envcheck.bench.verdicts import Verdict, judge
    from envcheck.checks import run_all

    reports = sorted(reports, key=lambda r: r.rank)
    per_rank = [DeviceResult(f"rank {r.rank}", r.device_name, (r.matmul,) if r.matmul else (), (r.error,) if r.error else ())
                for r in reports]
    rows = {f"rank {r.rank}": tables.gpu(r.model) if r.capability else None for r in reports}
    verdicts = list(judge(per_rank, rows))
    sharing: dict = {}
    for r in reports:
        if r.capability:  # a GPU: more ranks than GPUs on a node puts two on one device
            sharing.setdefault((r.node, r.device), []).append(r.rank)
    for (node, device), ranks in sorted(sharing.items()):
        if len(ranks) > 1:
            verdicts.append(Verdict(f"node {node}", "warn", f"ranks {', '.join(map(str, ranks))} share {device}: more ranks than "
                                                            "GPUs on this node (--nproc-per-node too high?), so each is slowed"))
    if len({r.node for r in reports}) > 1:
        # Nodes judged as bench judges sibling GPUs: each node's median matmul, and its own
        # all-reduce at the largest size (the small ones measure latency, and jitter).
        by_node: dict = {}
        for r in reports:
            if r.matmul:
                by_node.setdefault(r.node, []).append(r.matmul)
        medians = [DeviceResult(f"node {n}", "", (replace(ms[0], value=statistics.median(m.value for m in ms), correct=None, note=""),))
                   for n, ms in sorted(by_node.items())]
        largest = [DeviceResult(r.label, r.name, r.measurements[-1:]) for r in node_results if r.measurements]
        verdicts += judge(medians + largest, {})
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

