"""`envcheck mirror`: show, list, set and unset the package mirror pip (and conda) use."""

import sys
from typing import Annotated

import typer

from envcheck.actions import mirror as action
from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.probes.pip_config import read_pip_index
from envcheck.render import mirror as render
from envcheck.render.console import out, write
from envcheck.render.output import emit

app = typer.Typer(help="Show and set the package mirror pip (and conda) use.", no_args_is_help=True)

DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the commands without running them.")]
Conda = Annotated[bool, typer.Option("--conda", help="Also point conda's channels at the mirror (backs up ~/.condarc).")]
UnsetConda = Annotated[bool, typer.Option("--conda", hidden=True, help="Kept for old scripts: unset undoes conda's part whenever set made one.")]


@app.command("list")
def list_(fmt: FormatOpt = Format.table, as_json: JsonOpt = False) -> None:
    """The mirrors envcheck knows, and what each carries."""
    ms = tuple(tables().mirrors)  # the rows: a table object is not JSON
    emit("mirror list", chosen_format(fmt, as_json), render.listing_view(ms), 0)


@app.command("show")
def show(fmt: FormatOpt = Format.table, as_json: JsonOpt = False) -> None:
    """The index pip uses now (credentials redacted), and any config file pip cannot read (exit 2)."""
    idx = read_pip_index()
    known = tables().mirrors.by_url(idx.index_url) if idx.index_url else None
    code = 2 if idx.problems else 0
    emit("mirror show", chosen_format(fmt, as_json), render.show_view(idx.index_url, idx.extra_index_urls, known, idx.problems), code)
    raise typer.Exit(code)


@app.command("set")
def set_(name: Annotated[str, typer.Argument(help="Mirror name, e.g. tuna (see: envcheck mirror list).")], conda: Conda = False, dry_run: DryRun = False) -> None:
    """Make pip (and with --conda, conda) use a mirror, through `pip config` / `conda config`; all or nothing."""
    m = tables().mirrors.get(name)
    if m is None:
        raise UserError(tables().mirrors.unknown(name))
    render.changes(action.set_mirror(m, conda, dry_run, sys.executable), out())
    beaten = None if dry_run else action.overridden(m.pypi)
    if beaten:
        write(sys.stderr, f"envcheck: warning: {beaten}\n")


@app.command("unset")
def unset(conda: UnsetConda = False, dry_run: DryRun = False) -> None:
    """Undo `mirror set`: what it changed goes back, where it is still as envcheck left it (exit 0 when there is nothing to undo)."""
    render.changes(action.unset_mirror(dry_run, sys.executable), out())
