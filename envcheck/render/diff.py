"""`envcheck diff` reports, and the labels of the compared facts that `envcheck cluster` shows too.
Text for a terminal, a markdown table for an issue tracker, JSON for programs (with the keys)."""

from __future__ import annotations

from envcheck.diff import Comparison
from envcheck.render.console import Output
from envcheck.snapshot import SCHEMA_VERSION

# What each fact is called on screen; programs read the keys (envcheck/diff.py KEYS).
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
    if c.differences:
        width = max(len(label(d.key)) for d in c.differences)
        out.print(f"{'':{width}}  A: {a}  |  B: {b}", style="bold")
        for d in c.differences:
            out.print(f"{label(d.key):<{width}}  {d.a}  →  {d.b}")
    for line in _unknown(c):
        out.print(f"not compared, {line}", style="dim")
    out.print(_summary(c, a, b), style="bold" if c.differences else "green")


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
    return {"schema_version": SCHEMA_VERSION, "exit_code": c.exit_code, "a": a, "b": b,
            "differences": [{"key": d.key, "label": label(d.key), "a": d.a, "b": d.b} for d in c.differences],
            "not_compared": [{"key": n.key, "label": label(n.key), "a": n.a, "b": n.b, "why": n.why} for n in c.not_compared]}
