"""Findings from the error lines of a paste (`doctor --from`): each line a known signature matched
(compat/error_signatures.toml) becomes that signature's finding, made specific with what the same
paste says (the GPU's name, the driver, the torch build). An error no signature knows is said to be
unknown, never guessed at."""

from __future__ import annotations

import shlex

from envcheck.checks.findings import Finding
from envcheck.checks.fixes import stack_fix
from envcheck.snapshot.model import Snapshot, known


class _Facts(dict):
    """str.format_map over captured groups: a group the line did not capture reads '?'."""

    def __missing__(self, key):
        return "?"


def _facts(groups: dict) -> dict:
    facts = dict(groups)
    found = groups.get("found", "")
    if found.isdecimal():  # torch's "found version 10010": CUDA 10.1, as the driver reports it
        n = int(found)
        facts["driver_cuda"] = f"{n // 1000}.{(n % 1000) // 10}"
    return facts


def _fix(sig, s: Snapshot, tables, facts: dict) -> dict:
    if sig.fix != "@stack":
        return {"fix": sig.fix} if sig.fix else {}
    gpus = s.driver.gpus
    if known(s.driver.driver_version) or (known(gpus) and gpus):
        planned = stack_fix(s, tables)
        if planned.get("fix"):
            return planned
    if not sig.hint:
        return {}
    quoted = _Facts({k: shlex.quote(v) for k, v in facts.items()})
    hint = sig.hint.format_map(quoted)
    return {"fix": hint if "?" not in hint.split() else sig.hint.split(" --")[0]}


def check_pasted(s: Snapshot, tables) -> list[Finding]:
    """One finding per signature matched in the paste; one info line when only unknown errors are."""
    out: list[Finding] = []
    seen: set = set()
    unknown = []
    for p in s.pasted:
        sig = tables.signatures.get(p.signature) if p.signature else None
        if sig is None:
            unknown.append(p)
            continue
        if sig.id in seen:
            continue
        seen.add(sig.id)
        facts = _facts(p.groups)
        summary = sig.summary.format_map(_Facts(facts))
        out.append(Finding(sig.code, sig.severity, sig.area, summary, {"pasted": p.text, **facts, "source": sig.source},
                           why=sig.cause, **_fix(sig, s, tables, facts)))
    errors = [p for p in unknown if not p.groups.get("warning")]
    if errors and not out:
        out.append(Finding("pasted-error", "info", "torch", f"envcheck does not know this error: {errors[-1].text[:200]}",
                           {"pasted": errors[-1].text}, why="nothing in the paste matches an environment problem envcheck knows"))
    elif unknown and not out:
        out.append(Finding("pasted-error", "info", "torch", f"the paste shows warnings only ({len(unknown)}), none about the environment",
                           {"pasted": unknown[0].text}))
    return out
