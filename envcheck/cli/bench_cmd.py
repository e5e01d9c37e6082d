"""`envcheck bench`: measure the chosen devices, judge them against their peak and their siblings."""

from typing import Annotated, Optional

import typer

from envcheck.bench.service import BenchRequest, run
from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.render import bench as render
from envcheck.render import progress
from envcheck.render.output import emit


def _list(text: Optional[str]) -> tuple:
    """A comma-separated option as its items; the service says which are not allowed."""
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


def bench(
    gpus: Annotated[Optional[str], typer.Option("--gpus", help="GPUs by nvidia-smi index or UUID, e.g. 0,2,3 (default: all).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="cpu to benchmark the CPU instead of GPUs.")] = None,
    suite: Annotated[Optional[str], typer.Option("--suite", help="matmul,conv,memory,allreduce (default: all).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="With --device cpu: processes for the all-reduce suite.")] = 2,
    dtype: Annotated[Optional[str], typer.Option("--dtype", help="fp32,tf32,fp16,bf16 for matmul (default: all the device offers).")] = None,
    size: Annotated[Optional[int], typer.Option("--size", help="Matrix size n for n×n matmul.")] = None,
    level: Annotated[str, typer.Option("--level", help="quick, standard or long: the time spent per measurement.")] = "standard",
    seconds: Annotated[Optional[float], typer.Option("--seconds", help="Seconds per measurement (overrides --level).")] = None,
    sequential: Annotated[bool, typer.Option("--sequential", help="One device after another instead of all at once.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a device's worker may take before it is killed.")] = 600.0,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark matmul and memory bandwidth per device, against the datasheet peak and sibling GPUs."""
    request = BenchRequest(gpus=gpus, device=device, suites=_list(suite), workers=workers, dtypes=_list(dtype), size=size, level=level,
                           seconds=seconds, sequential=sequential, timeout=timeout)
    chosen = chosen_format(fmt, as_json)
    with progress.display(json_output=chosen is Format.json) as shown:
        report = run(request, progress.bench_events(shown))
    emit("bench", chosen, render.view(report), report.exit_code)
    raise typer.Exit(report.exit_code)
