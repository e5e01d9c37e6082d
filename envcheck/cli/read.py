"""Reading a report file (or stdin) for `doctor --from` and `diff`, with one-line errors."""

import sys
from pathlib import Path


def read_snapshot(path: str, tables):
    from envcheck.errors import UserError
    from envcheck.reports import read_report
    from envcheck.reports.paste import decode

    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        text = decode(stream.read()) if stream is not None else sys.stdin.read()
    else:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{path}: no such file")
        try:
            text = decode(p.read_bytes())  # UTF-16 from PowerShell's `>`, GBK from a Chinese Windows
        except OSError as exc:
            raise UserError(f"{path}: {exc.strerror}") from exc
    try:
        return read_report(text, tables)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc
