"""pip's configuration as pip itself reads it: which files, in which order, which one `pip config
set` writes, and the index `pip install` would use (credentials redacted).

pip's files are read here directly rather than through `python -m pip config list`, which costs
0.5–0.9 s of pip start-up: most of `doctor --no-torch`'s 0.5 s budget. The rules are pip's own
(pip/_internal/configuration.py, 23.x): the files of each kind load in order, later ones winning
per `section.key`, and the kinds override as global < user < site < PIP_CONFIG_FILE < PIP_*
environment variables. The user files are skipped when PIP_CONFIG_FILE names an existing file, and
PIP_CONFIG_FILE=os.devnull means no file at all. `pip install` takes [global], then [install] over
it. Each file is read as RawConfigParser in the locale's encoding, as pip does: a file pip cannot
read (a UTF-8 byte order mark, a line before the first [section]) stops every pip command, and is
reported here. tests/test_mirror.py checks the result against pip's own.

Command line equivalent: `python -m pip config list` and `python -m pip config debug`.
"""

from __future__ import annotations

import configparser
import locale
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from envcheck.errors import first_line
from envcheck.redact import redact_url

_KEYS = ("index-url", "extra-index-url", "find-links")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class PipIndex:
    index_url: str | None  # None: pip's default index
    extra_index_urls: tuple
    find_links: tuple
    origin: dict  # key -> the file (or "environment") it came from
    problems: tuple = ()  # one line per config file pip cannot read (pip stops on each)


class EditTarget(NamedTuple):
    """The file `pip config set` writes, and the option that names it (--user or --site); or why
    `pip config set` cannot write any (`refused`)."""

    scope: str
    path: Path | None
    refused: str = ""


def _name(platform: str) -> str:
    return "pip.ini" if platform == "win32" else "pip.conf"


def _home(env) -> Path:
    return Path(env.get("HOME") or Path.home())


def _global_files(env, platform: str) -> list[Path]:
    name = _name(platform)
    if platform == "win32":
        return [Path(env.get("PROGRAMDATA", "C:\\ProgramData"), "pip", name)]
    if platform == "darwin":
        return [Path("/Library/Application Support/pip") / name]
    xdg_dirs = (env.get("XDG_CONFIG_DIRS") or "").strip() or "/etc/xdg"  # platformdirs: in the order given
    return [Path(d, "pip", name) for d in xdg_dirs.split(os.pathsep)] + [Path("/etc") / name]


def _user_files(env, platform: str) -> list[Path]:
    """The legacy file, then the current one (which `pip config --user set` writes)."""
    name, home = _name(platform), _home(env)
    if platform == "win32":
        return [home / "pip" / name, Path(env.get("APPDATA", home), "pip", name)]
    if platform == "darwin":
        app = home / "Library/Application Support/pip"
        return [home / ".pip" / name, app / name if app.is_dir() else home / ".config/pip" / name]
    config_home = (env.get("XDG_CONFIG_HOME") or "").strip() or str(home / ".config")
    return [home / ".pip" / name, Path(config_home, "pip", name)]


def config_files(prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> list[Path]:
    """pip's configuration files in override order (a later one wins)."""
    explicit = env.get("PIP_CONFIG_FILE")
    if explicit == os.devnull:
        return []
    files = _global_files(env, platform)
    if not (explicit and os.path.exists(explicit)):
        files += _user_files(env, platform)
    files.append(Path(prefix) / _name(platform))
    if explicit:
        files.append(Path(explicit))
    return files


def edit_target(prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> EditTarget:
    """The file plain `pip config set` writes: the environment's own (site) file when it exists,
    else the user's current file; none while PIP_CONFIG_FILE names a file or os.devnull (pip then
    fails with "Fatal Internal error", having loaded no user file to edit)."""
    site = Path(prefix) / _name(platform)
    explicit = env.get("PIP_CONFIG_FILE")
    if explicit == os.devnull:
        return EditTarget("", None, "PIP_CONFIG_FILE is os.devnull, so pip reads and writes no configuration file: unset PIP_CONFIG_FILE first")
    if site.exists():
        return EditTarget("site", site)
    if explicit and os.path.exists(explicit):
        return EditTarget("", None, f"PIP_CONFIG_FILE names {explicit}, and `pip config set` cannot write while it does: "
                                    f"set index-url under [global] in that file yourself, or unset PIP_CONFIG_FILE")
    return EditTarget("user", _user_files(env, platform)[-1])


def read_file(path: Path) -> tuple[dict, str]:
    """({"section.key": value}, "") for one file pip would read, or ({}, the one-line problem) when
    pip cannot read it. A file that cannot be opened (missing, a directory) is passed over, as pip's
    configparser does."""
    try:
        raw = path.read_bytes()
    except OSError:
        return {}, ""
    if raw.startswith(BOM):
        return {}, (f"{path} starts with a UTF-8 byte order mark (BOM), so every pip command stops with "
                    f"\"Configuration file could not be loaded\": save it as UTF-8 without BOM")
    encoding = locale.getpreferredencoding(False)
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(raw.decode(encoding), str(path))
    except UnicodeDecodeError:
        return {}, f"{path} holds characters that are not {encoding}, so every pip command stops: save it as {encoding}"
    except configparser.Error as exc:
        return {}, f"{path} is not a config file pip can read ({first_line(str(exc))}), so every pip command stops: fix or remove that line"
    return {f"{s}.{k.replace('_', '-')}": v for s in parser.sections() for k, v in parser.items(s)}, ""


def file_value(path: Path, key: str = "global.index-url") -> str | None:
    """One setting of one file, e.g. the index-url that `pip config set` will replace in it."""
    value = read_file(path)[0].get(key, "").strip()
    return value or None


def _merged(prefix: str, env, platform: str) -> tuple[dict, tuple]:
    """{"section.key": (value, file)} over all files, later files winning; and the problems."""
    merged: dict = {}
    problems = []
    for path in config_files(prefix, env, platform):
        values, problem = read_file(path)
        if problem:
            problems.append(problem)
        merged.update({k: (v, str(path)) for k, v in values.items()})
    return merged, tuple(problems)


def _install_settings(merged: dict, env):
    """(key, value, origin) as `pip install` applies them, a later one winning: [global], then
    [install], then PIP_* environment variables."""
    for section in ("global", "install"):
        for name, (value, path) in merged.items():
            if name.startswith(section + "."):
                yield name.split(".", 1)[1], value, path
    for name, value in env.items():
        if name.startswith("PIP_") and value:
            yield name[4:].lower().replace("_", "-"), value, "environment"


def read_pip_index(prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> PipIndex:
    values: dict = {}
    origin: dict = {}
    merged, problems = _merged(prefix, env, platform)
    for key, value, path in _install_settings(merged, env):
        if key in _KEYS:
            values[key], origin[key] = value, path
    split = lambda v: tuple(redact_url(x) for x in v.split()) if v else ()  # noqa: E731
    index = values.get("index-url", "").strip()
    return PipIndex(redact_url(index) if index else None, split(values.get("extra-index-url", "")), split(values.get("find-links", "")),
                    origin, problems)


def problems(prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> tuple:
    """One line per configuration file pip cannot read; pip stops on the first."""
    return _merged(prefix, env, platform)[1]


def read_pip_value(key: str, prefix: str = sys.prefix, env=os.environ, platform: str = sys.platform) -> str | None:
    """One setting of pip's configuration files ([install] over [global], later files winning),
    e.g. `proxy` for envcheck's own reads of a wheel index. Not redacted: it is used, not shown."""
    found = None
    for k, value, origin in _install_settings(_merged(prefix, env, platform)[0], env):
        if k == key and value.strip() and origin != "environment":
            found = value.strip()
    return found
