"""Where results go: stdout, as plain text unless colour can be shown.

rich costs tens of milliseconds to import, which `install-cmd` cannot afford (DESIGN: within 1.5x of
importing typer and rich), so strings are written directly, coloured with plain ANSI codes on a POSIX
terminal (NO_COLOR and TERM=dumb honoured); rich is loaded only to draw a table or to colour a
Windows console. Errors and notes go to stderr through the CLI.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import textwrap

from envcheck.errors import UserError
from envcheck.numbers import finite_data
from envcheck.redact import hide_uuids, redact, redact_data
from envcheck.snapshot.facts import SCHEMA_VERSION
from envcheck.terminal_text import clean, json_safe

# The few styles the renderers use, as ANSI SGR codes: colouring a POSIX terminal needs no rich.
_SGR = {"bold": "1", "dim": "2", "yellow": "33", "red": "31", "green": "32"}


# What a console whose encoding lacks a symbol shows instead (a GBK/cp936 Windows console has no
# ✗ or ⚠; an ASCII one has no — or ≤). Chinese text passes through wherever the encoding has it.
_FALLBACK = str.maketrans({"✗": "x", "✓": "v", "⚠": "!", "…": "...", "—": "-", "–": "-", "≤": "<=", "≥": ">=", "→": "->",
                           "←": "<-", "•": "*", "×": "x", "·": ".", "█": "#", "░": ".", "°": " deg", "’": "'", "‘": "'",
                           "“": '"', "”": '"', "±": "+/-", "µ": "u"})


def utf8(stream) -> bool:
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
    return encoding in ("utf8", "utf8sig", "utf16", "utf32")


def fit(text: str, stream) -> str:
    """Text the stream's encoding can write: symbols fall back to ASCII, anything else left
    unencodable becomes '?'. Writing never fails on a console's encoding (docs/DESIGN.md, "Output")."""
    if utf8(stream):
        return text
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:
        return text
    out = []
    for ch in text:  # only what the encoding lacks is replaced: GBK has ≤ and 显卡, not ✗
        try:
            ch.encode(encoding)
            out.append(ch)
        except UnicodeEncodeError:
            out.append(ch.translate(_FALLBACK).encode(encoding, errors="replace").decode(encoding))
    return "".join(out)


def unshowable(text: str, stream) -> str | None:
    """The first character of `text` the stream's encoding cannot write, or None."""
    if utf8(stream):
        return None
    encoding = getattr(stream, "encoding", None) or "utf-8"
    for ch in text:
        try:
            ch.encode(encoding)
        except UnicodeEncodeError:
            return ch
        except LookupError:
            return None
    return None


def _cannot_show(ch: str, stream) -> str:
    encoding = getattr(stream, "encoding", None)
    return (f"this console ({encoding}) cannot show {ch!r} ({ascii(ch)}), and a command with ? in its place would do something "
            "else: set PYTHONIOENCODING=utf-8 (on Windows run chcp 65001 first) and run envcheck again")


def commands_fit(lines, stream) -> None:
    """Refuse, before anything is written, to print commands the console would change: symbols in
    prose may fall back to ASCII, a command must reach the shell as it is."""
    for text in lines:
        ch = unshowable(text, stream)
        if ch is not None:
            raise UserError(_cannot_show(ch, stream))


def write(stream, text: str) -> None:
    """stream.write for text that did not pass through Output (progress lines, error lines): secrets
    masked, control characters shown, never acted on (envcheck/terminal_text.py)."""
    stream.write(fit(clean_text(text), stream))


# envcheck's own terminal controls, the only ones it writes: every other control character is text
# from outside and is shown, not sent (clean). `control` writes them only to a terminal.
CONTROLS = {"return": "\r", "erase line": "\033[K", "clear screen": "\033[H\033[2J"}


def control(stream, name: str) -> bool:
    """Write envcheck's own control `name` (CONTROLS) when `stream` is a terminal; False on a pipe."""
    if not getattr(stream, "isatty", lambda: False)():
        return False
    stream.write(CONTROLS[name])
    return True


def rich_console(file, **options):
    """A rich Console whose every piece of text is cleaned before it is drawn: the one way envcheck
    makes one (tables, live progress), so a GPU name or an error in a cell cannot drive the terminal.
    rich applies styles itself, outside the text, so cleaning the text leaves colour intact."""
    return _clean_console_class()(file=file, **options)


_CLEAN_CONSOLE = None


def _clean_console_class():
    global _CLEAN_CONSOLE
    if _CLEAN_CONSOLE is None:
        # here, not at the top: rich costs tens of ms, which line output and JSON never pay
        from rich.console import Console
        from rich.segment import Segment

        class CleanConsole(Console):
            def render_str(self, text, **kw):  # before layout: a cleaned cell is measured as shown
                return super().render_str(clean(text), **kw)

            def render(self, renderable, options=None):  # every segment, Text objects included
                for seg in super().render(renderable, options):
                    yield seg if seg.control else Segment(clean(seg.text), seg.style, seg.control)

        _CLEAN_CONSOLE = CleanConsole
    return _CLEAN_CONSOLE


def live(stream=None) -> bool:
    """Colour and live progress only on a terminal, and never with NO_COLOR or TERM=dumb (docs/DESIGN.md, "Output")."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", lambda: False)
    return bool(isatty()) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


# Words wrapping must not part: an arrow or a comparison and what it points to.
_GLUE = re.compile(r"\S+ [→≥≤] \S+|[≥≤] \S+")


class Output:
    def __init__(self, file=None, width: int | None = None):
        self.file = file or sys.stdout
        self.colour = live(self.file)
        self._width = width  # None: the terminal's, or $COLUMNS, or 80 (rich's rule)
        self._rich = None

    def rich(self):
        if self._rich is None:
            self._rich = rich_console(self.file, highlight=False, soft_wrap=True, no_color=not self.colour, width=self._width)
        return self._rich

    @property
    def width(self) -> int:
        """The columns tables and charts may fill."""
        return self._width or self.rich().width

    @property
    def prose_width(self) -> int | None:
        """Columns to fold prose at: the width given, the terminal's, or COLUMNS when set; None on a
        pipe, where a line kept whole is easier to grep and to paste (tables still fit `width`)."""
        if self._width:
            return self._width
        cols = os.environ.get("COLUMNS", "")
        if cols.isdigit() and int(cols) >= 20:
            return int(cols)
        if getattr(self.file, "isatty", lambda: False)():
            return max(shutil.get_terminal_size().columns, 20)
        return None

    def wrap(self, text: str, first: str = "", rest: str | None = None, style: str | None = None) -> None:
        """A line of prose folded at the width with a hanging indent (`rest`, default: as deep as
        `first`, and two more). Words are never split: a path or URL longer than the width stays whole."""
        width = self.prose_width
        rest = " " * (len(first) + 2) if rest is None else rest
        if width is None or len(first) + len(text) <= width:
            self.print(first + text, style=style)
            return
        glued = _GLUE.sub(lambda m: m.group().replace(" ", "\x1f"), text)  # "cu126 → 2.6.0" and "≥ 525.60" stay whole
        lines = textwrap.wrap(glued, width=width, initial_indent=first, subsequent_indent=rest,
                              break_long_words=False, break_on_hyphens=False)
        self.print("\n".join(lines).replace("\x1f", " ") or first, style=style)

    def command(self, label: str, command: str) -> None:
        """A command to copy, on one line after `label`; where the console cannot show one of its
        characters, a line that says so instead of a changed command."""
        ch = unshowable(command, self.file)
        self.print(label + (command if ch is None else f"(not shown: {_cannot_show(ch, self.file)})"))

    def print(self, obj="", style: str | None = None, markup: bool = False, end: str = "\n") -> None:
        if isinstance(obj, str):
            obj = fit(clean_text(obj), self.file)
        if isinstance(obj, str) and not (style and self.colour):
            self.file.write(obj + end)
        elif isinstance(obj, str) and style in _SGR and os.name == "posix":
            self.file.write(f"\033[{_SGR[style]}m{obj}\033[0m{end}")
        elif utf8(self.file):  # tables, and Windows consoles, where rich knows how to colour
            self.rich().print(obj, style=style if self.colour else None, markup=markup, end=end)
        else:  # drawn first, then written in what the console's encoding can show
            with self.rich().capture() as captured:
                self.rich().print(obj, style=style if self.colour else None, markup=markup, end=end)
            self.file.write(fit(captured.get(), self.file))


def out() -> Output:
    return Output(sys.stdout)


def envelope(command: str, exit_code: int, payload: dict) -> dict:
    """Every command's JSON, one shape: schema_version, command and exit_code first, then the
    command's own keys beside them (a consumer checks one place for the verdict of any command)."""
    clash = {"schema_version", "command", "exit_code"} & set(payload)
    if clash:
        raise ValueError(f"a payload may not set the envelope's keys: {sorted(clash)}")
    return {"schema_version": SCHEMA_VERSION, "command": command, "exit_code": exit_code, **payload}


def print_json(command: str, exit_code: int, payload: dict) -> None:
    """The envelope as strict JSON (no NaN or Infinity: an nvidia-smi reading of 'nan W' becomes
    null), secrets masked."""
    data = envelope(command, exit_code, payload)
    text = json.dumps(finite_data(redact_data(data)), indent=2, ensure_ascii=not utf8(sys.stdout), allow_nan=False)
    # \\u escapes where the console's encoding lacks a character, or for a control character or bidi
    # override json.dumps leaves raw: still the same JSON
    sys.stdout.write(json_safe(text) + "\n")


def clean_text(text: str) -> str:
    """What every line envcheck writes goes through: secrets masked, control characters and bidi
    overrides made visible (envcheck/terminal_text.py)."""
    return clean(redact(text))


def fenced(title: str, draw) -> str:
    """A text report as markdown for an issue tracker: a heading and a code block, so its columns
    stay aligned, with GPU and MIG UUIDs cut to their prefix (docs/DESIGN.md: public reports leave them out)."""
    buf = io.StringIO()
    draw(Output(buf))
    return f"## {title}\n\n```text\n{hide_uuids(buf.getvalue())}```\n"
