"""`envcheck onnx` results: one line per model × exporter × provider, errors and latency."""

from __future__ import annotations

from envcheck.onnxcheck.runner import OnnxReport
from envcheck.render.console import Output
from envcheck.snapshot import SCHEMA_VERSION, jsonable

STYLE = {"pass": "green", "mismatch": "red", "fallback": "red", "unavailable": "red", "error": "red"}


def exit_code(report: OnnxReport) -> int:
    return 0 if report.results and all(r.passed for r in report.results) else 2


def as_dict(report: OnnxReport) -> dict:
    d = jsonable(report)
    d["schema_version"] = SCHEMA_VERSION
    d["passed"] = exit_code(report) == 0
    return d


def _num(x, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def text(report: OnnxReport, c: Output) -> None:
    c.print(f"torch {report.torch or '—'}, onnx {report.onnx}, onnxruntime {report.onnxruntime}; "
            f"providers: {', '.join(report.available_providers)}", style="bold")
    c.print(f"{'model':20} {'exporter':11} {'provider':27} {'verdict':11} {'max abs':>9} {'max rel':>9} {'median ms':>9}")
    for r in report.results:
        if r.status != "ok":
            c.print(f"{r.model:20} {r.exporter:11} {'—':27} {r.status:11}  {r.error}", style="red")
            continue
        for inp in r.inputs:
            c.print(f"  input {inp[0]}: shape {inp[1]}, {inp[2]}", style="dim")
        for run in r.runs:
            c.print(f"{r.model:20} {r.exporter:11} {run.provider:27} {run.status:11} "
                    f"{_num(run.max_abs, '9.2e')} {_num(run.max_rel, '9.2e')} {_num(run.median_ms, '9.2f')}",
                    style=STYLE.get(run.status))
            if run.reason:
                c.print(f"    {run.reason}")
    failed = sum(not r.passed for r in report.results)
    c.print("verdict: all pass" if not failed else f"verdict: {failed} of {len(report.results)} failed", style="bold")
