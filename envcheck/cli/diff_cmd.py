"""`envcheck diff A B`: what differs that matters between two saved reports of any format."""

from typing import Annotated

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.cli.read import read_snapshot
from envcheck.compat import tables
from envcheck.render import diff as render
from envcheck.render.output import emit
from envcheck.snapshot.diff import compare


def diff(
    a: Annotated[str, typer.Argument(help="First report: envcheck JSON, collect_env text, or nvidia-smi output (- for stdin).")],
    b: Annotated[str, typer.Argument(help="Second report, any of the same formats.")],
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Compare two environments: driver, CUDA, torch build, GPU models, Python, mirror. A fact one report
    does not give is not compared. Exit 0 when they match, 1 when something that matters differs, 2 for an unreadable report."""
    t = tables()
    found = compare(read_snapshot(a, t), read_snapshot(b, t))
    emit("diff", chosen_format(fmt, as_json), render.view(found, a, b), found.exit_code)
    raise typer.Exit(found.exit_code)
