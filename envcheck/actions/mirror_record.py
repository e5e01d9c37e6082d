"""envcheck's record of what `mirror set` changed: per setting, the value it replaced and the value
it wrote, so that `mirror unset` puts back only what envcheck set and still finds as it left it.

It lives in $XDG_STATE_HOME/envcheck/mirror.json (~/.local/state/envcheck/mirror.json) and is
written before the first change is made: a change that cannot be recorded is not made. It may hold
credentials from the user's own index URL, as pip.conf does: the file is its owner's only (0600,
in a 0700 directory).
"""

from __future__ import annotations

import json
from pathlib import Path

from envcheck.compat.paths import state_dir
from envcheck.errors import UserError
from envcheck.files import private_dir, write_atomic

SCHEMA = 1


def record_path() -> Path:
    return state_dir() / "mirror.json"


def load() -> dict | None:
    """The record, or None when envcheck has set nothing. A record that cannot be read is an
    error, not "nothing": it may be the only copy of the user's own index URL."""
    path = record_path()
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read envcheck's record {path} ({exc}): move it away and run again; nothing was changed") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UserError(f"envcheck's record {path} is not one this envcheck can read: move it away and run again; nothing was changed")
    return data


def save(data: dict) -> None:
    """Write the record whole (owner-only); raises OSError."""
    path = record_path()
    private_dir(path.parent)
    write_atomic(path, json.dumps({**data, "schema": SCHEMA}, indent=1, sort_keys=True), mode=0o600)


def put_back(data: dict | None) -> None:
    """The record as it was before a change that failed (None: there was none)."""
    if data is None:
        record_path().unlink(missing_ok=True)
    else:
        save(data)
