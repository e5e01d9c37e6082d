"""Standard output that is closed, full or a pipe nobody reads any more: one line, or a quiet exit.

Such a stdout is the user's setup, not envcheck's bug, so it never reads as "internal error":
- closed (`>&-`) or full (`> /dev/full`, a full disk): one line on stderr, exit code 2;
- a pipe whose reader has gone (`envcheck gpus | head -0`): no line, exit code 141, what a shell
  reports for a program that SIGPIPE ended (`yes | head -1`), so `set -o pipefail` scripts still see it.
Standard library only: the entry point asks `closed_stdout()` before anything else is imported.
"""

from __future__ import annotations

import errno
import io
import os
import sys

CLOSED_PIPE = 141  # 128 + SIGPIPE


def closed_stdout() -> str | None:
    """The error line when fd 1 was closed at start (Python then sets sys.stdout to None)."""
    if sys.stdout is None:
        return "standard output is closed; send it to a terminal, a file or a pipe (for nothing: > /dev/null)"
    return None


class StdoutFault(OSError):
    """Writing standard output failed: raised by the stdout that guard_stdout() puts in place, so
    that a full disk there is told apart from one under any other file."""


class _Fd1(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        try:
            return os.write(1, data)
        except OSError as exc:
            raise StdoutFault(exc.errno, exc.strerror) from None

    def fileno(self) -> int:
        return 1

    def isatty(self) -> bool:
        return os.isatty(1)


def guard_stdout() -> None:
    """sys.stdout as before (encoding, errors, buffering), over a writer that raises StdoutFault.
    POSIX only: a Windows console's stdout is a stream of its own kind, kept as it is. Where fd 1
    fails without it (Windows), the OSError stays an internal error."""
    old = sys.stdout
    if os.name != "posix" or old is None or old is not sys.__stdout__:  # a test's capture stays as it is
        return
    old.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Fd1()), encoding=old.encoding, errors=old.errors,
                                  line_buffering=old.line_buffering)


def flush() -> None:
    """Write out what is buffered: a stdout that fails then fails inside the CLI's handler, not at
    the interpreter's exit."""
    if sys.stdout is not None:
        sys.stdout.flush()


def output_fault(exc: StdoutFault) -> tuple:
    """(exit code, error line or None) for a failed write to stdout; afterwards fd 1 is the null
    device, so that the interpreter's last flush of the unwritten bytes cannot fail again."""
    _silence()
    if exc.errno == errno.EPIPE:
        return CLOSED_PIPE, None
    why = os.strerror(exc.errno) if exc.errno else str(exc)
    full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    return 2, f"cannot write the output: {why}" + (" (the disk is full)" if full else "")


def pipe_closed_under_click() -> bool:
    """Whether click met the closed pipe first: it then wraps stdout to keep quiet and exits 1.
    If so, fd 1 becomes the null device, as after output_fault()."""
    if not type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
        return False
    _silence()
    return True


def _silence() -> None:
    """Point fd 1 at the null device, so that the interpreter's last flush of the unwritten bytes
    does not print "Exception ignored" and change the exit code."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:
        pass
