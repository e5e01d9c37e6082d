"""Pasted text as people make it, made readable: decoding and decoration.

What reaches `doctor --from` is rarely a clean file: a collect_env report in a Markdown code fence,
quoted with "> " in a reply, with `**bold**` labels, indented, saved by PowerShell's `>` as UTF-16 or
by a Chinese Windows as GBK, cut off, or a bare traceback. `decode` and `clean` undo the wrapping
(the error lines in what is left are found by reports/error_lines.py). Everything here is linear in
the text's length: no regex runs over more than one line, and lines are cut before they are searched.
"""

from __future__ import annotations

import codecs
import html
import re

MAX_LINE = 2000  # longer lines are cut before any pattern runs on them

_FENCE = re.compile(r"^\s*(?:```|~~~)")
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_BULLET = re.compile(r"^([ \t]*)[-*+•][ \t]+(?=\S)")
_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")  # not __x__: that is __init__.py in a traceback
_TAG = re.compile(r"^\s*(?:</?(?:details|summary|pre|code|br|p|div)\b[^>]{0,200}>\s*|<summary>[^\n]{0,300}</summary>\s*)$", re.IGNORECASE)
_CURLY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\uff1a": ":"})


def decode(data: bytes) -> str:
    """Bytes of a saved paste as text: a BOM decides (UTF-8, UTF-16 from PowerShell's `>`), then
    UTF-16 without one (every other byte NUL), UTF-8, and GB18030 (a superset of GBK/CP936, what a
    Chinese Windows writes); Latin-1 last, which never fails."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    sample = data[:4000]
    if len(sample) >= 4 and sample.count(0) * 3 > len(sample):
        encoding = "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
        return data.decode(encoding, errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def clean(text: str) -> str:
    """The paste without its wrapping: line endings, BOM, code fences, HTML wrappers, quote markers,
    list bullets, bold markers, HTML entities, curly quotes, full-width colons, non-breaking spaces and a common indentation."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    if any(chr(q) in text for q in _CURLY):  # an editor's (or a Chinese IME's) quotes: couldn‘t
        text = text.translate(_CURLY)
    lines = []
    for raw in text.split("\n"):
        if not raw or raw.isspace():  # most of a long paste: keep it cheap
            lines.append("")
            continue
        line = raw[:MAX_LINE]
        if "\t" in line:
            line = line.expandtabs(4)
        first = line.lstrip()[:1]
        if first == ">":
            line = _QUOTE.sub("", line)
            first = line.lstrip()[:1]
        if first in ("`", "~", "<") and (_FENCE.match(line) or _TAG.match(line)):
            continue
        if first in ("-", "*", "+", "•"):
            line = _BULLET.sub(r"\1", line)
        if "**" in line and first not in ("|", "+"):  # never touch the rows of an nvidia-smi table
            line = _BOLD.sub(r"\1", line)
        if "&" in line:
            line = html.unescape(line)
        lines.append(line.rstrip())
    return "\n".join(_dedent(lines))


def _dedent(lines: list[str]) -> list[str]:
    """Remove the indentation every non-blank line shares (a paste indented as a Markdown block)."""
    widths = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(widths, default=0)
    return [line[cut:] for line in lines] if cut else lines
