"""Findings from the error lines of a paste (`doctor --from`): each line a known signature matched
(compat/error_signatures.toml) becomes the catalogue's finding for that signature's code and
variant, made specific with what the same paste says (the GPU's name, the driver, the torch build).
An error no signature knows is said to be unknown, never guessed at."""

from __future__ import annotations

from envcheck import shell
from envcheck.checks.codes import code, finding
from envcheck.checks.findings import Finding, Fix
from envcheck.snapshot.model import Snapshot, known


def _facts(p, s: Snapshot) -> dict:
    """The line's captured groups; torch's "found version N" stands for the driver's CUDA, which the
    report reader decoded from the same line (reports/collect_env.py, warned_facts)."""
    facts = dict(p.groups)
    if "found" in facts:
        cuda = s.driver.cuda_driver_version
        facts["driver_cuda"] = cuda if known(cuda) else "?"
    return facts


def _fix(sig, s: Snapshot, stack, facts: dict) -> Fix | None:
    """The torch-stack plan where the paste names the driver or a GPU; else the catalogue's command
    with the facts quoted for the paste's shell (stack.commands), cut before its options when a fact
    it needs is missing."""
    if not sig.stack:
        return None  # the catalogue's own command
    gpus = s.driver.gpus
    if (known(s.driver.driver_version) or (known(gpus) and gpus)) and stack.fix.command:
        return stack.fix
    hint = code(sig.code).variant(sig.variant).fix
    if not hint:
        return Fix()
    try:
        return Fix(stack.commands.template(hint, {k: str(v) for k, v in facts.items()}))
    except shell.Unquotable as exc:
        return Fix(None, (f"no command is printed: {exc}",))


def check_pasted(s: Snapshot, tables, stack) -> list[Finding]:
    """One finding per signature matched in the paste; one info line when only unknown errors are."""
    out: list[Finding] = []
    seen: set = set()
    unknown = []
    for p in s.pasted:
        sig = tables.signatures.get(p.signature) if p.signature else None  # the snapshot keeps the id: it is JSON data
        if sig is None:
            unknown.append(p)
            continue
        if sig.id in seen:
            continue
        seen.add(sig.id)
        facts = _facts(p, s)
        out.append(finding(sig.code, sig.variant, {"pasted": p.text, **facts, "source": sig.source},
                           fix=_fix(sig, s, stack, facts)))
    errors = [p for p in unknown if not p.groups.get("warning")]
    if errors and not out:
        out.append(finding("pasted-error", "unknown", {"pasted": errors[-1].text}, line=errors[-1].text[:200]))
    elif unknown and not out:
        out.append(finding("pasted-error", "warnings-only", {"pasted": unknown[0].text}, count=len(unknown)))
    return out
