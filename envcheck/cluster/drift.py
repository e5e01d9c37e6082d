"""What differs between the ranks of a job, and which node it points at. Pure functions of the
gathered rank reports: the facts compared are `envcheck diff`'s, plus each rank's own device and
NCCL settings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from envcheck.diff import facts, shown

# Launchers may give each rank its own CUDA_VISIBLE_DEVICES: a difference there is by design.
PER_RANK = ("CUDA_VISIBLE_DEVICES",)


@dataclass(frozen=True)
class Drift:
    field: str
    groups: tuple  # ((value, (rank, ...)), ...), the value most ranks hold first
    odd_nodes: tuple  # nodes all of whose ranks hold a value other than the most common
    split_nodes: tuple  # nodes whose own ranks disagree


def rank_facts(report) -> dict:
    """The facts compared across ranks, as shown text."""
    out = {k: shown(v) for k, v in facts(report.snapshot).items() if k not in PER_RANK}
    out["device"] = report.device_name
    out["NCCL settings"] = ", ".join(report.nccl_env) or "—"
    return out


def drift(reports: list) -> list[Drift]:
    per_rank = {r.rank: rank_facts(r) for r in reports}
    node_of = {r.rank: r.node for r in reports}
    found = []
    for field in next(iter(per_rank.values()), {}):
        values = {rank: f[field] for rank, f in per_rank.items()}
        counts = Counter(values.values())
        if len(counts) < 2:
            continue
        order = sorted(counts, key=lambda v: (-counts[v], min(r for r, x in values.items() if x == v)))
        groups = tuple((v, tuple(sorted(r for r, x in values.items() if x == v))) for v in order)
        by_node: dict = {}
        for rank, v in values.items():
            by_node.setdefault(node_of[rank], set()).add(v)
        split = tuple(sorted(n for n, vs in by_node.items() if len(vs) > 1))
        # a node "differs" only from a value most ranks hold: in a tie, no side is the odd one
        majority = counts[order[0]] > counts[order[1]]
        odd = tuple(sorted(n for n, vs in by_node.items() if majority and len(vs) == 1 and order[0] not in vs))
        found.append(Drift(field, groups, odd, split))
    return found
