"""What differs between the ranks of a job, and which node it points at. Pure functions of the
gathered rank reports: the facts compared are `envcheck diff`'s (by key), plus each rank's own
device and NCCL settings. As in diff, a rank that does not know a fact is left out of its comparison."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from envcheck.snapshot.diff import Fact, facts


@dataclass(frozen=True)
class Drift:
    key: str  # envcheck.snapshot.diff KEYS, or rank.device, rank.transport
    groups: tuple  # ((value, (rank, ...)), ...), the value most ranks hold first
    odd_nodes: tuple  # nodes all of whose ranks hold a value other than the most common
    split_nodes: tuple  # nodes whose own ranks disagree


def rank_facts(report) -> dict:
    """key -> Fact: the facts compared across ranks."""
    out = {f.key: f for f in facts(report.snapshot)}
    out["rank.device"] = Fact("rank.device", report.device_name)
    out["rank.transport"] = Fact("rank.transport", ", ".join(report.nccl_env) or "none set")
    return out


def drift(reports: list) -> list[Drift]:
    per_rank = {r.rank: rank_facts(r) for r in reports}
    node_of = {r.rank: r.node for r in reports}
    found = []
    for key in next(iter(per_rank.values()), {}):
        values = {rank: f[key].value for rank, f in per_rank.items() if f[key].known}
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
        found.append(Drift(key, groups, odd, split))
    return found
