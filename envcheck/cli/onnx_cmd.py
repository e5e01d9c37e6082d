"""`envcheck onnx`: can this environment export models to ONNX and run them right under ONNX Runtime?"""

from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.errors import UserError
from envcheck.numbers import ascii_int

EXPORTERS = ("torchscript", "dynamo", "both")
MAX_DIM = 65536  # one symbolic dimension; the inputs built from it must fit in memory


def _dims(values: list) -> dict:
    dims = {}
    for v in values:
        name, sep, number = v.partition("=")
        value = ascii_int(number)
        if not sep or not name or value is None or not 1 <= value <= MAX_DIM:
            raise UserError(f"--dim {v!r}: write it as NAME=VALUE with an integer from 1 to {MAX_DIM}, e.g. --dim batch=8")
        dims[name] = value
    return dims


def onnx(
    model: Annotated[Optional[str], typer.Option("--model", help="Check this ONNX file instead of the reference networks.")] = None,
    exporter: Annotated[str, typer.Option("--exporter", help="torchscript, dynamo or both.")] = "both",
    opset: Annotated[Optional[int], typer.Option("--opset", help="ONNX opset to export to.")] = None,
    provider: Annotated[Optional[list[str]], typer.Option("--provider", help="Run only this provider (repeatable), e.g. CUDAExecutionProvider.")] = None,
    dim: Annotated[Optional[list[str]], typer.Option("--dim", help="Value for a symbolic input dimension, NAME=VALUE (default 1).")] = None,
    optimize: Annotated[bool, typer.Option("--optimize", help="Also run the dynamo exporter's ONNX optimizer pass (slower).")] = False,
    network: Annotated[Optional[list[str]], typer.Option("--network", help="Reference network: cifar_cnn, transformer_block (default both).")] = None,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Export reference networks to ONNX, check them, run them under every ONNX Runtime provider, compare with PyTorch."""
    from envcheck.onnxcheck import runner
    from envcheck.onnxcheck.reference import NETWORKS
    from envcheck.render import onnx as render
    from envcheck.render import progress
    from envcheck.render.console import fenced, out, print_json

    if exporter not in EXPORTERS:
        raise UserError(f"--exporter {exporter!r} is not one of: {', '.join(EXPORTERS)}")
    if opset is not None and not 7 <= opset <= 30:
        raise UserError(f"--opset {opset} is not an ONNX opset envcheck can ask for (7–30)")
    networks = network or list(NETWORKS)
    for n in networks:
        if n not in NETWORKS:
            raise UserError(f"--network {n!r} is not one of: {', '.join(NETWORKS)}")
    requested = tuple(provider or ())
    dims = _dims(dim or [])
    from envcheck.cli.precheck import torch_importable

    purpose = "envcheck onnx" if model is None else "envcheck onnx --model"
    probed = torch_importable(purpose, required=model is None, onnxruntime=True)  # before this process imports them
    tv, ov, rv, available = runner.versions(with_torch=probed.status == "ok")
    chosen = chosen_format(fmt, as_json)
    with progress.display(json_output=chosen is Format.json) as shown:
        if model is not None:
            step = progress.steps(shown, 1)
            step(0, f"checking {model}")
            results = [runner.check_file(model, dims, requested)]
        else:
            exporters = ("torchscript", "dynamo") if exporter == "both" else (exporter,)
            jobs = [(n, e) for n in networks for e in exporters]
            step = progress.steps(shown, len(jobs))  # the first dynamo export alone takes seconds (benchmarks/RESULTS.md)
            results = []
            for done, (n, e) in enumerate(jobs):
                step(done, f"exporting {n} with {e}")
                results.append(runner.check_reference(n, e, opset, requested, optimize))
    report = runner.OnnxReport(tv, ov, rv, available, tuple(results))
    if chosen is Format.json:
        print_json("onnx", report.exit_code, render.as_dict(report))
    elif chosen is Format.markdown:
        out().print(fenced("envcheck onnx", lambda c: render.text(report, c)), end="")
    else:
        render.text(report, out())
    raise typer.Exit(report.exit_code)
