"""Reading a report file (or stdin) for `doctor --from` and `diff`, with one-line errors."""

import sys
from dataclasses import replace

from envcheck.errors import UserError
from envcheck.files import read_limited
from envcheck.reports import read_report
from envcheck.reports.paste import decode

MAX_BYTES = 64 << 20  # reading is linear, but a report is kilobytes: a larger file is a mistake

TOO_BIG = f"larger than {MAX_BYTES >> 20} MB; a report or a pasted error is far smaller (paste the part that matters)"


def read_snapshot(path: str, tables):
    if path == "-":
        if sys.stdin is None:  # fd 0 closed (`<&-`), or a service with no stdin
            raise UserError("- means standard input, and it is closed; give the file's path, or pipe the report in")
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read(MAX_BYTES + 1) if stream is not None else sys.stdin.read(MAX_BYTES + 1).encode("utf-8", "replace")
    else:
        data = read_limited(path, MAX_BYTES, path, TOO_BIG)
    if len(data) > MAX_BYTES:
        raise UserError(f"{path}: {TOO_BIG}")
    text = decode(data)  # UTF-16 from PowerShell's `>`, GBK from a Chinese Windows
    try:
        snapshot = read_report(text, tables)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc
    return replace(snapshot, origin="stdin" if path == "-" else path)
