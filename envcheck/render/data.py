"""`envcheck data` reports: the machine around the pipeline, read and decode figures, the DataLoader
sweep, the best setting, what limits the pipeline, and the verdicts."""

from __future__ import annotations

from envcheck.datacheck.results import DataReport
from envcheck.numbers import figure
from envcheck.render.console import Output
from envcheck.render.layout import table
from envcheck.render.output import View, fenced_view
from envcheck.snapshot.facts import jsonable, known

STYLE = {"warn": "yellow", "info": "dim"}


def as_dict(report: DataReport) -> dict:
    d = jsonable(report)
    d["environment"] = d.pop("surroundings")
    d["bottleneck"] = {"name": d.pop("bottleneck") or None, "text": d.pop("bottleneck_text") or None}
    return d


def view(report: DataReport) -> View:
    return fenced_view("envcheck data", lambda c: text(report, c), lambda: as_dict(report))


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{figure(n / scale)} {unit}"
    return f"{n} B"


def machine_line(report: DataReport) -> str:
    env = report.surroundings
    c = env.cores
    cores = f"{c.usable:g} usable cores" + (f" (cgroup quota {c.quota:g} of {c.visible})" if c.quota is not None else
                                          f" ({c.visible} on the machine)" if c.visible and c.visible != c.usable else "")
    shm = f"/dev/shm {_size(env.shm_bytes)}" if known(env.shm_bytes) else f"/dev/shm: {env.shm_bytes.reason}"
    fs = env.filesystem
    where = f"{fs.fstype} at {fs.mount_point}" if known(fs) else f"unknown ({fs.reason})"
    return f"machine: {cores}; {shm}; workers start by {env.start_method}; filesystem {where}"


def _reads(report: DataReport):
    rows = [[f.pattern, f.cache, figure(f.mb_per_s), figure(f.samples_per_s) if f.pattern == "random" else "—", str(f.samples),
             _size(f.bytes), f"{f.seconds:.2f}"] for f in report.reads]
    return table("reads", ["pattern", "cache", "MB/s", "samples/s", "count", "bytes", "s"], rows,
                 left=("pattern", "cache"))


def _decode_line(report: DataReport) -> str:
    d = report.decode
    what = f"{', '.join(d.formats) or 'image'} images" if d.kind == "image" else "raw bytes (no decoding)"
    unit = "images/s" if d.kind == "image" else "samples/s"
    cores = report.surroundings.cores.usable
    return (f"decode: {what}: {figure(d.per_core)} {unit} on one core; about {figure(d.ceiling)} {unit} on {cores:g} usable cores "
            f"(a decoded sample is {_size(d.sample_bytes)})")


def _sweep(report: DataReport):
    s = report.sweep
    rows = [[str(r.workers), "yes" if r.pin_memory else "no", figure(r.samples_per_s) if r.samples_per_s else "—",
             f"{r.startup_s:.2f}" if r.startup_s is not None else "—", r.error or ("best" if r == report.best else "")] for r in s.rows]
    return table(f"DataLoader (batch size {s.batch_size})", ["num_workers", "pin_memory", "samples/s", "first batch s", "note"], rows,
                 words=("note",), left=("pin_memory",))


def text(report: DataReport, c: Output) -> None:
    c.wrap(f"envcheck data: {report.path} ({report.samples_found} sample files, {_size(report.bytes_found)})", style="bold")
    c.wrap(machine_line(report))
    if report.reads:
        c.print()
        c.print(_reads(report))
    if report.cold_note:
        c.wrap(f"note: {report.cold_note}", style="dim")
    if report.decode is not None:
        c.print()
        c.wrap(_decode_line(report))
        if report.decode.note:
            c.wrap(f"note: {report.decode.note}", style="dim")
    if report.sweep is not None and report.sweep.rows:
        c.print()
        c.print(_sweep(report))
    for line in (report.sweep.skipped, report.sweep.pin_note) if report.sweep is not None else ():
        if line:
            c.wrap(f"note: {line}", style="dim")
    for n in report.notes:
        c.wrap(f"note: {n}", style="dim")
    c.print()
    if report.best is not None:
        c.wrap(f"best setting: DataLoader(num_workers={report.best.workers}, pin_memory={report.best.pin_memory}): "
               f"{figure(report.best.samples_per_s)} samples/s", style="bold")
    if report.bottleneck:
        c.wrap(f"bottleneck: {report.bottleneck_text}")
    for v in report.verdicts:
        c.wrap(f"{v.severity}: {v.text}", style=STYLE.get(v.severity))
    bad = [v for v in report.verdicts if v.severity == "warn"]
    if report.interrupted:
        c.print(f"verdict: interrupted, {len(bad)} problem(s) in what finished", style="bold")
    else:
        c.print("verdict: all good" if not bad else f"verdict: {len(bad)} problem(s)", style="bold")
