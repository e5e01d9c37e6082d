"""pip's configuration as pip itself resolves it (`python -m pip config list`), credentials redacted.

Command line equivalent: `python -m pip config list`.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Union

from envcheck.redact import redact_url
from envcheck.snapshot import Unavailable


@dataclass(frozen=True)
class PipIndex:
    index_url: Union[str, None]  # None: pip's default index
    extra_index_urls: tuple
    find_links: tuple
    origin: dict  # key -> where pip found it (":env:" or a file scope)


def _parse(text: str) -> PipIndex:
    """Lines look like `global.index-url='https://...'` or `:env:.index-url='...'`."""
    values: dict = {}
    origin: dict = {}
    for line in text.splitlines():
        if "=" not in line or "." not in line.split("=", 1)[0]:
            continue
        key, _, raw = line.partition("=")
        scope, _, name = key.rpartition(".")
        value = raw.strip().strip("'\"")
        if name in ("index-url", "extra-index-url", "find-links"):
            if origin.get(name) == ":env:" and scope != ":env:":
                continue  # PIP_* environment variables beat every config file
            values[name] = value
            origin[name] = scope
    split = lambda v: tuple(redact_url(x) for x in v.split()) if v else ()  # noqa: E731
    index = values.get("index-url")
    return PipIndex(redact_url(index) if index else None, split(values.get("extra-index-url", "")), split(values.get("find-links", "")), origin)


def read_pip_index(python: str = sys.executable, timeout: float = 15.0) -> Union[PipIndex, Unavailable]:
    try:
        done = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Unavailable("timeout", f"`pip config list` gave no answer within {timeout:g} s")
    except OSError as exc:
        return Unavailable("not_runnable", f"cannot run {python}: {exc.strerror}")
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Unavailable(f"exit_code={done.returncode}", f"`pip config list` failed: {tail}")
    return _parse(done.stdout)
