"""The index `pip install` would use, read from pip's own configuration files, credentials redacted.

pip's files are read here directly (INI, in pip's documented order) rather than through
`python -m pip config list`, which costs 0.5–0.9 s of pip start-up: most of `doctor --no-torch`'s
0.5 s budget. Order, per pip's "Configuration" docs: PIP_CONFIG_FILE (os.devnull: no files at all),
then global, user (legacy before current), site (the environment's prefix); each file overrides the
ones before it; PIP_* environment variables override every file; an [install] section overrides
[global] for `pip install`. tests/test_mirror.py checks the result against pip's own.

Command line equivalent: `python -m pip config list`.
"""

from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from envcheck.redact import redact_url

_KEYS = ("index-url", "extra-index-url", "find-links")


@dataclass(frozen=True)
class PipIndex:
    index_url: str | None  # None: pip's default index
    extra_index_urls: tuple
    find_links: tuple
    origin: dict  # key -> the file (or "environment") it came from


def config_files(prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> list[Path]:
    """pip's configuration files in load order (later ones win)."""
    explicit = env.get("PIP_CONFIG_FILE")
    if explicit == os.devnull:
        return []
    name = "pip.ini" if platform == "win32" else "pip.conf"
    home = Path(env.get("HOME") or Path.home())
    files: list[Path] = [Path(explicit)] if explicit else []
    if platform == "win32":
        files.append(Path(env.get("PROGRAMDATA", "C:\\ProgramData"), "pip", name))
        files.append(home / "pip" / name)
        files.append(Path(env.get("APPDATA", home), "pip", name))
    elif platform == "darwin":
        files.append(Path("/Library/Application Support/pip") / name)
        files.append(home / ".pip" / name)
        app = home / "Library/Application Support/pip"
        files.append(app / name if app.is_dir() else home / ".config/pip" / name)
    else:
        xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        files += [Path(d, "pip", name) for d in reversed(xdg_dirs.split(os.pathsep)) if d]
        files.append(Path("/etc") / name)
        files.append(home / ".pip" / name)
        files.append(Path(env.get("XDG_CONFIG_HOME") or home / ".config", "pip", name))
    files.append(Path(prefix) / name)
    return files


def _settings(prefix: str, env, platform: str):
    """(key, value, file) for every setting of pip's config files in the order pip reads them,
    [global] before [install] within a file: a later one wins. A broken file is passed over (pip
    itself would stop on it; a report shows what could be read)."""
    for path in config_files(prefix, env, platform):
        parser = configparser.RawConfigParser()
        try:
            if not parser.read(path, encoding="utf-8"):
                continue
        except (configparser.Error, UnicodeDecodeError, OSError):
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    yield key.replace("_", "-"), value, str(path)


def read_pip_index(prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> PipIndex:
    values: dict = {}
    origin: dict = {}
    for key, value, path in _settings(prefix, env, platform):
        if key in _KEYS:
            values[key], origin[key] = value, path
    for key in _KEYS:
        var = "PIP_" + key.upper().replace("-", "_")
        if env.get(var):
            values[key], origin[key] = env[var], "environment"
    split = lambda v: tuple(redact_url(x) for x in v.split()) if v else ()  # noqa: E731
    index = values.get("index-url", "").strip()
    return PipIndex(redact_url(index) if index else None, split(values.get("extra-index-url", "")), split(values.get("find-links", "")), origin)


def read_pip_value(key: str, prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> str | None:
    """One setting of pip's configuration files ([install] over [global], later files winning),
    e.g. `proxy` for envcheck's own reads of a wheel index. Not redacted: it is used, not shown."""
    found = None
    for k, value, _ in _settings(prefix, env, platform):
        if k == key and value.strip():
            found = value.strip()
    return found
