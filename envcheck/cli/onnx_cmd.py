"""`envcheck onnx`: can this environment export models to ONNX and run them right under ONNX Runtime?"""

from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.errors import UserError
from envcheck.numbers import ascii_int
from envcheck.onnxcheck.service import OnnxRequest, run
from envcheck.render import onnx as render
from envcheck.render import progress
from envcheck.render.output import emit

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
    request = OnnxRequest(model, exporter, opset, tuple(provider or ()), tuple(_dims(dim or []).items()), optimize, tuple(network or ()))
    chosen = chosen_format(fmt, as_json)
    with progress.display(json_output=chosen is Format.json) as shown:
        report = run(request, progress.step_events(shown))
    emit("onnx", chosen, render.view(report), report.exit_code)
    raise typer.Exit(report.exit_code)
