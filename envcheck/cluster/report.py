"""What `envcheck cluster` found, from the rank reports rank 0 gathered: a pure function of them
and the compat tables, so it is tested without a job."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from envcheck.cluster.drift import drift
from envcheck.snapshot import Snapshot

LAG = 0.10  # as bench: a node more than 10% behind the median of the other nodes is flagged


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


def lagging_nodes(values: dict) -> list[tuple[int, float, float]]:
    """values: node -> figure (higher is better). (node, its figure, the others' median) for each
    node more than LAG behind the median of the others."""
    out = []
    for node, v in sorted(values.items()):
        others = [x for n, x in values.items() if n != node]
        if not others:
            continue
        median = statistics.median(others)
        if median > 0 and v < (1 - LAG) * median:
            out.append((node, v, median))
    return out


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

