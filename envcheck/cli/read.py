"""Reading a report file (or stdin) for `doctor --from` and `diff`, with one-line errors."""

import sys
from dataclasses import replace
from pathlib import Path

MAX_BYTES = 64 << 20  # reading is linear, but a report is kilobytes: a larger file is a mistake


def read_snapshot(path: str, tables):
    from envcheck.errors import UserError
    from envcheck.reports import read_report
    from envcheck.reports.paste import decode

    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read(MAX_BYTES + 1) if stream is not None else sys.stdin.read(MAX_BYTES + 1).encode("utf-8", "replace")
    else:
        p = Path(path)
        if not p.exists():
            raise UserError(f"{path}: no such file")
        if not p.is_file():
            raise UserError(f"{path}: not a file (a directory or a device): give the report's file, or - for stdin")
        try:
            with open(p, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise UserError(f"{path}: {exc.strerror}") from exc
    if len(data) > MAX_BYTES:
        raise UserError(f"{path}: larger than {MAX_BYTES >> 20} MB; a report or a pasted error is far smaller (paste the part that matters)")
    text = decode(data)  # UTF-16 from PowerShell's `>`, GBK from a Chinese Windows
    try:
        snapshot = read_report(text, tables)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc
    return replace(snapshot, origin="stdin" if path == "-" else path)
