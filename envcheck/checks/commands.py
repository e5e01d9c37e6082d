"""The commands a finding prints, written in one place for the machine the snapshot describes: for
its shell (cmd.exe on Windows, POSIX sh elsewhere: envcheck/shell.py) and, when doctor inspected
another interpreter (`--python X`), run by X (`X -m pip install ...`), since a bare `pip` is
whichever pip is first on PATH, not the environment that was looked at.

A value the shell cannot hold (a `%` in a path, for cmd.exe) gives no command: the finding says why.
"""

from __future__ import annotations

import shlex
from typing import NamedTuple

from envcheck import shell
from envcheck.checks.findings import Fix
from envcheck.install.commands import pip_verb


class Pip(tuple):
    """A catalogue fix made of pip commands, each (verb, *words), joined with &&: written out by
    FixCommands for the run's shell and interpreter, never as fixed text."""

    def __new__(cls, *commands: tuple[str, ...]):
        return super().__new__(cls, commands)


class FixCommands(NamedTuple):
    shell: str  # shell.POSIX or shell.CMD
    interpreter: str | None = None  # the Python inspected, when not the one running envcheck

    @classmethod
    def of(cls, snapshot, interpreter: str | None = None) -> "FixCommands":
        return cls(shell.shell_for(snapshot.system.os), interpreter)

    def line(self, argv) -> str:
        """argv as one command line for the target shell (shell.Unquotable when it cannot hold it)."""
        return shell.line(argv, self.shell)

    def pip(self, fix: Pip) -> str:
        """pip's commands for the target: `pip install ...`, or `X -m pip install ...` for another X."""
        return " && ".join(self.line((*pip_verb(("pip",), verb, self.interpreter), *words)) for verb, *words in fix)

    def fix(self, pip: Pip, notes: tuple[str, ...] = ()) -> Fix:
        """The Fix of pip's commands, or no command and the one line that says why."""
        reason = self.unprintable()
        return Fix(None, (reason, *notes)) if reason else Fix(self.pip(pip), notes)

    def template(self, text: str, facts: dict) -> str:
        """A catalogue command template (`envcheck install-cmd --gpu {gpu}`) with each word filled from
        `facts` and quoted for the target shell; cut before its options when a fact is missing."""
        words = [w.format_map(_Facts(facts)) for w in shlex.split(text)]
        if "?" in words:
            words = words[:next(i for i, w in enumerate(words) if w.startswith("--"))]
        return self.line(words)

    def unprintable(self) -> str | None:
        """Why no command naming the interpreter can be printed for this shell (cmd.exe cannot hold a
        `%` or `!` in a path), in one line; None when it can."""
        if self.interpreter is None:
            return None
        try:
            self.line([self.interpreter])
        except shell.Unquotable as exc:
            return f"no command is printed: {str(exc).rsplit(': choose', 1)[0]}: use a path to Python without it"
        return None


class _Facts(dict):
    """str.format_map over facts: a fact the text did not give reads '?'."""

    def __missing__(self, key):
        return "?"
