"""`envcheck onnx` results: one table per model (exporter × provider: verdict, errors against
PyTorch or the CPU provider, median latency), the reasons and failures below it."""

from __future__ import annotations

from envcheck.onnxcheck.report import OnnxReport
from envcheck.render.console import Output
from envcheck.render.layout import table
from envcheck.render.output import View, fenced_view
from envcheck.snapshot import jsonable

STYLE = {"pass": "green", "mismatch": "red", "fallback": "red", "unavailable": "red", "error": "red"}
SUFFIX = "ExecutionProvider"  # every provider's name ends so (CPUExecutionProvider): the table shows the part that differs


def as_dict(report: OnnxReport) -> dict:
    d = jsonable(report)
    d["passed"] = report.passed
    return d


def view(report: OnnxReport) -> View:
    return fenced_view("envcheck onnx", lambda c: text(report, c), lambda: as_dict(report))


def _num(x, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def _short(provider: str) -> str:
    return provider[: -len(SUFFIX)] if provider.endswith(SUFFIX) and provider != SUFFIX else provider


def text(report: OnnxReport, c: Output) -> None:
    c.wrap(f"torch {report.torch or '—'}, onnx {report.onnx}, onnxruntime {report.onnxruntime}; "
           f"providers: {', '.join(report.available_providers) or 'none'}", style="bold")
    models: dict = {}
    for r in report.results:
        models.setdefault(r.model, []).append(r)
    for model, results in models.items():
        rows, styles, after = [], [], []
        c.print()
        for r in results:
            for inp in r.inputs:
                c.wrap(f"input {inp[0]}: shape {inp[1]}, {inp[2]}", style="dim")
            if r.status != "ok":
                rows.append([r.exporter, "—", r.status, "—", "—", "—"])
                styles.append("red")
                after.append((f"{r.exporter}: {r.status}: {r.error}", "red"))
            for run in r.runs:
                rows.append([r.exporter, _short(run.provider), run.status, _num(run.max_abs, ".2e"), _num(run.max_rel, ".2e"),
                             _num(run.median_ms, ".2f")])
                styles.append(STYLE.get(run.status))
                if run.reason:
                    after.append((f"{r.exporter}, {_short(run.provider)}: {run.reason}", STYLE.get(run.status)))
        c.print(table(model, ["exporter", "provider", "verdict", "max abs", "max rel", "median ms"], rows,
                      left=("exporter", "provider", "verdict"), styles=styles))
        for line, style in after:
            c.wrap(line, "  ", "    ", style=style)
    failed = sum(not r.passed for r in report.results)
    c.print("verdict: all pass" if not failed else f"verdict: {failed} of {len(report.results)} failed", style="bold")
