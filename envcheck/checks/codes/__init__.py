"""The catalogue of finding codes: the one place a finding's words live.

A check passes only facts (and the few words computed from them, such as a GPU's display name);
the catalogue turns them into a Finding: severity, area, summary, cause and fix. A code with
several distinct causes has named variants (`finding("no-driver", "not-loaded", ...)`); the rows
of compat/error_signatures.toml name a code and a variant, never prose. An unknown code or
variant raises KeyError at once, so a typo is a failing test, not a new code in the JSON.
docs/DESIGN.md's and README.md's code tables are printed from here (tools/code_tables.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from envcheck.checks.codes import driver, environment, torch
from envcheck.checks.commands import FixCommands, Pip
from envcheck.checks.findings import AREAS, SEVERITIES, Finding, Fix

STACK = "@stack"  # a variant whose fix is the torch-stack plan (checks/fixes.py), shared by the run


@dataclass(frozen=True)
class Variant:
    """One cause of a code: its words as templates over the facts ({name}; a missing one reads '?')."""

    severity: str
    summary: str
    cause: str = ""
    fix: str | Pip | None = None  # a command (template), pip's commands (Pip), STACK, or None
    area: str | None = None  # where it differs from the code's area


@dataclass(frozen=True)
class Code:
    code: str
    area: str
    when: str  # one line for the docs' code tables
    variants: dict = field(default_factory=dict)  # name -> Variant; "" is the plain one

    def variant(self, name: str = "") -> Variant:
        try:
            return self.variants[name]
        except KeyError:
            raise KeyError(f"finding code {self.code!r} has no variant {name!r}") from None

    def make(self, variant: str = "", facts: dict | None = None, /, *, fix: Fix | None = None, why: str | None = None,
             commands: FixCommands | None = None, **words) -> Finding:
        """A Finding of this code. `fix`: the run's torch-stack fix for a STACK variant, or a fix the
        check worked out; otherwise the variant's own command, pip's written by `commands` (the run's
        shell and interpreter). `why`: a cause in the program's own words (torch's warning, ONNX
        Runtime's error). `words`: template values that are not facts."""
        v = self.variant(variant)
        facts = dict(facts or {})
        values = _Words({**facts, **words})
        if fix is None and isinstance(v.fix, Pip):
            if commands is None:
                raise TypeError(f"finding code {self.code!r}: its pip fix needs the run's commands (commands=)")
            fix = commands.fix(v.fix)
        elif fix is None:
            fix = Fix(v.fix.format_map(values)) if v.fix and v.fix != STACK else Fix()
        return Finding(self.code, v.severity, v.area or self.area, v.summary.format_map(values), facts,
                       fix=fix.command, why=v.cause.format_map(values) if why is None else why,
                       fix_notes=fix.notes, verify=fix.verify, alternative=fix.alternative)


class _Words(dict):
    """str.format_map over facts: a value the text did not give reads '?'."""

    def __missing__(self, key):
        return "?"


def _catalogue() -> dict[str, Code]:
    found: dict[str, Code] = {}
    for module in (driver, torch, environment):
        for code, (area, when, variants) in module.CODES.items():
            if code in found:
                raise ValueError(f"finding code {code!r} is catalogued twice")
            found[code] = Code(code, area, when, {name: Variant(**v) for name, v in variants.items()})
    for c in found.values():
        for name, v in c.variants.items():
            if v.severity not in SEVERITIES or (v.area or c.area) not in AREAS:
                raise ValueError(f"finding code {c.code!r} variant {name!r}: severity or area unknown")
    return found


CODES: dict[str, Code] = _catalogue()


def code(name: str) -> Code:
    try:
        return CODES[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a finding code (envcheck/checks/codes/)") from None


def finding(name: str, variant: str = "", facts: dict | None = None, /, **kw) -> Finding:
    """The Finding of code `name`, variant `variant` (see Code.make)."""
    return code(name).make(variant, facts, **kw)
