"""envcheck's own JSON (`doctor --save`, `doctor --json`) read back into a snapshot, as saved.

A reader of report texts (envcheck/reports/read.py): `sniff` says whether the text may be one,
`read` reads it whole."""

from __future__ import annotations

import json

from envcheck.reports import ReportError
from envcheck.snapshot.json_io import load
from envcheck.snapshot.model import Snapshot


class NotJson(ReportError):
    """The text starts like JSON but does not parse: a cut-off file, or a paste that opens with a brace."""


def sniff(text: str) -> bool:
    return text.startswith("{")


def read(text: str, tables=None) -> Snapshot:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NotJson(f"envcheck JSON that does not parse: {exc}") from exc
    except RecursionError:
        raise NotJson("envcheck JSON that does not parse: it is nested too deeply") from None
    if isinstance(data, dict) and "snapshot" in data and "findings" in data:
        data = data["snapshot"]  # the output of `doctor --json`
    return load(data)
