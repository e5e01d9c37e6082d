"""Starting and stopping doctor's torch probe child: the part the entry point needs before anything
else is imported, so it imports only the standard library (a few milliseconds, against the ~25 ms
of the probe's reader with its dataclasses). envcheck/probes/torch_probe.py reads the answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from envcheck.probes import children

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_child.py")

# Children started before the CLI was imported: interpreter path -> (process, when it started).
_EARLY: dict = {}


# The two children of one probe: torch (with the package versions), and ONNX Runtime beside it.
TORCH, ONNXRUNTIME = ("--no-onnxruntime",), ("--onnxruntime-only",)


def spawn(executable: str, env: dict, mode: tuple = TORCH) -> subprocess.Popen:
    """A child in a session of its own (one killpg reaches whatever torch starts), registered so
    that Ctrl-C stops it; it dies with envcheck (torch_child reads ENVCHECK_PROBE_PARENT)."""
    posix = os.name == "posix"
    proc = subprocess.Popen(
        [executable, CHILD, *mode],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env, "ENVCHECK_PROBE_PARENT": str(os.getpid())},
        start_new_session=posix,
    )
    children.started(proc, group=posix)  # Ctrl-C reaches the main thread, not the probe's thread
    return proc


def start_early(executable: str) -> None:
    """Start the probe of `executable` now, before envcheck imports typer, rich and its checks:
    doctor's wall time then approaches a bare `import torch` in the target interpreter. A failure
    here is silent: the normal path runs the probe again and reports it properly."""
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        return
    try:  # onnxruntime's child starts with the probe, once envcheck's own imports are done: three
        # processes importing at once on two cores slowed the torch import more than it saved
        _EARLY[os.path.abspath(executable)] = (spawn(executable, os.environ.copy(), TORCH), time.monotonic())
    except OSError:
        pass


def take_early(executable: str):
    """(torch child, start time) started early for `executable`, or None; taken once."""
    return _EARLY.pop(os.path.abspath(executable), None)


def discard_early() -> None:
    """Stop a child started early that nothing waited for (the command failed before the probe)."""
    while _EARLY:
        stop(_EARLY.popitem()[1][0])


def stop(proc: subprocess.Popen) -> None:
    """Kill a child, reap it and forget it."""
    kill(proc)
    drain(proc)
    children.ended(proc)


def kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:  # already gone
        pass


def drain(proc: subprocess.Popen) -> tuple:
    """Reap the killed child; a grandchild outside its group holding a pipe cannot hang us."""
    try:
        return proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait(timeout=5)
        return b"", b""
