"""`envcheck gpus`: the GPUs at a glance, and with --pick the line that starts a job on the least
busy of them."""

import os
import shutil
import sys
import time
from typing import Annotated, Optional

import typer

from envcheck import gpu_pick, shell
from envcheck import gpus as service
from envcheck.cli.options import Format, FormatOpt, JsonOpt, QuietOpt, chosen_format
from envcheck.errors import UserError
from envcheck.gpu_pick import DEFAULT_COMMAND
from envcheck.numbers import seconds as check_seconds
from envcheck.probes import nvml
from envcheck.probes.processes import process_owners
from envcheck.render import gpus as render
from envcheck.render.console import out
from envcheck.render.output import emit

MIN_INTERVAL = 0.1


def gpus(
    pick: Annotated[Optional[str], typer.Option("--pick", help="How many GPUs to pick, the least busy (e.g. 3), or which (e.g. 0,2,3 by nvidia-smi index; 2, for GPU 2 alone): prints the CUDA_VISIBLE_DEVICES line to run.")] = None,
    cmd: Annotated[str, typer.Option("--cmd", help="The command --pick prints; {n} becomes the number of GPUs.")] = DEFAULT_COMMAND,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Redraw the view until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option("--interval", "-n", help="Seconds between redraws with --watch.")] = 2.0,
    quiet: QuietOpt = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """One line per GPU: load, memory, temperature, power, processes and their users, and the CUDA ordinal under CUDA_VISIBLE_DEVICES."""
    check_seconds(interval, "--interval", 3600)
    if interval < MIN_INTERVAL:
        raise UserError(f"--interval {interval:g}: choose at least {MIN_INTERVAL:g} seconds")
    f = chosen_format(fmt, as_json)
    if watch and pick is not None:
        raise UserError("--watch and --pick contradict each other: pick once, then watch")
    if watch and f is not Format.table:
        raise UserError(f"--watch redraws a screen and cannot be combined with --format {f.value}: leave out one")
    if cmd != DEFAULT_COMMAND and pick is None:
        raise UserError("--cmd is the command --pick prints: add --pick N")
    if pick is not None:
        gpu_pick.parse_pick(pick)  # a typo costs one line before NVML is asked anything
    width = _width()
    if watch:
        _watch(interval, width, quiet)
    report = _report()
    sh = shell.CMD if os.name == "nt" else shell.POSIX  # Windows: cmd.exe, as install-cmd's Windows lines
    chosen = gpu_pick.pick(report, pick, cmd, sh) if pick is not None else None
    code = gpu_pick.exit_code(report, chosen)
    emit("gpus", f, render.view(report, chosen, width, quiet), code)
    raise typer.Exit(code)


def _report(keep_open: bool = False):
    """The view, with one note for the processes whose owners this /proc cannot show."""
    driver = nvml.read_driver(keep_open=keep_open)
    owners = process_owners(driver)
    env = os.environ
    return service.build(driver, owners.users, env.get("CUDA_VISIBLE_DEVICES"), env.get("CUDA_DEVICE_ORDER"), owners.why)


def _width() -> int:
    """The terminal's width, or 80 where output is not a terminal (a pipe, a file, a test)."""
    isatty = getattr(sys.stdout, "isatty", lambda: False)
    return max(shutil.get_terminal_size((80, 24)).columns, 40) if isatty() else 80


def _watch(interval: float, width: int, quiet: bool) -> None:
    """Redraw until Ctrl-C, which is how a watch ends: exit 130 without a word or a traceback."""
    o = out()
    try:
        while True:
            report = _report(keep_open=True)  # one NVML session for every frame
            render.clear(o)
            render.watch_header(interval, o, width)
            render.text(report, o, width, None, quiet)
            o.file.flush()
            time.sleep(interval)
    except KeyboardInterrupt:
        o.file.flush()
        raise SystemExit(130) from None  # past typer and envcheck's own "interrupted" line
    finally:
        nvml.close()
