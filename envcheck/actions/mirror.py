"""Point pip (and conda) at a mirror, only through their own config commands.

pip is configured with `pip config set/unset` (pip picks the file and the format); conda with
`conda config`, after ~/.condarc is copied to a timestamped backup.
"""

from __future__ import annotations

import json
import os
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


def pip_current(python: str = sys.executable) -> str | None:
    """global.index-url as pip's own configuration gives it now, or None when none is set.
    Command line equivalent: `pip config get global.index-url`."""
    try:
        done = subprocess.run([python, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True,
                              errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def state_path() -> Path:
    """Where `mirror set` remembers the index it replaced, so that `mirror unset` can put it back."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "envcheck" / "mirror.json"


def remember(previous: str | None, set_to: str) -> None:
    """Record the index-url a `mirror set` replaces. A second `set` keeps the first one's record:
    what `unset` restores is what the user had before envcheck changed anything. The file may hold
    credentials from that URL, as pip.conf did: it is readable by its owner only."""
    path = state_path()
    state = recall()
    if state is not None and state.get("set_to") and previous == state.get("set_to"):
        previous = state.get("previous")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"previous": previous, "set_to": set_to}, fh)


def recall() -> dict | None:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def forget() -> None:
    try:
        state_path().unlink()
    except OSError:
        pass


def pip_restore_argv(python: str = sys.executable) -> tuple[list[tuple], str | None]:
    """The commands `mirror unset` runs: back to the index-url `mirror set` replaced (kept by
    remember()), or pip's default index when there was none; and that previous value."""
    state = recall()
    previous = state.get("previous") if state else None
    if isinstance(previous, str) and previous:
        return [(python, "-m", "pip", "config", "set", "global.index-url", previous)], previous
    return pip_unset_argv(python), None


def condarc_path() -> Path:
    return Path.home() / ".condarc"


def backup_condarc(now: float | None = None) -> Path | None:
    """Copy ~/.condarc to a new backup file; never over an earlier backup (two changes in one
    second get -1, -2, ...)."""
    rc = condarc_path()
    if not rc.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    dest = rc.with_name(f".condarc.envcheck-backup-{stamp}")
    n = 0
    while dest.exists():
        n += 1
        dest = rc.with_name(f".condarc.envcheck-backup-{stamp}-{n}")
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
