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
from envcheck.render.console import out
from envcheck.render.output import emit

app = typer.Typer(help="Show and set the package mirror pip (and conda) use.", no_args_is_help=True)

DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the commands without running them.")]
Conda = Annotated[bool, typer.Option("--conda", help="Also point conda's channels at the mirror (backs up ~/.condarc).")]


@app.command("list")
def list_(fmt: FormatOpt = Format.table, as_json: JsonOpt = False) -> None:
    """The mirrors envcheck knows, and what each carries."""
    ms = tuple(tables().mirrors)  # the rows: a table object is not JSON
    emit("mirror list", chosen_format(fmt, as_json), render.listing_view(ms), 0)


@app.command("show")
def show(fmt: FormatOpt = Format.table, as_json: JsonOpt = False) -> None:
    """The index pip uses now (credentials redacted)."""
    idx = read_pip_index()
    known = tables().mirrors.by_url(idx.index_url) if idx.index_url else None
    emit("mirror show", chosen_format(fmt, as_json), render.show_view(idx.index_url, idx.extra_index_urls, known), 0)


@app.command("set")
def set_(name: Annotated[str, typer.Argument(help="Mirror name, e.g. tuna (see: envcheck mirror list).")], conda: Conda = False, dry_run: DryRun = False) -> None:
    """Make pip (and with --conda, conda) use a mirror, through `pip config` / `conda config`."""
    m = tables().mirrors.get(name)
    if m is None:
        raise UserError(tables().mirrors.unknown(name))
    commands = action.pip_set_argv(m, sys.executable)
    if conda:
        commands += action.conda_set_argv(m)
    previous = None if dry_run else action.pip_current(sys.executable)
    changes = action.apply(commands, dry_run, conda=conda)
    if not dry_run:
        action.remember(previous, m.pypi)
    render.changes(changes, out())


@app.command("unset")
def unset(conda: Conda = False, dry_run: DryRun = False) -> None:
    """Undo `mirror set`: pip goes back to the index it used before (its default index when none)."""
    commands, _ = action.pip_restore_argv(sys.executable)
    if conda:
        commands += action.conda_unset_argv()
    changes = action.apply(commands, dry_run, conda=conda)
    if not dry_run:
        action.forget()
    render.changes(changes, out())
