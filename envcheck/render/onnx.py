"""`envcheck onnx` results: one table per model (exporter × provider: verdict, errors against
PyTorch or the CPU provider, median latency), the reasons and failures below it."""

from __future__ import annotations

from envcheck.onnxcheck.report import OnnxReport
from envcheck.render.console import Output
from envcheck.render.doctor import load_text
from envcheck.render.layout import table
from envcheck.render.output import View, fenced_view
from envcheck.snapshot.model import jsonable

STYLE = {"pass": "green", "torch_only": "yellow", "mismatch": "red", "fallback": "red", "unavailable": "red", "error": "red"}
CPU_NODES = ("some nodes ran on the CPU inside this session: a second one with session.disable_cpu_ep_fallback=1 was "
             "refused. ONNX Runtime puts shape computations there on purpose; a node the provider has no kernel for "
             "lands there too and slows the model down")
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
    alone = [f"{_short(x.provider)} {load_text(x)}" for x in report.without_torch if not (x.loads is None and x.provider in report.not_run)]
    if alone:
        c.wrap("without torch: " + "; ".join(alone), "", "  ")
    for provider, why in report.not_run.items():
        c.wrap(f"{_short(provider)}: {why}", "", "  ", style="dim")
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
                if run.cpu_nodes:
                    after.append((f"{r.exporter}, {_short(run.provider)}: {CPU_NODES}", None))
        c.print(table(model, ["exporter", "provider", "verdict", "max abs", "max rel", "median ms"], rows,
                      left=("exporter", "provider", "verdict"), styles=styles))
        for line, style in after:
            c.wrap(line, "  ", "    ", style=style)
    if any(run.options.get("use_tf32") == "0" for r in report.results for run in r.runs):
        c.wrap("fp32 on CUDA compared with TF32 off (use_tf32=0)", style="dim")
    failed = sum(not r.passed for r in report.results)
    if failed:
        c.print(f"verdict: {failed} of {len(report.results)} failed", style="bold")
    else:
        c.print("verdict: all pass" + (", with warnings" if report.exit_code == 1 else ""), style="bold")

