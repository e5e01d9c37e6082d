"""The `envcheck` program: starts doctor's torch probe first, then the CLI.

Importing typer, rich and the checks takes a few hundred milliseconds; importing torch in the
probe child takes seconds. Started first, the child's import overlaps the CLI's, and doctor's wall
time approaches `python -c "import torch"` in the target interpreter (docs/DESIGN.md,
"Performance targets"). Only the plain case starts early: doctor on this interpreter, or on a
`--python` given as a path; anything else (an option of doctor's SKIPS_PROBE, help) starts nothing.
This module and doctor_flags are all that run before the CLI stack is imported: keep them stdlib-only.
"""

from __future__ import annotations

import os
import signal
import sys

from envcheck.cli import doctor_flags, streams
from envcheck.probes import children

_HELP = frozenset({"-h", "--help"})


def early_target(args: list) -> str | None:
    """The interpreter whose probe to start now, or None when doctor will not run one."""
    no_probe = doctor_flags.SKIPS_PROBE | _HELP
    if not args or args[0] != "doctor" or any(a.split("=", 1)[0] in no_probe for a in args):
        return None
    python = doctor_flags.PYTHON
    for i, a in enumerate(args):
        if a == python:
            given = args[i + 1] if i + 1 < len(args) else ""
            return given if os.path.isabs(given) and os.path.isfile(given) else None
        if a.startswith(python + "="):
            given = a.split("=", 1)[1]
            return given if os.path.isabs(given) and os.path.isfile(given) else None
    return sys.executable


def main(argv: list | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    closed = streams.closed_stdout()
    if closed:  # before any child is started: a pipe opened now could take fd 1
        if sys.stderr is not None:
            from envcheck.render.console import (
                write,  # only on this rare path: the fast one imports no renderer
            )

            write(sys.stderr, f"envcheck: error: {closed}\n")
        sys.exit(2)
    streams.guard_stdout()
    children.stop_on_sigterm()
    target = early_target(args)
    early = None
    try:
        if target is not None:  # doctor's alone: the other commands' start-up pays nothing for it
            from envcheck.probes import torch_spawn as early

            early.start_early(target)
        _run_cli(args)
    except (KeyboardInterrupt, children.Stopped):  # before the CLI's own handler is in place: same line, same code
        if early is not None:
            early.discard_early()
        _exit_interrupted(interrupted(), argv)
    except SystemExit as exc:
        if exc.code in (128 + signal.SIGINT, 128 + signal.SIGTERM):
            if early is not None:
                early.discard_early()
            _exit_interrupted(exc.code, argv)
        raise
    finally:
        if early is not None:
            early.discard_early()


def _exit_interrupted(code: int, argv: list | None) -> None:
    """End after Ctrl-C or SIGTERM with `code` (130 or 143). As the program itself (argv None), by
    os._exit: a Ctrl-C that lands while an import runs code compiled from a string (dataclasses'
    and namedtuple's generated methods) could make CPython end itself by SIGINT at exit whatever
    code was chosen (seen on Python 3.9: 3 runs in 40 of tests/test_torch_probe.py's Ctrl-C test
    exited -2; none in 40 since). The children are stopped and the line written by then. Called
    with argv (the tests, in-process): SystemExit, as before."""
    if argv is None:
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: nothing more to say on it
                pass
        os._exit(code)
    sys.exit(code)


def interrupted() -> int:
    """After Ctrl-C or SIGTERM, once the children are stopped: one line, and the shell's code for
    that signal (130 or 143)."""
    from envcheck.render.console import write  # only now: the fast path imports no renderer

    signum = children.stopped_by()
    write(sys.stderr, "envcheck: interrupted (Ctrl-C)\n" if signum == signal.SIGINT else "envcheck: stopped (SIGTERM)\n")
    return 128 + signum


def _run_cli(args: list) -> None:
    # imported only now, after the early start: the child's import of torch overlaps this one
    from envcheck.cli.app import main as run

    run(args)
