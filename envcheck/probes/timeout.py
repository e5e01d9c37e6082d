"""Run a probe that may hang (a wedged driver blocks NVML calls forever) under a deadline."""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

T = TypeVar("T")


class ProbeTimeout(Exception):
    pass


def call_with_timeout(fn: Callable[[], T], seconds: float) -> T:
    """fn() in a daemon thread; a hang costs `seconds` and raises ProbeTimeout, never blocks exit."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="envcheck-probe", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise ProbeTimeout(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class Background:
    """Start a probe now, collect its answer later, so that slow probes overlap other work."""

    def __init__(self, fn: Callable[[], T]):
        self._box: dict = {}
        self._thread = threading.Thread(target=self._run, args=(fn,), name="envcheck-background", daemon=True)
        self._thread.start()

    def _run(self, fn):
        try:
            self._box["value"] = fn()
        except BaseException as exc:
            self._box["error"] = exc

    def result(self):
        self._thread.join()
        if "error" in self._box:
            raise self._box["error"]
        return self._box["value"]
