"""`envcheck cluster`: under torchrun or srun, what differs between ranks and nodes, and who lags."""

import os
from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.cluster.service import ClusterRequest, run
from envcheck.render import cluster as render
from envcheck.render.output import emit


def cluster(
    seconds: Annotated[float, typer.Option("--seconds", help="Time per measurement: the matmul, each all-reduce size.")] = 1.0,
    backend: Annotated[Optional[str], typer.Option("--backend", help="nccl or gloo (default: nccl where CUDA and NCCL are available, else gloo).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for every rank to join and for each collective.")] = 300.0,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on every rank for drift, a lagging rank or a warning (for CI), "
                                                           "and 2 for an error envcheck doctor finds on a rank; without it they are "
                                                           "reported and the ranks exit 0. A failed rank exits 2 either way.")] = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Run under torchrun (or srun): every rank takes a snapshot; rank 0 reports drift between ranks and nodes, a matmul per rank and all-reduce bandwidth.
    Every rank exits 0, warnings and doctor's findings included (1 with --strict, 2 for doctor's errors), or 2 when a rank failed."""
    outcome = run(ClusterRequest(seconds, backend, timeout, strict), os.environ)
    if outcome.report is not None:  # rank 0
        emit("cluster", chosen_format(fmt, as_json), render.view(outcome.report), outcome.exit_code)
    raise typer.Exit(outcome.exit_code)
