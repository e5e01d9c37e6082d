"""`envcheck doctor`: snapshot this machine (or read a saved one), check it, report with fixes."""

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from envcheck import shell
from envcheck.checks import run_all
from envcheck.checks.findings import exit_code
from envcheck.checks.memory import healthy_stack
from envcheck.cli import doctor_flags
from envcheck.cli.options import Format, FormatOpt, JsonOpt, OfflineOpt, chosen_format, stay_offline
from envcheck.cli.read import read_snapshot
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.files import write_atomic
from envcheck.numbers import seconds as check_seconds
from envcheck.probes.collect import take_snapshot
from envcheck.probes.python_env import find_interpreter, interpreter_prefix
from envcheck.probes.stack_memory import read_remembered, remember
from envcheck.render import doctor as render
from envcheck.render import progress
from envcheck.render.console import write
from envcheck.render.output import emit
from envcheck.snapshot.json_io import dump


def doctor(
    ctx: typer.Context,
    from_: Annotated[Optional[str], typer.Option(doctor_flags.FROM, help="Diagnose a saved or pasted text instead of this machine: envcheck JSON, collect_env, nvidia-smi output, error messages and tracebacks; - for stdin.")] = None,
    python: Annotated[Optional[str], typer.Option(doctor_flags.PYTHON, help="Inspect this interpreter: a path, a command on PATH (python3.10) or an environment's directory (default: the one running envcheck).")] = None,
    no_torch: Annotated[bool, typer.Option(doctor_flags.NO_TORCH, help="Skip the PyTorch probe (no child process).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the PyTorch probe may take.")] = 60.0,
    save: Annotated[Optional[Path], typer.Option("--save", help="Also write the snapshot to this JSON file.")] = None,
    pip_check: Annotated[bool, typer.Option("--pip-check", help="Also run `pip check` in the target interpreter (slow).")] = False,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="Keep GPU UUIDs and the host name in markdown output.")] = False,
    offline: OfflineOpt = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Diagnose this machine's (or a saved report's) GPU / CUDA / PyTorch stack and print the fix for each problem."""
    check_seconds(timeout, "--timeout")
    if offline:  # doctor reads no index today; --offline keeps it so if one is ever added
        stay_offline(ctx)
    target = sys.executable if python is None else find_interpreter(python)
    t = tables()
    f = chosen_format(fmt, as_json)
    if from_ is not None:
        snapshot = read_snapshot(from_, t)
    else:
        with progress.display(json_output=f is Format.json, delay=0.5) as shown:
            snapshot = take_snapshot(t, python=target, torch=not no_torch, torch_timeout=timeout, pip_check=pip_check,
                                     on_wait=progress.waiting(shown))
    # --python names the environment the fixes install into: the one inspected, or with --from the
    # one the paste came from
    other = python is not None and os.path.abspath(target) != os.path.abspath(sys.executable)
    prefix = interpreter_prefix(target) if from_ is None and not no_torch else None  # a report is no environment
    findings = run_all(snapshot, t, target if other else None, read_remembered(prefix) if prefix else None)
    healthy = healthy_stack(snapshot, findings) if prefix else None
    if healthy is not None:
        remember(prefix, healthy)
    if save is not None:
        try:  # whole or not at all: a failed write leaves an earlier report as it was
            write_atomic(save, json.dumps(dump(snapshot), indent=2, allow_nan=False) + "\n")
        except OSError as exc:
            raise UserError(f"--save {save}: {exc.strerror or exc}; nothing was written") from exc
        again = shell.line(["envcheck", "doctor", "--from", str(save)], shell.CMD if os.name == "nt" else shell.POSIX)
        write(sys.stderr, f"envcheck: saved the snapshot to {save}; read it back with: {again}\n")
    emit("doctor", f, render.view(snapshot, findings, redact=not no_redact), exit_code(findings))
    raise typer.Exit(exit_code(findings))
