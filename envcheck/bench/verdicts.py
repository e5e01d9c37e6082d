"""Judging benchmark figures: against the GPU's datasheet peak (compat/gpus.toml) and against its
sibling GPUs in the same run. Pure functions of the results."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from envcheck.numbers import figure

LAG = 0.10  # a device more than 10% slower than the median of its siblings is flagged
LOW_PEAK = 0.5  # below half the datasheet peak: throttling, power cap, sharing, wrong mode
HIGH_PEAK = 1.25  # above: GeForce boost clocks run past the rated clock; more than this is suspicious


@dataclass(frozen=True)
class Verdict:
    label: str
    severity: str  # ok | info | warn | error
    text: str


def peak_for(gpu_row, m) -> float | None:
    """The datasheet figure this measurement is judged against (TFLOP/s or GB/s)."""
    if gpu_row is None:
        return None
    if m.suite == "matmul":
        return gpu_row.peaks.get(m.name)
    if m.suite == "memory" and m.name == "copy":
        return gpu_row.mem_bw_gbs
    return None


def judge(results: list, rows: dict, reasons: dict | None = None) -> list:
    """rows: label -> GPU table row (or None); reasons: label -> active clock-event reasons."""
    reasons = reasons or {}
    out: list = []
    for r in results:
        for e in r.errors:
            out.append(Verdict(r.label, "error", e))
        for m in r.measurements:
            if m.correct is False:
                out.append(Verdict(r.label, "error", f"{m.suite} {m.name}: {m.note}"))
            peak = peak_for(rows.get(r.label), m)
            if peak:
                frac = m.value / peak
                if frac < LOW_PEAK:
                    why = f" (active clock-event reasons: {', '.join(reasons[r.label])})" if reasons.get(r.label) else ""
                    out.append(Verdict(r.label, "warn", f"{m.suite} {m.name}: {figure(m.value)} {m.unit} is {frac:.0%} of the datasheet's {peak:g}{why}"))
                elif frac > HIGH_PEAK:
                    out.append(Verdict(r.label, "info", f"{m.suite} {m.name}: {frac:.0%} of the datasheet's {peak:g}: above the rated clock, or the GPU table is wrong for this board"))
    keys = {(m.suite, m.name) for r in results for m in r.measurements}
    for key in sorted(keys):
        values = {r.label: m.value for r in results for m in r.measurements if (m.suite, m.name) == key}
        if len(values) < 2:
            continue
        for label, v in values.items():
            others = statistics.median([x for k, x in values.items() if k != label])
            if others > 0 and v < (1 - LAG) * others:
                why = f"; active clock-event reasons: {', '.join(reasons[label])}" if reasons.get(label) else ""
                out.append(Verdict(label, "warn", f"{key[0]} {key[1]}: {1 - v / others:.0%} slower than its siblings ({figure(v)} vs {figure(others)}){why}"))
    return out


def exit_code(verdicts: list) -> int:
    """2 for any error (a failed device, wrong bits), 1 for warnings only, else 0 (docs/DESIGN.md)."""
    worst = {v.severity for v in verdicts}
    return 2 if "error" in worst else 1 if "warn" in worst else 0
