"""Run a probe that may hang (a wedged driver blocks NVML calls forever) under a deadline."""

from __future__ import annotations

import threading
import time
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


def call_with_progress(fn: Callable[[Callable[[], None]], T], idle: float, total: float) -> T:
    """fn(tick) in a daemon thread, given `idle` seconds between two ticks and `total` in all.

    For a probe that answers in steps: NVML starts each GPU a process opens, 1-3 s apiece where
    persistence mode is off, so eight GPUs outlast a fixed 5 s deadline while every one of them
    answers; a wedged driver stops ticking and costs `idle`.
    """
    box: dict = {}
    ticks = [0]

    def tick() -> None:
        ticks[0] += 1

    def run():
        try:
            box["value"] = fn(tick)
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name="envcheck-probe", daemon=True)
    start = last = time.monotonic()
    seen = 0
    worker.start()
    while worker.is_alive():
        now = time.monotonic()
        if ticks[0] != seen:
            seen, last = ticks[0], now
        if now - last >= idle:
            raise ProbeTimeout(f"no answer within {idle:g} s")
        if now - start >= total:
            raise ProbeTimeout(f"no full answer within {total:g} s")
        worker.join(min(0.05, last + idle - now, start + total - now))
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
