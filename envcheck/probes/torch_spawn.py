"""Starting and stopping doctor's torch probe child: the part the entry point needs before anything
else is imported, so it imports only the standard library (a few milliseconds, against the ~25 ms
of the probe's reader with its dataclasses). envcheck/probes/torch_probe.py reads the answer."""

from __future__ import annotations

import os
import subprocess
import time

from envcheck.probes import child_output

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_child.py")

# Children started before the CLI was imported: interpreter path -> (process, when it started).
_EARLY: dict = {}


# The two children of one probe: torch (with the package versions), and ONNX Runtime beside it.
TORCH, ONNXRUNTIME = ("--no-onnxruntime",), ("--onnxruntime-only",)


def spawn(executable: str, env: dict, mode: tuple = TORCH) -> subprocess.Popen:
    """A child in a group of its own (one kill reaches whatever torch starts), registered so that
    Ctrl-C and SIGTERM stop it; it dies with envcheck (torch_child reads ENVCHECK_PROBE_PARENT)."""
    return child_output.start([executable, CHILD, *mode], {**env, "ENVCHECK_PROBE_PARENT": str(os.getpid())})


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
    """Kill a child with its group, reap it and forget it."""
    child_output.read(proc, 0)
