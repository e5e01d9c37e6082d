"""`envcheck bench` reports: the device mapping first, then each device's figures beside its
datasheet peak, then the verdicts."""

from __future__ import annotations

from envcheck.bench.verdicts import peak_for
from envcheck.render.console import Output
from envcheck.snapshot import SCHEMA_VERSION, jsonable

STYLE = {"error": "red", "warn": "yellow", "info": "dim", "ok": "green"}


def exit_code(verdicts: list) -> int:
    worst = {v.severity for v in verdicts}
    return 2 if "error" in worst else 1 if "warn" in worst else 0


def as_dict(mapping: list, results: list, verdicts: list, notes: list) -> dict:
    return {"schema_version": SCHEMA_VERSION, "devices": mapping, "results": jsonable(results),
            "verdicts": jsonable(verdicts), "notes": notes, "exit_code": exit_code(verdicts)}


def _chart(results: list, c: Output, width: int = 40) -> None:
    """One bar per device for each figure measured on more than one device: the laggard shows."""
    keys = []
    for r in results:
        for m in r.measurements:
            if (m.suite, m.name) not in keys:
                keys.append((m.suite, m.name))
    for key in keys:
        rows = [(r.label, m) for r in results for m in r.measurements if (m.suite, m.name) == key]
        if len(rows) < 2:
            continue
        top = max(m.value for _, m in rows) or 1
        c.print(f"{key[0]} {key[1]} ({rows[0][1].unit})", style="bold")
        for label, m in rows:
            c.print(f"  {label:10} {'█' * max(1, round(width * m.value / top)):{width}} {m.value:.3g}")


def text(mapping: list, results: list, verdicts: list, notes: list, rows: dict, c: Output) -> None:
    c.print("devices", style="bold")
    for d in mapping:
        c.print("  " + "  ".join(f"{k} {v}" for k, v in d.items() if v not in (None, "")))
    for n in notes:
        c.print(f"  note: {n}", style="dim")
    for r in results:
        c.print(f"{r.label}  {r.name}", style="bold")
        for m in r.measurements:
            peak = peak_for(rows.get(r.label), m)
            of_peak = f"  {m.value / peak:4.0%} of {peak:g}" if peak else ""
            note = f"  ({m.note})" if m.note else ""
            c.print(f"  {m.suite:7} {m.name:11} {m.value:10.3f} {m.unit:8} [{m.low:.3f}–{m.high:.3f}]  {m.runs} runs  {m.size}{of_peak}{note}")
    _chart(results, c)
    for v in verdicts:
        c.print(f"{v.severity}: {v.label}: {v.text}", style=STYLE.get(v.severity))
    bad = [v for v in verdicts if v.severity in ("warn", "error")]
    c.print("verdict: all good" if not bad else f"verdict: {len(bad)} problem(s)", style="bold")
