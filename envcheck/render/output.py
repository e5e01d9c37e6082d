"""One way every command writes its report: the chosen format picks a View's text, markdown or
JSON payload, and JSON always goes out in the one envelope (render.console.print_json)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from envcheck.render.console import Output, fenced, out, print_json


@dataclass(frozen=True)
class View:
    """A command's report in the three forms. `markdown` None: the text itself (a command with no
    markdown form of its own); see `fenced_view` for the text in a code block."""

    text: Callable[[Output], None]
    payload: Callable[[], dict]
    markdown: Optional[Callable[[], str]] = None


def fenced_view(title: str, text: Callable[[Output], None], payload: Callable[[], dict]) -> View:
    """A View whose markdown is its text under a heading in a code block (render.console.fenced)."""
    return View(text, payload, lambda: fenced(title, text))


def emit(command: str, fmt: str, view: View, exit_code: int) -> None:
    """Write `view` in `fmt` ("table", "json" or "markdown": cli.options.Format's values) to stdout;
    `exit_code` is the one the process exits with, named in the JSON envelope."""
    if fmt == "json":
        print_json(command, exit_code, view.payload())
    elif fmt == "markdown" and view.markdown is not None:
        out().print(view.markdown(), end="")
    else:
        view.text(out())
