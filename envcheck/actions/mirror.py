"""Point pip (and conda) at a mirror, only through their own config commands.

pip is configured with `pip config set/unset` (pip picks the file and the format); conda with
`conda config`, after ~/.condarc is copied to a timestamped backup.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from envcheck.compat import Mirror
from envcheck.errors import UserError
from envcheck.install import conda_mirror_argv


@dataclass(frozen=True)
class Change:
    argv: tuple
    done: bool  # False for --dry-run
    detail: str = ""


def pip_set_argv(mirror: Mirror, python: str = sys.executable) -> list[tuple]:
    return [(python, "-m", "pip", "config", "set", "global.index-url", mirror.pypi)]


def pip_unset_argv(python: str = sys.executable) -> list[tuple]:
    return [(python, "-m", "pip", "config", "unset", "global.index-url")]


def condarc_path() -> Path:
    return Path.home() / ".condarc"


def backup_condarc(now: float | None = None) -> Path | None:
    rc = condarc_path()
    if not rc.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    dest = rc.with_name(f".condarc.envcheck-backup-{stamp}")
    shutil.copy2(rc, dest)
    return dest


def conda_set_argv(mirror: Mirror) -> list[tuple]:
    if not mirror.conda:
        raise UserError(f"mirror {mirror.name} has no conda mirror: choose one of those that do (envcheck mirror list)")
    return [tuple(a) for a in conda_mirror_argv(mirror)]


def conda_unset_argv() -> list[tuple]:
    return [("conda", "config", "--remove-key", "custom_channels")]


def apply(commands: list[tuple], dry_run: bool, conda: bool = False) -> list[Change]:
    """Run each command (unless dry_run); stop at the first failure with one clear line."""
    changes = []
    if conda and not dry_run:
        if shutil.which("conda") is None:
            raise UserError("conda is not on PATH: activate conda first, or leave out --conda")
        backup = backup_condarc()
        if backup:
            changes.append(Change(("cp", str(condarc_path()), str(backup)), True, "backup"))
    for argv in commands:
        if dry_run:
            changes.append(Change(argv, False))
            continue
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, errors="replace", timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UserError(f"could not run {' '.join(argv[:4])}: {exc}") from exc
        if done.returncode != 0 and "No such key" in done.stderr + done.stdout:
            changes.append(Change(argv, False, "already unset"))
            continue
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"`{' '.join(argv)}` failed: {tail}")
        changes.append(Change(argv, True, done.stdout.strip()))
    return changes
