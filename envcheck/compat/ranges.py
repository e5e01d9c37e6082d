"""Version ranges as the tables write them ('>=2.8,<2.11'), without packaging's import cost."""

from __future__ import annotations

from envcheck.errors import DataError
from envcheck.versions import pad3, vtuple

_OPS = {">=": "__ge__", "<=": "__le__", "==": "__eq__", ">": "__gt__", "<": "__lt__"}


def parse_range(text: str) -> tuple:
    """'>=2.8,<2.11' -> (('>=', (2, 8, 0)), ('<', (2, 11, 0))).

    The tables need only comparisons of release numbers; packaging's SpecifierSet would cost its
    import on install-cmd's start-up path. tests/test_compat_tables.py checks both agree.
    """
    clauses = []
    for part in text.split(","):
        part = part.strip()
        op = next((o for o in (">=", "<=", "==", ">", "<") if part.startswith(o)), None)
        if op is None:
            raise DataError(f"unsupported version range {text!r}: use >=, <=, ==, >, < joined by commas")
        clauses.append((op, pad3(vtuple(part[len(op):].strip()))))
    return tuple(clauses)


def in_range(version: tuple, clauses: tuple) -> bool:
    v = pad3(version)
    return all(getattr(v, _OPS[op])(bound) for op, bound in clauses)
