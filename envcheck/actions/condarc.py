"""~/.condarc around `mirror set --conda`: checked before anything changes, copied aside, and put
back byte for byte when a later step fails or `mirror unset` undoes the change.

conda writes the file itself (`conda config --set`), so envcheck keeps no YAML parser: conda is
asked to read its settings first (`conda config --show show_channel_urls`), and a file conda cannot
read stops the change before pip's index is touched.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from envcheck.errors import UserError, first_line
from envcheck.files import write_atomic


def condarc_path() -> Path:
    """The file plain `conda config --set` writes: the user's ~/.condarc."""
    return Path.home() / ".condarc"


def read_checked(path: Path | None = None) -> bytes | None:
    """The file's bytes (None when there is none), or one line saying why conda cannot use it."""
    path = path or condarc_path()
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise UserError(f"{path} is {kind}, so conda cannot read its settings from it: move it away and run again; nothing was changed")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}; fix its permissions and run again; nothing was changed") from exc


def check_conda_reads_it() -> None:
    """conda on PATH and able to read its own settings, or one line saying what to fix."""
    if shutil.which("conda") is None:
        raise UserError("conda is not on PATH: activate conda first, or leave out --conda")
    try:
        done = subprocess.run(["conda", "config", "--show", "show_channel_urls"], capture_output=True, text=True,
                              errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"could not run conda config --show: {exc}; nothing was changed") from exc
    if done.returncode != 0:
        said = first_line(done.stderr, first_line(done.stdout, "no output"))
        raise UserError(f"conda cannot read its settings ({said}): fix {condarc_path()} and run again; nothing was changed")


def backup(data: bytes, now: float | None = None) -> Path:
    """Copy the file's bytes to a new backup beside it, owner-only; never over an earlier backup
    (two changes in one second get -1, -2, ...)."""
    rc = condarc_path()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    dest = rc.with_name(f".condarc.envcheck-backup-{stamp}")
    n = 0
    while dest.exists() or dest.is_symlink():
        n += 1
        dest = rc.with_name(f".condarc.envcheck-backup-{stamp}-{n}")
    write_atomic(dest, data, mode=0o600)
    return dest


def digest(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def encode(data: bytes | None) -> str | None:
    """The bytes as record text (base64: a .condarc need not be UTF-8)."""
    return base64.b64encode(data).decode("ascii") if data is not None else None


def decode(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text is not None else None
