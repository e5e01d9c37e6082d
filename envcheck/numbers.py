"""Numbers users type and tools print, parsed once with the checks every caller needs.

`str.isdigit()` is true for "²" and "١", which `int()` then refuses or reads; NaN compares false
with every bound, so `seconds <= 0` lets it through; infinity runs forever. Every number a user
gives goes through here, and every digit string a tool prints is read as ASCII digits.
"""

from __future__ import annotations

import math
import re

from envcheck.errors import UserError
from envcheck.snapshot.facts import map_leaves

_ASCII_INT = re.compile(r"[0-9]+")


def ascii_int(text: str) -> int | None:
    """'12' -> 12; anything but ASCII digits (signs, '²', '١', '') -> None."""
    t = text.strip()
    return int(t) if _ASCII_INT.fullmatch(t) else None


def seconds(value: float | None, option: str, most: float = 86400.0) -> float | None:
    """A finite time of more than 0 and at most `most` seconds, or a one-line UserError."""
    if value is None:
        return None
    if not math.isfinite(value) or not 0 < value <= most:
        raise UserError(f"{option} {value:g}: choose a number of seconds above 0 and at most {most:g}")
    return value


def finite(value):
    """A float that JSON can hold: NaN and infinity (an nvidia-smi reading of 'nan W') become None."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


def finite_data(obj):
    """finite() over JSON-like data: what strict JSON (allow_nan=False) can hold."""
    return map_leaves(obj, finite)


def figure(x: float) -> str:
    """A measured figure to three significant figures without an exponent, as people read them:
    1958, 41.5, 0.942, 0.0045 (`.3g` writes 1958 as 1.96e+03)."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}" if x >= 0.01 else f"{x:.2g}"


def spans(numbers, dash: str = "-") -> str:
    """GPU indices, ranks or nodes, short, in the order given: [0, 1, 2, 5] -> "0-2, 5";
    [3, 1] -> "3, 1". Callers that want them ascending sort first."""
    parts: list = []
    for n in numbers:
        if parts and isinstance(parts[-1], list) and n == parts[-1][1] + 1:
            parts[-1][1] = n
        else:
            parts.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}{dash}{b}" for a, b in parts)
