"""Errors a user can cause: the CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A bad request (malformed or impossible); its message is the whole story for the user."""


class DataError(Exception):
    """A compat table that breaks its own schema: a bug in envcheck's data, not the user's."""


def first_line(text: str | None, empty: str = "") -> str:
    """The first line of a message (`empty` when there is none): tracebacks, C++ frames and
    compiler output run to many lines, and the first says what happened."""
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else empty


def describe(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    return f"{type(exc).__name__}: {first_line(str(exc))}"
