"""`envcheck diff A B`: what differs that matters between two saved reports of any format."""

from typing import Annotated

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.compat import tables


def diff(
    a: Annotated[str, typer.Argument(help="First report: envcheck JSON, collect_env text, or nvidia-smi output (- for stdin).")],
    b: Annotated[str, typer.Argument(help="Second report, any of the same formats.")],
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Compare two environments: driver, CUDA, torch build, GPU models, Python, mirror. Exit 1 when they differ."""
    from envcheck.cli.read import read_snapshot
    from envcheck.diff import differences
    from envcheck.render.console import out, print_json
    from envcheck.snapshot import SCHEMA_VERSION, jsonable

    t = tables()
    found = differences(read_snapshot(a, t), read_snapshot(b, t))
    if chosen_format(fmt, as_json) is Format.json:
        print_json({"schema_version": SCHEMA_VERSION, "a": a, "b": b, "differences": jsonable(found)})
    elif not found:
        out().print(f"no differences that matter between {a} and {b}")
    else:
        width = max(len(d.field) for d in found)
        out().print(f"{'':{width}}  A: {a}  |  B: {b}", style="bold")
        for d in found:
            out().print(f"{d.field:<{width}}  {d.a}  →  {d.b}")
    raise typer.Exit(1 if found else 0)
