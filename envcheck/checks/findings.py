"""Findings: what a check concludes, with a stable code, a severity, the facts, and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("ok", "info", "warn", "error")
AREAS = ("system", "python", "driver", "toolkit", "torch", "onnxruntime")


@dataclass(frozen=True)
class Finding:
    code: str  # stable: JSON consumers and tests rely on it (docs/DESIGN.md, "Finding codes")
    severity: str  # ok | info | warn | error
    area: str  # which part of the report it belongs to
    summary: str  # one line
    facts: dict = field(default_factory=dict)
    fix: str | None = None  # a runnable command, where one exists
    why: str = ""  # one line of cause, where the summary does not say it
    fix_notes: tuple = ()  # what the fix's own planner says of it (limits, a Python to change)
    verify: str | None = None  # a line that proves the fix worked
    alternative: str | None = None  # another fix (e.g. the newest release where the fix keeps yours)


@dataclass(frozen=True)
class Fix:
    """What a finding tells the user to do: one typed value, so the torch-stack plan is worked out
    once per run and handed to every finding that shares it (checks/fixes.py)."""

    command: str | None = None  # a runnable command; None: no command to give
    notes: tuple = ()  # what the fix's own planner says of it
    verify: str | None = None  # a line that proves the fix worked
    alternative: str | None = None  # another command (the newest release where `command` keeps yours)


def order(findings: list[Finding]) -> list[Finding]:
    """Worst first, then in area order, so the report opens with what to fix."""
    return sorted(findings, key=lambda f: (-SEVERITIES.index(f.severity), AREAS.index(f.area)))


def exit_code(findings: list[Finding]) -> int:
    """0 all good, 1 warnings only, 2 errors (docs/DESIGN.md, "Commands")."""
    worst = max((SEVERITIES.index(f.severity) for f in findings), default=0)
    return {3: 2, 2: 1}.get(worst, 0)
