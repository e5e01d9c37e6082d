"""Reading a file the user names and writing every file envcheck writes.

Reading (a report, a model) has a size limit: every way it can fail is one line naming the file,
never a traceback, and a file far larger than any real one is refused before it fills memory.
Writing goes through one atomic writer, so that a failure never leaves half a file where a whole
one was, and a name planted in a shared directory is never followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from envcheck.errors import UserError


def read_limited(path: str, limit: int, label: str, too_big: str) -> bytes:
    """The file's bytes; `label` starts each error line ("--model x.onnx"), `too_big` ends the one
    for a file over `limit` bytes (why that is a mistake, and what to do)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{label}: no such file")
    if not p.is_file():
        raise UserError(f"{label}: not a file (a directory or a device)")
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise UserError(f"{label}: {exc.strerror}") from exc
    if len(data) > limit:
        raise UserError(f"{label}: {too_big}")
    return data


def write_atomic(path: Path | str, data: bytes | str, mode: int | None = None) -> None:
    """Replace `path` with `data` whole, or leave it as it was; raises OSError.

    The bytes go to a new file of an unpredictable name in the same directory (mkstemp: created
    exclusively, never through a symlink), are flushed to disk, then renamed over `path` (atomic on
    one file system). On any failure the temporary file is removed and `path` is untouched.
    `mode` None keeps the mode of the file replaced (a new file gets what open() would give it);
    0o600 for files that may hold credentials.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    import tempfile  # here: it pulls in `random`, and install-cmd writes only when its table cache is stale

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def private_dir(path: Path) -> Path:
    """Make `path` (and its parents) a directory; envcheck's own last part is its owner's only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _mode_for(path: Path) -> int:
    """The permission bits a plain open(path, "w") would leave: the old file's, else 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def read_or_none(path: Path) -> bytes | None:
    """A file's bytes as they are now, None when there is none: what put_back() restores."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def put_back(path: Path, data: bytes | None) -> None:
    """Make `path` hold `data` again (None: no file), whole; raises OSError."""
    if data is None:
        Path(path).unlink(missing_ok=True)
    elif read_or_none(path) != data:
        write_atomic(path, data)
