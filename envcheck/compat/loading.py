"""Reading the compat/ TOML files, with a parsed copy in the cache directory to make it cheap."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

from envcheck.compat.paths import cache_dir
from envcheck.errors import DataError
from envcheck.files import write_atomic

# The list of rows each table has; a cached copy without it is not used.
ROWS = {"torch.toml": "release", "cuda.toml": "toolkit", "wheel_archs.toml": "wheel_arch", "gpus.toml": "gpu",
        "mirrors.toml": "mirror", "error_signatures.toml": "signature"}


def data_dir() -> Path:
    """compat/ inside an installed wheel (envcheck/compat_data), else the repository's top-level compat/."""
    package = Path(__file__).resolve().parent.parent  # envcheck/
    for candidate in (package / "compat_data", package.parent / "compat"):
        if (candidate / "mirrors.toml").is_file():
            return candidate
    raise DataError(f"compat tables not found next to {package}")


def load(name: str, directory: Path | None = None) -> dict:
    """One table file as parsed TOML: from its cached JSON copy when that is current and sound."""
    path = (directory or data_dir()) / name
    cache = _cache_path(path)
    if cache is not None:
        data = _cached(cache, name)
        if data is not None:
            return data
    data = _parse(path)
    if cache is not None:
        _keep(cache, path, data)
    return data


def _parse(path: Path) -> dict:
    """The TOML itself; tomllib is imported only when the JSON copy cannot be used."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"{path}: {exc}") from exc


def _cache_path(path: Path) -> Path | None:
    """A JSON copy of a parsed table, keyed by the TOML file's size and mtime.

    tomllib is pure Python and parsing torch.toml costs ~25 ms on every run, a fifth of the
    start-up budget of install-cmd; JSON loads in C. The cache is an optimisation only: any
    failure to read or write it falls back to the TOML file itself.
    """
    base = cache_dir()
    if base is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    where = zlib.crc32(str(path).encode())
    return base / f"{path.stem}-{where:08x}-{st.st_size}-{st.st_mtime_ns}.json"


def _cached(cache: Path, name: str) -> dict | None:
    """The cached copy when it reads back as the table it stands for; a corrupt or foreign file
    (truncated, emptied, edited) is ignored, and rewritten from the TOML below."""
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    rows = data.get(ROWS.get(name, "")) if isinstance(data, dict) else None
    if name in ROWS and not (isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows)):
        return None
    return data


def _keep(cache: Path, path: Path, data: dict) -> None:
    """Write the JSON copy atomically and drop older copies of the same file."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, json.dumps(data))
        for old in cache.parent.glob(f"{path.stem}-{cache.name.split('-')[1]}-*.json"):
            if old != cache:
                old.unlink(missing_ok=True)
    except (OSError, TypeError, ValueError):  # TypeError: a TOML date JSON cannot hold
        pass
