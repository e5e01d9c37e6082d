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
