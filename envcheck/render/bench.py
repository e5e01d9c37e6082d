"""`envcheck bench` reports: the device mapping first, then one table per suite with each figure
beside its datasheet peak, each GPU's clocks, power and clocks-event reasons under load, a bar
chart per figure, then the verdicts. Everything fits the width the console has (80 columns on a
pipe)."""

from __future__ import annotations

from envcheck.bench.results import BenchReport, DeviceRow
from envcheck.bench.verdicts import peak_for
from envcheck.numbers import figure
from envcheck.render.console import Output
from envcheck.render.layout import table
from envcheck.render.output import View, fenced_view
from envcheck.snapshot.model import jsonable

STYLE = {"error": "red", "warn": "yellow", "info": "dim", "ok": "green"}
SUITES = {"matmul": "dtype", "conv": "dtype/pass", "memory": "transfer"}  # suite -> header of its figure names
FILLED, TO_PEAK = "█", "░"  # an ASCII console gets # and . (render.console's fallback)
MAX_BAR = 60  # wider bars show nothing more


# The device table's columns (and the JSON "devices" keys): DeviceRow field -> heading
GPU_COLUMNS = {"device": "device", "name": "name", "uuid": "uuid", "pci": "pci", "worker": "worker", "compute_capability": "compute cap",
               "power_limit_w": "power limit W", "max_sm_clock_mhz": "max SM clock MHz"}
CPU_COLUMNS = {"device": "device", "model": "model", "threads": "threads"}


def columns(row: DeviceRow) -> dict:
    """A device's row of the device table: heading -> value."""
    return {heading: getattr(row, name) for name, heading in (GPU_COLUMNS if row.gpu else CPU_COLUMNS).items()}


def as_dict(mapping: list, results: list, verdicts: list, notes: list) -> dict:
    return {"devices": mapping, "results": jsonable(results),
            "verdicts": jsonable(verdicts), "notes": notes}


def view(report: BenchReport) -> View:
    mapping = [columns(d) for d in report.devices]
    return fenced_view("envcheck bench",
                       lambda c: text(mapping, list(report.results), list(report.verdicts), list(report.notes), report.peaks, c),
                       lambda: as_dict(mapping, list(report.results), list(report.verdicts), list(report.notes)))


def _table(title: str, headers: list, rows: list):
    return table(title, headers, rows, words=("device", "size", "model", "name", "uuid"), left=("message", *SUITES.values()))


def _suite_table(suite: str, results: list, rows: dict):
    found = [(r.label, m) for r in results for m in r.measurements if m.suite == suite]
    if not found:
        return None
    peaks = {id(m): peak_for(rows.get(label), m) for label, m in found}
    show_peak = any(peaks.values())
    headers = ["device", SUITES[suite], "median", "p10–p90"]
    headers += ["images/s"] if suite == "conv" else []
    headers += ["of peak"] if show_peak else []
    headers += ["runs", "size"]
    table_rows = []
    for label, m in found:
        row = [label, m.name, figure(m.value), f"{figure(m.low)}–{figure(m.high)}"]
        row += [figure(m.images_per_s) if m.images_per_s else "—"] if suite == "conv" else []
        peak = peaks[id(m)]
        row += [f"{m.value / peak:.0%} of {peak:g}" if peak else "—"] if show_peak else []
        row += [str(m.runs), m.size]
        table_rows.append(row)
    return _table(f"{suite} ({found[0][1].unit})", headers, table_rows)


def _under_load(results: list) -> list:
    """The GPUs NVML saw busy while the workers ran (bench.sampler)."""
    return [r for r in results if r.load is not None and r.load.busy]


def _load_table(results: list):
    """Each GPU under load: SM clock (median of the busy readings, of the board's maximum), its
    lowest, power (median, of the limit), the hottest reading and the PCIe link."""
    rows = []
    for r in _under_load(results):
        load = r.load
        clock = "—" if load.sm_clock_mhz is None else f"{load.sm_clock_mhz:.0f}" + (f" of {load.max_sm_clock_mhz}" if load.max_sm_clock_mhz else "")
        power = "—" if load.power_w is None else f"{load.power_w:.0f}" + (f" of {load.power_limit_w:g}" if load.power_limit_w else "")
        rows.append([r.label, f"{load.busy}/{load.readings}", clock, "—" if load.sm_clock_min_mhz is None else str(load.sm_clock_min_mhz),
                     power, "—" if load.temperature_max_c is None else str(load.temperature_max_c), load.pcie_link or "—"])
    if not rows:
        return None
    return table("under load (NVML: busy readings of all taken; medians)", ["device", "busy", "SM MHz", "lowest", "power W", "max °C", "PCIe"],
                 rows, left=("device", "PCIe"))


def _reasons_line(r) -> str:
    reasons = ", ".join(f"{name} in {share:.0%} of readings" for name, share in r.load.reasons.items()) or "none"
    return f"{r.label} clocks-event reasons under load: {reasons}"


def _sweep_table(result):
    rows = [[m.name, figure(m.value), figure(m.algbw) if m.algbw is not None else "—", str(m.runs)] for m in result.measurements]
    return _table(f"{result.label} (GB/s)", ["message", "busbw", "algbw", "runs"], rows)


def chart(results: list, rows: dict, c: Output) -> None:
    """One bar per device for each figure: filled to the figure, shaded on to the device's
    datasheet peak where the GPU table has one, on one scale with its sibling devices."""
    keys: list = []
    for r in results:
        for m in r.measurements:
            if m.suite != "allreduce" and (m.suite, m.name) not in keys:
                keys.append((m.suite, m.name))
    width = c.width
    for key in keys:
        found = [(r.label, m, peak_for(rows.get(r.label), m)) for r in results for m in r.measurements if (m.suite, m.name) == key]
        notes = [figure(m.value) + (f" of {peak:g} peak ({m.value / peak:.0%})" if peak else "") for _, m, peak in found]
        top = max([m.value for _, m, _ in found] + [p for _, _, p in found if p]) or 1.0
        name_w = max(len(label) for label, _, _ in found)
        bar_w = min(MAX_BAR, max(10, width - 2 - name_w - 1 - 1 - max(len(n) for n in notes)))
        c.print(f"{key[0]} {key[1]} ({found[0][1].unit})", style="bold")
        for (label, m, peak), note in zip(found, notes):
            filled = max(1, round(bar_w * m.value / top)) if m.value > 0 else 0
            shaded = max(0, round(bar_w * peak / top) - filled) if peak else 0
            bar = FILLED * filled + TO_PEAK * shaded
            c.print(f"  {label:<{name_w}} {bar:<{bar_w}} {note}".rstrip())


def _devices(mapping: list, width: int) -> list:
    """The device mapping as tables of whole columns, as many columns to a table as fit the width
    (a UUID alone takes 40), each table led by the device column."""
    headers: list = []
    for d in mapping:
        headers += [k for k, v in d.items() if k not in headers and v not in (None, "")]
    cells = {h: [str(d[h]) if d.get(h) not in (None, "") else "" for d in mapping] for h in headers}
    need = {h: max([len(h)] + [len(x) for x in cells[h]]) for h in headers}
    groups: list = []
    for h in headers[1:]:
        if groups and need[headers[0]] + sum(need[x] + 2 for x in groups[-1]) + need[h] + 2 <= width:
            groups[-1].append(h)
        else:
            groups.append([h])
    return [_table("devices" if i == 0 else "", [headers[0], *g], [[cells[h][k] for h in (headers[0], *g)] for k in range(len(mapping))])
            for i, g in enumerate(groups or [[]])]


def text(mapping: list, results: list, verdicts: list, notes: list, rows: dict, c: Output) -> None:
    for devices in _devices(mapping, c.width) if mapping else ():
        c.print(devices)
    for n in notes:
        c.wrap(f"note: {n}", style="dim")
    figures = [_suite_table(suite, results, rows) for suite in SUITES]
    figures += [_sweep_table(r) for r in results if any(m.suite == "allreduce" for m in r.measurements)]
    for t in figures:
        if t is not None:
            c.print()
            c.print(t)
    loaded = _load_table(results)
    if loaded is not None:
        c.print()
        c.print(loaded)
        for r in _under_load(results):
            c.wrap(_reasons_line(r))
    for r in results:
        for m in r.measurements:
            if m.note:
                c.wrap(f"note: {r.label} {m.suite} {m.name}: {m.note}", style="dim")
        for s in r.skipped:
            c.wrap(f"note: {r.label} {s.suite} {s.name} skipped: {s.reason}", style="dim")
    c.print()
    chart(results, rows, c)
    for v in verdicts:
        c.wrap(f"{v.severity}: {v.label}: {v.text}", style=STYLE.get(v.severity))
    bad = [v for v in verdicts if v.severity in ("warn", "error")]
    c.print("verdict: all good" if not bad else f"verdict: {len(bad)} problem(s)", style="bold")
