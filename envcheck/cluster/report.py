"""What `envcheck cluster` found, from the rank reports rank 0 gathered: a pure function of them
and the compat tables, so it is tested without a job."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from envcheck.bench.results import DeviceResult
from envcheck.bench.verdicts import Verdict, judge
from envcheck.checks import run_all
from envcheck.cluster.drift import drift
from envcheck.snapshot.model import Snapshot


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
    matmul: object = None  # bench.results.Measurement, or None when it failed
    error: str = ""
    cpus: tuple = ()  # the CPU cores this process may run on (os.sched_getaffinity), on its node
    threads: int = 0  # torch's intra-op threads (torch.get_num_threads()): what the matmul ran on

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
    # (its errors as warnings of the job unless strict; facts["doctor_severity"] keeps doctor's word)
    allreduce: object  # bench.results.DeviceResult over all ranks
    node_allreduce: tuple  # DeviceResult per node with two ranks or more (jobs of several nodes)
    verdicts: tuple  # bench.verdicts.Verdict; "info" ones note how the job was measured (backend, message sizes)
    strict: bool = False  # warnings and drift exit 1 (for CI), not 0, and doctor's errors 2

    @property
    def exit_code(self) -> int:
        return exit_code(self)

    @property
    def nodes(self) -> dict:
        """node -> (host, ranks)."""
        out: dict = {}
        for r in self.ranks:
            host, ranks = out.get(r.node, (r.host, ()))
            out[r.node] = (host, ranks + (r.rank,))
        return dict(sorted(out.items()))


def _sharing(reports: list) -> dict:
    """(node, what is shared) -> (ranks, why): a GPU with two ranks on it, or a node's CPU cores with
    more threads on them than there are cores. Their products slow each other down by design."""
    gpus: dict = {}
    cpus: dict = {}
    for r in reports:
        if r.capability:  # a GPU: more ranks than GPUs on a node puts two on one device
            gpus.setdefault((r.node, r.device), []).append(r)
        elif r.cpus and r.threads:
            cpus.setdefault(r.node, []).append(r)
    shared = {key: ([r.rank for r in rs], "more ranks than GPUs on this node (--nproc-per-node too high?)")
              for key, rs in gpus.items() if len(rs) > 1}
    for node, rs in cpus.items():
        cores = set().union(*(r.cpus for r in rs))
        threads = sum(r.threads for r in rs)
        if len(rs) > 1 and threads > len(cores):
            what = f"{len(cores)} CPU core{'s' if len(cores) > 1 else ''} with {threads} threads in all"
            shared[(node, what)] = ([r.rank for r in rs], "more threads than cores on this node "
                                                            "(--nproc-per-node or OMP_NUM_THREADS too high?)")
    return shared


def build(launcher: str, backend: str, reports: list, everyone, node_results: tuple, tables, strict: bool = False,
          notes: tuple = ()) -> ClusterReport:
    """The report from what the ranks sent: a pure function, run on rank 0. notes: (label, line)
    of how the job was measured, reported as "info" verdicts."""
    reports = sorted(reports, key=lambda r: r.rank)
    sharing = _sharing(reports)
    shared = {rank for ranks, _ in sharing.values() for rank in ranks}
    # A rank that shares its device is slowed by its siblings, not by a fault: its figure is shown
    # but not judged against the others or the datasheet. Its errors still count.
    per_rank = [DeviceResult(f"rank {r.rank}", r.device_name, (r.matmul,) if r.matmul and r.rank not in shared else (),
                             (r.error,) if r.error else ())
                for r in reports]
    rows = {f"rank {r.rank}": tables.gpus.get(r.model) if r.capability else None for r in reports}
    verdicts = [Verdict(label, "info", text) for label, text in notes] + list(judge(per_rank, rows))
    for (node, what), (ranks, why) in sorted(sharing.items()):
        verdicts.append(Verdict(f"node {node}", "warn", f"ranks {', '.join(map(str, ranks))} share {what}: {why}, "
                                                        "so each is slowed and their matmul figures are not compared"))
    if len({r.node for r in reports}) > 1:
        # Nodes judged as bench judges sibling GPUs: each node's median matmul, and its own
        # all-reduce at the largest size (the small ones measure latency, and jitter).
        by_node: dict = {}
        for r in reports:
            if r.matmul and r.rank not in shared:
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
    findings = tuple((f if strict else as_job_warning(f), tuple(ranks)) for f, ranks in found.values())
    return ClusterReport(launcher, len(reports), backend, tuple(reports), tuple(drift(reports)), findings, everyone, node_results,
                         tuple(verdicts), strict)


def as_job_warning(f):
    """Doctor's error on a rank, as the job sees it: a warning, since the ranks joined and their
    collectives ran; `envcheck doctor` on that node says the same as an error. Its own word stays
    in facts["doctor_severity"]."""
    if f.severity != "error":
        return f
    return replace(f, severity="warn", facts={**f.facts, "doctor_severity": f.severity})


def problems(report: ClusterReport) -> int:
    """Drift, warnings and errors: what the verdict line counts."""
    return len(report.drift) + len(report.findings) + sum(1 for v in report.verdicts if v.severity in ("warn", "error"))


def exit_code(report: ClusterReport) -> int:
    """About what cluster checks: 2 when a rank's own measurement failed (ranks that cannot join or
    an all-reduce that breaks off end every rank with one line and 2 before a report exists).
    Drift, a lagging rank or node, and doctor's findings on a rank (its errors as warnings) are
    reported and exit 0; with --strict they exit 1, and doctor's errors 2. Under torchrun a non-zero
    exit is shown as a crash of every rank (a ChildFailedError traceback, the others terminated)
    that buries the report."""
    severities = {v.severity for v in report.verdicts} | {f.severity for f, _ in report.findings}
    if "error" in severities:
        return 2
    return 1 if report.strict and problems(report) else 0

