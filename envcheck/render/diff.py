"""`envcheck diff` reports, and the labels of the compared facts that `envcheck cluster` shows too.
Text for a terminal, a markdown table for an issue tracker, JSON for programs (with the keys)."""

from __future__ import annotations

import textwrap

from envcheck.render.console import Output
from envcheck.render.output import View
from envcheck.snapshot.diff import Comparison

# What each fact is called on screen; programs read the keys (envcheck/snapshot/diff.py KEYS).
LABELS = {
    "python.version": "Python",
    "python.index": "pip index",
    "driver.version": "driver",
    "driver.cuda": "driver's highest CUDA",
    "driver.gpus": "GPUs",
    "toolkit.nvcc": "nvcc (CUDA toolkit)",
    "torch.version": "torch",
    "torch.cuda_build": "torch CUDA build",
    "torch.cudnn": "cuDNN",
    "torch.nccl": "NCCL",
    "torch.cuda_available": "CUDA available to torch",
    "torch.device_count": "GPUs torch sees",
    "torchvision.version": "torchvision",
    "torchaudio.version": "torchaudio",
    "onnxruntime.version": "ONNX Runtime",
    "rank.device": "device",
    "rank.transport": "NCCL settings",
}


def label(key: str) -> str:
    return LABELS.get(key, key)


def _unknown(c: Comparison) -> list[str]:
    """One line per side and reason: 'unknown in B (the report does not say): driver, GPUs'."""
    groups: dict = {}
    for n in c.not_compared:
        groups.setdefault(("B" if n.a is not None else "A", n.why), []).append(label(n.key))
    return [f"unknown in {side} ({why}): {', '.join(labels)}" for (side, why), labels in sorted(groups.items())]


def _summary(c: Comparison, a: str, b: str) -> str:
    if not c.differences:
        return f"no differences that matter between {a} and {b}"
    n = len(c.differences)
    return f"{n} difference{'s' if n > 1 else ''} that matter{'' if n > 1 else 's'} between {a} and {b}"


def text(c: Comparison, a: str, b: str, out: Output) -> None:
    """The two reports named, then one row per difference under a header (fact, A, B); the value
    columns share the width left and fold inside their column, so no row wraps the terminal."""
    out.wrap(a, "A: ", "   ")
    out.wrap(b, "B: ", "   ")
    if c.differences:
        rows = [(label(d.key), d.a, d.b) for d in c.differences]
        out.print()
        for line in _columns(("fact", "A", "B"), rows, out.width):
            out.print(line)
    for line in _unknown(c):
        out.wrap(line, "not compared, ", "  ", style="dim")
    out.wrap(_summary(c, "A", "B"), style="bold" if c.differences else "green")


def _columns(header: tuple, rows: list, width) -> list:
    """Lines of a three-column table: the first column as wide as its longest entry, the other two
    sharing what is left of `width` (None: as wide as they need), each cell folded in its column."""
    gap = "  "
    first = max(len(x[0]) for x in (header, *rows))
    need = [max(len(x[i]) for x in (header, *rows)) for i in (1, 2)]
    if width is not None and first + sum(need) + 2 * len(gap) > width:
        room = max(width - first - 2 * len(gap), 16)
        left = min(need[0], max(room // 2, room - need[1]))
        need = [left, max(room - left, 8)]
    lines = []
    for row in (header, *rows):
        cells = [textwrap.wrap(row[i], need[i - 1], break_on_hyphens=False) or [""] for i in (1, 2)]
        for k in range(max(len(x) for x in cells)):
            name = row[0] if k == 0 else ""
            pa = cells[0][k] if k < len(cells[0]) else ""
            pb = cells[1][k] if k < len(cells[1]) else ""
            lines.append(f"{name:<{first}}{gap}{pa:<{need[0]}}{gap}{pb}".rstrip())
    return lines


def _cell(value: str) -> str:
    """A table cell: pipes escaped, so a value never splits the row."""
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(c: Comparison, a: str, b: str) -> str:
    lines = ["## envcheck diff", ""]
    if c.differences:
        lines += [f"| fact | A: {_cell(a)} | B: {_cell(b)} |", "|---|---|---|"]
        lines += [f"| {_cell(label(d.key))} | {_cell(d.a)} | {_cell(d.b)} |" for d in c.differences]
        lines.append("")
    if c.not_compared:
        lines.append("Not compared, because only one side says:")
        lines += [f"- {line}" for line in _unknown(c)]
        lines.append("")
    lines.append(f"**{_summary(c, a, b)}**")
    return "\n".join(lines) + "\n"


def as_dict(c: Comparison, a: str, b: str) -> dict:
    return {"a": a, "b": b,
            "differences": [{"key": d.key, "label": label(d.key), "a": d.a, "b": d.b} for d in c.differences],
            "not_compared": [{"key": n.key, "label": label(n.key), "a": n.a, "b": n.b, "why": n.why} for n in c.not_compared]}


def view(c: Comparison, a: str, b: str) -> View:
    return View(lambda out: text(c, a, b, out), lambda: as_dict(c, a, b), lambda: markdown(c, a, b))
