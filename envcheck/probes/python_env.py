"""The target interpreter: its version, executable, virtual or conda environment, and pip index.

For another interpreter (`--python PATH`) the facts come from a one-line stdlib script run by it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache

from envcheck.errors import UserError
from envcheck.probes.host import free_threaded
from envcheck.probes.pip_config import read_pip_index
from envcheck.snapshot.model import PythonEnv, Unavailable

_SCRIPT = (
    "import json, os, sys; print(json.dumps({'version': '%d.%d.%d' % sys.version_info[:3], "
    "'executable': sys.executable, 'prefix': sys.prefix, 'base_prefix': getattr(sys, 'base_prefix', sys.prefix), "
    "'conda_env': os.environ.get('CONDA_DEFAULT_ENV'), "
    "'free_threaded': bool(__import__('sysconfig').get_config_var('Py_GIL_DISABLED'))}))"
)


def find_interpreter(arg: str) -> str:
    """The interpreter `--python` names, as people name one: a path, a command on PATH (`python3`),
    or an environment's directory (a venv, a conda env). The path is kept as given, never resolved
    through symlinks: a venv's `bin/python` is a link to its base Python, and resolving it would
    lose the venv (its packages, its pip config)."""
    path = os.path.expanduser(arg)
    if os.path.isdir(path):
        for rel in ("bin/python", "bin/python3", "Scripts/python.exe", "python.exe"):
            candidate = os.path.join(path, rel)
            if os.path.isfile(candidate):
                return os.path.abspath(candidate)
        raise UserError(f"--python {arg}: a directory with no Python interpreter in it (looked for bin/python and Scripts\\python.exe)")
    if not os.path.exists(path):
        if os.sep in arg or (os.altsep and os.altsep in arg):
            raise UserError(f"--python {arg}: no such file")
        found = shutil.which(arg)
        if found is None:
            raise UserError(f"--python {arg}: no such command on PATH")
        return os.path.abspath(found)
    if not os.access(path, os.X_OK):
        raise UserError(f"--python {arg}: not an executable file")
    return os.path.abspath(path)


def _is_self(python: str) -> bool:
    """Whether `python` is the interpreter running envcheck. The same file reached through another
    environment's directory is not: venvs built on one base Python share that file."""
    given, mine = os.path.abspath(python), os.path.abspath(sys.executable)
    if given == mine:
        return True
    return os.path.dirname(given) == os.path.dirname(mine) and os.path.realpath(given) == os.path.realpath(mine)


def _facts(python: str, timeout: float) -> dict:
    if _is_self(python):
        return {
            "version": "%d.%d.%d" % sys.version_info[:3],
            "executable": sys.executable,
            "prefix": sys.prefix,
            "base_prefix": sys.base_prefix,
            "conda_env": os.environ.get("CONDA_DEFAULT_ENV"),
            "free_threaded": free_threaded(),
        }
    return _asked(python, timeout)


@lru_cache(maxsize=8)
def _asked(python: str, timeout: float) -> dict:
    """Another interpreter's facts, asked once per run: doctor needs its prefix twice (the pip
    configuration and the stack it last found healthy there)."""
    try:
        done = subprocess.run([python, "-c", _SCRIPT], capture_output=True, text=True, errors="replace", timeout=timeout)
        return json.loads(done.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"--python {python}: not a working Python interpreter ({exc.__class__.__name__})") from exc


def interpreter_prefix(python: str = sys.executable, timeout: float = 15.0) -> str:
    """The interpreter's sys.prefix: the one name of its environment (a venv's or conda env's
    directory, else the Python's own). Command line equivalent: `python -c "import sys; print(sys.prefix)"`."""
    return _facts(python, timeout)["prefix"]


def pip_check(python: str, timeout: float = 120.0):
    """`python -m pip check`: () when nothing is broken, else its problem lines (asked for only: pip is slow to start)."""
    try:
        done = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return Unavailable("timeout", f"`pip check` gave no answer within {timeout:g} s")
    except OSError as exc:
        return Unavailable("not_runnable", f"cannot run {python}: {exc.strerror}")
    if done.returncode == 0:
        return ()
    lines = tuple(line for line in done.stdout.splitlines() if line.strip())
    if lines:
        return lines
    return Unavailable(f"exit_code={done.returncode}", (done.stderr.strip().splitlines() or ["pip check failed"])[-1])


def read_python_env(python: str = sys.executable, tables=None, timeout: float = 15.0, check: bool = False) -> PythonEnv:
    f = _facts(python, timeout)
    idx = read_pip_index(prefix=f["prefix"])
    index_url, extra, mirror = idx.index_url, idx.extra_index_urls, None
    if tables is not None and index_url:
        m = tables.mirrors.by_url(index_url)
        mirror = m.name if m else None
    return PythonEnv(
        version=f["version"],
        executable=f["executable"],
        venv=f["prefix"] if f["prefix"] != f["base_prefix"] else None,
        conda_env=f.get("conda_env"),
        pip_index_url=index_url,
        pip_extra_index_urls=tuple(extra),
        mirror=mirror,
        pip_check=pip_check(python) if check else None,
        free_threaded=bool(f.get("free_threaded")),
    )
