"""Option types shared by several commands."""

from enum import Enum
from typing import Annotated, Optional

import typer


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[Format, typer.Option("--format", help="Output as a table (text), JSON, or markdown for an issue tracker.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the commands, no comments.")]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Use no network at all (the shipped tables and the cache of `compat refresh` only).")]
PythonVer = Annotated[Optional[str], typer.Option("--python", help="Python version to plan for, e.g. 3.10, or 3.13t for a free-threaded build (default: this interpreter's).")]


def stay_offline(ctx) -> None:
    """--offline: no index is read until the command ends (a test runs many commands in one process)."""
    # --offline only: the index reader is not on install-cmd's start-up otherwise
    from envcheck.probes.http_read import allow_network, forbid_network

    forbid_network()
    ctx.call_on_close(allow_network)


def chosen_format(fmt: Format, as_json: bool) -> Format:
    return Format.json if as_json else fmt
