"""`envcheck gpus`: one line per GPU (gpustat's habit), coloured by load on a terminal, then the
GPUs --pick chose and the line that runs the job on them. Only formats: envcheck.gpus and gpu_pick decide.

Plain ASCII throughout ("38C", "?"), so no console encoding can refuse it; every line fits the
width given (80 on a pipe) except a printed command, which stays on one line to be copied whole.
"""

from __future__ import annotations

import shlex
import sys
import textwrap
from typing import Optional

from envcheck.gpu_pick import Pick
from envcheck.gpus import OTHER_JOB, GpusReport, GpuView
from envcheck.render.console import Output, commands_fit, control, fenced
from envcheck.render.output import View
from envcheck.snapshot.facts import jsonable

WIDTH = 80
STYLE = {"free": "green", "in use": "yellow", "busy": "red", "unreadable": "dim", OTHER_JOB: "dim"}  # unknown: plain
HEADER = ("GPU", "CUDA", "NAME", "TEMP", "UTIL", "MEM MiB", "POWER W", "PROCESSES")
GAP = "  "
MIN_NAME = 8


def text(report: GpusReport, o: Output, width: int = WIDTH, chosen: Optional[Pick] = None, quiet: bool = False,
         redact: bool = False) -> None:
    """The screen: driver line, one line per GPU, warnings and notes, then the pick (if any).
    `quiet` with a pick prints only the line to run, for `$(envcheck gpus --pick 2 --quiet)`.
    `redact` (markdown, for public issue trackers) leaves the MIG devices' UUIDs out of the lines."""
    lines = _commands(chosen, redact) if chosen is not None else []
    commands_fit(lines, o.file)
    if quiet and chosen is not None:
        for line in lines:
            o.print(line)
        return
    if report.problem:
        _prose(report.problem, o, width)
        return
    _prose(_driver_line(report), o, width, style="bold")
    table(report.gpus, o, width)
    for w in report.warnings:
        _prose(f"warning: {w}", o, width, style="yellow")
    for n in report.notes:
        _prose(f"note: {n}", o, width, style="dim")
    if chosen is not None:
        o.print()
        listed = ", ".join(chosen.labels) if chosen.labels else ", ".join(map(str, chosen.gpus))
        gpus = ("device" if len(chosen.gpus) == 1 else "devices") if chosen.labels else "GPU" if len(chosen.gpus) == 1 else "GPUs"
        _prose(f"picked {gpus} {listed}, as named; run:" if chosen.named else
               f"picked the least busy {gpus}: {listed}; run:", o, width, style="bold")
        for line in lines:
            o.print(line)  # one line each, whatever its length: it is meant to be copied
        for n in chosen.notes:
            _prose(n, o, width)
        for w in chosen.warnings:
            _prose(f"warning: {w}", o, width, style="yellow")


def _commands(chosen: Pick, redact: bool) -> list:
    lines = chosen.command.split("\n")
    if redact:
        for k, uuid in enumerate(chosen.mig_devices):
            lines = [line.replace(uuid, f"MIG-<uuid of device {k + 1}>") for line in lines]
    return lines


def table(gpus: tuple, o: Output, width: int = WIDTH) -> None:
    """One line per GPU under a header; a GPU's processes continue on lines below when they do
    not fit beside it. The name column gives way to the processes, down to MIN_NAME characters."""
    rows = [_cells(g) for g in gpus]
    every = rows + [_mig_cells(d) for g in gpus for d in g.mig_devices]  # MIG devices' lines share the columns
    fixed = [max(len(HEADER[c]), *(len(r[c]) for r in every)) for c in (0, 1, 3, 4, 5, 6)]
    before = sum(fixed) + len(GAP) * 7  # every column but the name and the processes, with the gaps
    room = max(width - before, MIN_NAME + len("PROCESSES"))
    entries = [_entries(g) for g in gpus]
    longest = max([len(HEADER[7])] + [len(e) for es in entries for e in es] + [len(e) for g in gpus for d in g.mig_devices for e in _entries(d)])
    name_w = max(len(HEADER[2]), *(len(r[2]) for r in every))
    if name_w + longest > room:
        name_w = max(MIN_NAME, room - longest)
    procs_w = max(room - name_w, len(HEADER[7]))
    widths = fixed[:2] + [name_w] + fixed[2:]
    indent = " " * (sum(widths) + len(GAP) * 7)
    o.print(_line(HEADER, widths), style="bold")
    for g, cells, es in zip(gpus, rows, entries):
        style = STYLE.get(g.load)
        if g.problem:
            head = GAP.join([cells[0].rjust(widths[0]), cells[1].ljust(widths[1])]) + GAP
            what = "another job's: this process may not open it" if g.load == OTHER_JOB else f"cannot be read: {g.problem}"
            o.print(_cut(head + what, width), style=style)
            continue
        chunks = _pack(es, procs_w) if es else [cells[7]]
        o.print(_line(cells[:7] + (chunks[0],), widths), style=style)
        for chunk in chunks[1:]:
            o.print(indent + chunk, style=style)
        for d in g.mig_devices:  # each MIG device on a line of its own, under its GPU
            cells = _mig_cells(d)
            chunks = _pack(_entries(d), procs_w) or [cells[7]]
            o.print(_line(cells[:7] + (chunks[0] or cells[7],), widths), style=STYLE.get(d.load))
            for chunk in chunks[1:]:
                o.print(indent + chunk, style=STYLE.get(d.load))


def _line(cells: tuple, widths: list) -> str:
    """Numbers right-aligned, words left-aligned; the last column as it is."""
    out = []
    for k, (cell, w) in enumerate(zip(cells, widths)):
        cell = _cut(cell, w)
        out.append(cell.rjust(w) if k in (0, 3, 4, 5, 6) else cell.ljust(w))
    return (GAP.join(out) + GAP + cells[-1]).rstrip()


def _cells(g: GpuView) -> tuple:
    name = g.name if isinstance(g.name, str) else "?"
    name = name[len("NVIDIA "):] if name.startswith("NVIDIA ") else name  # every board says it
    name = name[: -len(" GPU")] if name.endswith(" GPU") else name  # "GeForce RTX 4060 Laptop GPU"
    cuda = f"cuda:{g.cuda_ordinal}" if g.cuda_ordinal is not None else "MIG" if g.mig_devices else "hidden"
    return (
        str(g.index),
        cuda,
        name,
        f"{g.temperature_c}C" if _num(g.temperature_c) else "?",
        f"{g.utilization_pct}%" if _num(g.utilization_pct) else "?",
        f"{_n(g.memory_used_mib)}/{_n(g.memory_total_mib)}" if _num(g.memory_total_mib) or _num(g.memory_used_mib) else "?",
        f"{_n(g.power_draw_w)}/{_n(g.power_limit_w)}" if _num(g.power_draw_w) or _num(g.power_limit_w) else "?",
        "-" if g.processes == () else ("?" if not isinstance(g.processes, tuple) else ""),
    )


def _mig_cells(d) -> tuple:
    used, total = d.memory_used_mib, d.memory_total_mib
    return ("", f"cuda:{d.cuda_ordinal}" if d.cuda_ordinal is not None else "-", f"└ MIG {d.profile}", "", "",
            f"{_n(used)}/{_n(total)}" if _num(total) or _num(used) else "?", "",
            "-" if d.processes == () else ("?" if not isinstance(d.processes, tuple) else ""))


def _entries(g) -> list:
    """"alice/48213" per process (gpustat's user/pid), the pid alone where no user could be read."""
    if not isinstance(g.processes, tuple):
        return []
    return [f"{p.user}/{p.pid}" if p.user else str(p.pid) for p in g.processes]


def _pack(entries: list, width: int) -> list:
    """Entries joined by ", " into lines of at most `width` characters (a longer one is cut)."""
    lines, current = [], ""
    for e in entries:
        e = _cut(e, width)
        if current and len(current) + 2 + len(e) > width:
            lines.append(current + ",")
            current = e
        else:
            current = f"{current}, {e}" if current else e
    lines.append(current)
    return lines


def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _n(value) -> str:
    return f"{value:.0f}" if _num(value) else "?"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 3, 1)] + "..."


def _prose(line: str, o: Output, width: int, style: Optional[str] = None) -> None:
    for part in textwrap.wrap(line, width=width, subsequent_indent="  ", break_on_hyphens=False, break_long_words=True) or [""]:
        o.print(part, style=style)


def _driver_line(report: GpusReport) -> str:
    cuda = f" (CUDA {report.cuda_driver_version})" if report.cuda_driver_version else ""
    driver = f"driver {report.driver_version}{cuda}" if report.driver_version else "driver version unknown"
    cvd = report.cuda_visible_devices
    if cvd is None:
        return f"{driver}; CUDA_VISIBLE_DEVICES unset: CUDA sees every GPU"
    shown = shlex.quote(cvd) if cvd.isprintable() else repr(cvd)
    return f"{driver}; CUDA_VISIBLE_DEVICES={shown}"


def watch_header(interval: float, o: Output, width: int = WIDTH) -> None:
    _prose(f"every {interval:g}s; Ctrl-C to stop", o, width, style="dim")


def clear(o: Output) -> None:
    """Start a fresh screen on a terminal (cursor home, erase); on a pipe frames simply follow
    one another, a blank line apart."""
    if not control(o.file, "clear screen"):
        o.print("")


def data(report: GpusReport, chosen: Optional[Pick]) -> dict:
    """The JSON payload. A missing figure is {"unavailable": code, "reason": ...}, as in every
    envcheck report."""
    return {
        "driver_version": report.driver_version,
        "cuda_driver_version": report.cuda_driver_version,
        "cuda_visible_devices": report.cuda_visible_devices,
        "cuda_device_order": report.cuda_device_order,
        "problem": report.problem or None,
        "warnings": list(report.warnings),
        "notes": list(report.notes),
        "gpus": [{**g, "problem": g["problem"] or None} for g in jsonable(report.gpus)],
        "pick": None if chosen is None else {
            **jsonable(chosen),
            "cuda_ordinals": {str(i): k for k, i in enumerate(chosen.gpus)},
        },
    }


def view(report: GpusReport, chosen: Optional[Pick], width: int = WIDTH, quiet: bool = False) -> View:
    """Markdown: the text at the fixed width (WIDTH) in a code block, whatever the terminal's."""
    return View(lambda o: text(report, o, width, chosen, quiet), lambda: data(report, chosen),
                lambda: _fitting_markdown(report, chosen, quiet))


def _fitting_markdown(report: GpusReport, chosen: Optional[Pick], quiet: bool) -> str:
    """The markdown, once the pick's command is known to fit stdout, where render.output.emit writes
    it: drawn into a buffer, it would otherwise reach an ASCII console with '?' in its place."""
    if chosen is not None:
        commands_fit(_commands(chosen, True), sys.stdout)
    return fenced("envcheck gpus", lambda o: text(report, o, WIDTH, chosen, quiet, redact=True))
