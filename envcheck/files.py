"""Reading a file the user names (a report, a model) with a size limit: every way it can fail is one
line naming the file, never a traceback, and a file far larger than any real one is refused before
it fills memory."""

from __future__ import annotations

from pathlib import Path

from envcheck.errors import UserError


def read_limited(path: str, limit: int, label: str, too_big: str) -> bytes:
    """The file's bytes; `label` starts each error line ("--model x.onnx"), `too_big` ends the one
    for a file over `limit` bytes (why that is a mistake, and what to do)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{label}: no such file")
    if not p.is_file():
        raise UserError(f"{label}: not a file (a directory or a device)")
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise UserError(f"{label}: {exc.strerror}") from exc
    if len(data) > limit:
        raise UserError(f"{label}: {too_big}")
    return data
