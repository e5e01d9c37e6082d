"""The child processes envcheck has running, so that Ctrl-C and SIGTERM stop every one of them.

The torch probe runs in a thread and in a session of its own (a hung import must be killable
with its whole group): the terminal's SIGINT reaches neither, so without this list a Ctrl-C left
the child importing torch after envcheck had exited.
"""

from __future__ import annotations

import os
import signal
import threading

_LIVE: dict = {}  # pid -> (Popen, whether it leads its own process group)
_LOCK = threading.Lock()
_STOPPED_BY: list = []  # the signal that asked envcheck to stop, if one did


class Stopped(BaseException):
    """SIGTERM arrived. Not a KeyboardInterrupt: one of those that escapes an import makes
    CPython end itself by SIGINT at exit, whatever code the CLI chose."""


def stop_on_sigterm() -> None:
    """SIGTERM (kill, a job scheduler, a container stopping) takes the path of Ctrl-C: the CLI
    stops every child's group, with what torch started, before it exits (POSIX only)."""
    if os.name == "posix":
        signal.signal(signal.SIGTERM, _stopped)


def _stopped(signum, frame):
    _STOPPED_BY.append(signum)
    raise Stopped


def stopped_by() -> int:
    """The signal that stopped envcheck: SIGTERM if one arrived, else SIGINT (Ctrl-C)."""
    return _STOPPED_BY[0] if _STOPPED_BY else signal.SIGINT


def started(proc, group: bool = False):
    """Register a child. One that a thread starts just as Ctrl-C arrives may miss stop_all(): the
    torch probe also asks the kernel to kill it when envcheck ends (torch_child._die_with_parent)."""
    with _LOCK:
        _LIVE[proc.pid] = (proc, group)
    return proc


def ended(proc) -> None:
    with _LOCK:
        _LIVE.pop(proc.pid, None)


def stop_all() -> None:
    """Kill every child still running (its whole group where it leads one) and reap it."""
    with _LOCK:
        live = list(_LIVE.values())
        _LIVE.clear()
    for proc, group in live:
        try:
            if group and os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except OSError:  # gone already
            pass
    for proc, _ in live:
        try:
            proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - a child that will not die must not keep envcheck alive
            pass
