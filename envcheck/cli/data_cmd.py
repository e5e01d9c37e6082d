"""`envcheck data`: is the GPU starved by the data pipeline?"""

from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.datacheck.service import DataRequest, run
from envcheck.render import data as render
from envcheck.render import progress
from envcheck.render.output import emit


def data(
    path: Annotated[Optional[str], typer.Argument(help="The dataset: a folder or a file (default: a sample written to a temp folder).")] = None,
    seconds: Annotated[float, typer.Option("--seconds", help="Time budget for all measurements together.")] = 40.0,
    gpu_rate: Annotated[Optional[float], typer.Option("--gpu-rate", help="Samples per second your model consumes: says whether the pipeline keeps up.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="DataLoader batch size.")] = 32,
    samples: Annotated[int, typer.Option("--samples", help="Most samples drawn from the dataset.")] = 512,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Measure reading, decoding and DataLoader settings on a dataset: is the GPU starved by its data?"""
    request = DataRequest(path=path, seconds=seconds, gpu_rate=gpu_rate, batch_size=batch_size, max_samples=samples)
    chosen = chosen_format(fmt, as_json)
    with progress.display(json_output=chosen is Format.json) as shown:
        report = run(request, progress.step_events(shown))
    emit("data", chosen, render.view(report), report.exit_code)
    raise typer.Exit(report.exit_code)
