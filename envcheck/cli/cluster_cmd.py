"""`envcheck cluster`: under torchrun or srun, what differs between ranks and nodes, and who lags."""

from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.errors import UserError
from envcheck.numbers import seconds as check_seconds


def cluster(
    seconds: Annotated[float, typer.Option("--seconds", help="Time per measurement: the matmul, each all-reduce size.")] = 1.0,
    backend: Annotated[Optional[str], typer.Option("--backend", help="nccl or gloo (default: nccl where CUDA is available).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for every rank to join and for each collective.")] = 300.0,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on every rank for drift, a lagging rank or a warning (for CI); "
                                                           "without it they are reported and the ranks exit 0. A failed rank exits 2 either way.")] = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Run under torchrun (or srun): every rank takes a snapshot; rank 0 reports drift between ranks and nodes, a matmul per rank and all-reduce bandwidth.
    Every rank exits 0, warnings included (1 with --strict), or 2 when a rank failed."""
    import os

    from envcheck.cluster import launch

    if backend not in (None, "nccl", "gloo"):
        raise UserError(f"--backend {backend!r} is not one of: nccl, gloo")
    check_seconds(seconds, "--seconds", 600)
    check_seconds(timeout, "--timeout")
    where = launch.from_env(os.environ)
    from envcheck.cli.precheck import torch_importable

    # A rank must not die importing torch; a short join --timeout (tests, CI) is no budget for the import.
    torch_importable("envcheck cluster", timeout=min(max(timeout, 60.0), 300.0))
    import torch
    if backend == "nccl" and not torch.cuda.is_available():
        raise UserError("--backend nccl needs CUDA, which this rank's torch cannot use: drop --backend, or use gloo")

    from envcheck.bench.allreduce import SWEEPS
    from envcheck.cluster import job
    from envcheck.compat import tables
    from envcheck.render import cluster as render
    from envcheck.render.console import fenced, out, print_json

    report, code = job.run(where, tables(), seconds, SWEEPS["quick"], timeout, backend, strict)
    if report is not None:  # rank 0
        chosen = chosen_format(fmt, as_json)
        if chosen is Format.json:
            print_json("cluster", code, render.as_dict(report))
        elif chosen is Format.markdown:  # for a public tracker: no host names
            out().print(fenced("envcheck cluster", lambda c: render.text(report, c, hosts=False)), end="")
        else:
            render.text(report, out())
    raise typer.Exit(code)
