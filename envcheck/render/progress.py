"""Live progress on stderr: the one display that doctor, bench and onnx share.

Shown only where a person watches: stderr is a terminal, NO_COLOR is unset (render.console.live),
and the command was not asked for --json. Elsewhere every method does nothing, so services report
progress the same way in both cases and logs stay clean. The display is transient: it is gone when
the work ends, and the report on stdout starts on a clean screen. Services hand progress over as
data through callbacks (collect.take_snapshot's on_wait, bench.runner's on_progress); this module
turns that data into rows and draws them.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

from envcheck.render.console import clean_text, fit, live, rich_console


@dataclass
class _Row:
    text: str
    total: int | None = None  # steps; None: a status line without a bar
    done: int = 0
    per_step: float | None = None  # planned seconds per step: the time left is estimated from the plan
    step_started: float | None = None  # when the step now running began
    started: float = 0.0


class Display:
    """Rows of live progress on stderr. `delay`: seconds before anything is drawn, so that work
    which ends quickly shows nothing at all (doctor without a slow probe)."""

    def __init__(self, enabled: bool, delay: float = 0.0):
        self.enabled = enabled
        self._delay = delay
        self._rows: dict = {}
        self._lock = threading.Lock()  # the rows, read by rich's refresh thread
        self._state = threading.Lock()  # starting and stopping (never held while drawing)
        self._live = None
        self._timer = None

    def __enter__(self) -> Display:
        if self.enabled:
            self._timer = threading.Timer(self._delay, self._start)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._state:
            self.enabled = False
            if self._live is not None:
                self._live.stop()
                self._live = None

    def _start(self) -> None:
        # only once a run outlasts the delay on a terminal: most runs never draw and never import rich
        from rich.live import Live

        with self._state:
            if not self.enabled:
                return
            console = rich_console(sys.stderr, highlight=False)
            self._live = Live(get_renderable=self._render, console=console, transient=True, refresh_per_second=8,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()

    def add(self, key, text: str, total: int | None = None, per_step: float | None = None) -> None:
        with self._lock:
            self._rows[key] = _Row(text, total, per_step=per_step, started=time.monotonic())

    def update(self, key, text: str | None = None, done: int | None = None, running: bool | None = None) -> None:
        """running=True: a step began now; False: no step is running (a step's end also sets done)."""
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                return
            if text is not None:
                row.text = text
            if done is not None:
                row.done = done
            if running is not None:
                row.step_started = time.monotonic() if running else None

    def remove(self, key) -> None:
        with self._lock:
            self._rows.pop(key, None)

    def _render(self):
        # rich is imported by _start, which runs before any frame is drawn
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        grid.add_column(width=20)
        grid.add_column(no_wrap=True, justify="right")
        grid.add_column(no_wrap=True, justify="right")
        with self._lock:
            rows = list(self._rows.values())
        for row in rows:
            bar = ProgressBar(total=row.total, completed=row.done, width=20) if row.total else ""
            count = f"{row.done}/{row.total}" if row.total else ""
            grid.add_row(Text(fit(clean_text(row.text), sys.stderr)), bar, count, time_note(row, now))
        return grid


def time_note(row: _Row, now: float) -> str:
    """The time left where the plan says how long each step takes (bench), else the time spent."""
    if row.total and row.per_step:
        running = now - row.step_started if row.step_started is not None else 0.0
        left = max(0.0, (row.total - row.done) * row.per_step - running)
        return "done" if row.done >= row.total else f"~{left:.0f} s left"
    return f"{now - row.started:.1f} s"


def display(json_output: bool = False, delay: float = 0.0) -> Display:
    """The display for this run: live on a terminal, silent on a pipe, with NO_COLOR, or for --json."""
    return Display(live(sys.stderr) and not json_output, delay)


def waiting(shown: Display):
    """doctor: take_snapshot's on_wait callback, as one status line naming what is still running."""
    shown.add("wait", "waiting for: …")

    def on_wait(names: tuple) -> None:
        if names:
            shown.update("wait", text="waiting for: " + ", ".join(names))
        else:
            shown.remove("wait")

    return on_wait


def bench_events(shown: Display):
    """bench: runner's on_progress callback, one bar per device and suite with the time left."""

    def on_progress(label: str, event: dict) -> None:
        if "plan" in event:
            for suite, steps in event["plan"].items():
                shown.add((label, suite), f"{label} {suite}", total=steps, per_step=event["seconds"])
        elif event.get("state") == "start":
            shown.update((label, event["suite"]), text=f"{label} {event['suite']} {event['step']}", running=True)
        elif event.get("state") == "done":
            shown.update((label, event["suite"]), text=f"{label} {event['suite']}", done=event["done"], running=False)

    return on_progress


def step_events(shown: Display):
    """onnx: the service's on_progress(done, total, text) for steps run one after another, as one
    bar with the step running."""

    def on_step(done: int, total: int, text: str) -> None:
        if done == 0:
            shown.add("steps", text, total=total)
        shown.update("steps", text=text, done=done)

    return on_step
