"""Text from outside envcheck made safe to show on a terminal: one function, `clean`.

A mirror's HTTP reason phrase, a link's host, a GPU name NVML reports, a warning torch prints, a
line in a pasted report: any of them may hold escape sequences that would retitle the window, clear
the screen, reset the terminal or rewrite a line already shown ("\\x1b]0;...\\x07", "\\x1b[2J",
"\\x1bc", a carriage return), or bidi overrides that show a command in another order than it runs.
`clean` shows each such character as a visible escape (ESC as `\\x1b`, U+202E as `\\u202e`), so the
user sees that something was there and nothing acts on the terminal. Chinese and every other
printable character pass through untouched; newline and tab are kept.

render/console.py applies it to every character envcheck writes to a terminal, so renderers and
commands need not remember to.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline; DEL; C1 controls (U+009B is a one-character CSI, U+009D an OSC);
# the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, "Trojan Source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    """`text` with every control character and bidi override shown as a visible escape."""
    return _UNSAFE.sub(lambda m: _visible(m.group()), text) if _UNSAFE.search(text) else text


def json_safe(text: str) -> str:
    """JSON text with the characters json.dumps leaves raw (DEL, C1, bidi overrides; it escapes only
    C0) written as \\u escapes: the same JSON, harmless on a terminal. Such characters can stand only
    inside JSON strings, where a \\u escape means the same character."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _UNSAFE.search(text) else text
