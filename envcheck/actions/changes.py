"""What a configuration change did (or would do), as the renderers show it: plain data, so that a
renderer never reaches the code that runs the commands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    argv: tuple  # the command run, or to run; () for a note
    done: bool  # False for --dry-run and for what was left as it was
    detail: str = ""  # "backup": argv[2] is the copy; "note:<text>": a line shown as it is


def note(text: str) -> Change:
    return Change((), False, "note:" + text)
