"""`envcheck cluster` reports: the job's layout, what differs between ranks and nodes, doctor's
problems with the ranks that have them, the per-rank matmul and the all-reduce sweeps."""

from __future__ import annotations

from envcheck.cluster.drift import rank_facts
from envcheck.cluster.report import ClusterReport, problems
from envcheck.numbers import spans
from envcheck.render.console import Output, fenced
from envcheck.render.diff import label
from envcheck.render.output import View
from envcheck.snapshot.model import jsonable

STYLE = {"error": "red", "warn": "yellow", "info": "dim"}


def _ranks(report: ClusterReport, ranks) -> str:
    nodes = sorted({r.node for r in report.ranks if r.rank in ranks})
    where = f"node {nodes[0]}" if len(nodes) == 1 else f"nodes {spans(nodes)}"
    return f"rank{'s' if len(ranks) > 1 else ''} {spans(sorted(ranks))} ({where})"


def as_dict(report: ClusterReport) -> dict:
    """Each rank's compared facts rather than its whole snapshot: the report stays readable at 64
    ranks, and `envcheck doctor --json` on a node gives the rest."""
    ranks = [{"rank": r.rank, "node": r.node, "host": r.host, "local_rank": r.local_rank, "device": r.device,
              "model": r.model, "capability": r.capability,
              "facts": {k: f.value for k, f in rank_facts(r).items()}, "matmul": jsonable(r.matmul), "error": r.error}
             for r in report.ranks]
    return {"launcher": report.launcher, "world": report.world, "backend": report.backend,
            "nodes": {str(n): {"host": h, "ranks": list(rs)} for n, (h, rs) in report.nodes.items()},
            "ranks": ranks, "drift": [{**jsonable(d), "label": label(d.key)} for d in report.drift],
            "findings": [{**jsonable(f), "ranks": list(rs)} for f, rs in report.findings],
            "allreduce": jsonable(report.allreduce), "node_allreduce": jsonable(report.node_allreduce),
            "verdicts": jsonable(report.verdicts)}


def view(report: ClusterReport) -> View:
    """Markdown is for a public tracker: no host names."""
    return View(lambda c: text(report, c), lambda: as_dict(report),
                lambda: fenced("envcheck cluster", lambda c: text(report, c, hosts=False)))


def _sweep(title: str, result, c: Output) -> None:
    c.print(f"{title}: busbw by message size", style="bold")
    for m in result.measurements:
        c.print(f"  {m.size:>8}  {m.value:9.3g} GB/s  (algbw {m.algbw:.3g} GB/s, {m.runs} runs)")


def text(report: ClusterReport, c: Output, hosts: bool = True) -> None:
    nodes = report.nodes
    c.print(f"cluster: {report.world} rank{'s' if report.world > 1 else ''} on {len(nodes)} node{'s' if len(nodes) > 1 else ''} "
            f"({report.launcher}, {report.backend})", style="bold")
    for n, (host, ranks) in nodes.items():
        c.print(f"  node {n}  {host + '  ' if hosts else ''}ranks {spans(sorted(ranks))}")
    columns = ("rank.device", "torch.version", "torch.cuda_build", "torch.nccl")
    rows = [(r, [f.value or "unknown" for f in map(rank_facts(r).get, columns)]) for r in report.ranks]
    w = [max([len(head)] + [len(f[i]) for _, f in rows]) for i, head in enumerate(("device", "torch", "CUDA", "NCCL"))]
    c.print(f"{'rank':>4} {'node':>4}  {'device':{w[0]}} {'torch':{w[1]}} {'CUDA':{w[2]}} {'NCCL':{w[3]}} matmul", style="bold")
    for r, f in rows:
        mm = f"{r.matmul.name} {r.matmul.value:.3g} {r.matmul.unit}" if r.matmul else r.error or "—"
        c.print(f"{r.rank:>4} {r.node:>4}  {f[0]:{w[0]}} {f[1]:{w[1]}} {f[2]:{w[2]}} {f[3]:{w[3]}} {mm}")
    if report.drift:
        c.print("differences", style="bold")
        for d in report.drift:
            held = "; ".join(f"{value} on {_ranks(report, ranks)}" for value, ranks in d.groups)
            odd = [f"node {n} differs" for n in d.odd_nodes] + [f"node {n} disagrees within itself" for n in d.split_nodes]
            c.print(f"  {label(d.key)}: {held}" + (f"  → {', '.join(odd)}" if odd else ""), style="yellow")
    else:
        c.print("differences: none; every rank has the same driver, CUDA, torch, NCCL, device model and Python", style="green")
    for f, ranks in report.findings:
        doctors = " (an error for envcheck doctor; --strict counts it so)" if f.facts.get("doctor_severity") == "error" else ""
        c.print(f"{f.severity}: {f.code}: {f.summary} — {_ranks(report, ranks)}{doctors}", style=STYLE.get(f.severity))
        if f.fix:
            c.print(f"  fix: {f.fix}")
    _sweep(report.allreduce.label, report.allreduce, c)
    for result in report.node_allreduce:
        _sweep(f"all-reduce inside {result.label}", result, c)
    for v in report.verdicts:
        c.print(f"{v.severity}: {v.label}: {v.text}", style=STYLE.get(v.severity))
    found = problems(report)
    c.print(f"verdict: {found} problem(s)" if found else "verdict: all ranks agree and keep pace", style="bold")
