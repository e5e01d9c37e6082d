"""The Pythons tests use, apart from the one running pytest.

.ci/run runs the suite on several Pythons, but the fixtures describe one kind of user environment:
the fake torch specs, the replicas' stub wheels and the plans the tests expect are those of a
Python 3.11 environment (torch 2.14 has no Python 3.9 wheels, for one). A test whose answer
depends on the target environment's Python makes that environment from a 3.11 interpreter,
whichever Python runs envcheck.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TARGET = "3.11"  # the Python of the environments the fixtures describe
RUNNER = f"{sys.version_info[0]}.{sys.version_info[1]}"
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch in the Python running the tests (the CPU build will do)")


def find_python(version: str) -> str | None:
    """An interpreter of this Python version that runs (pyenv's shims exist for versions that
    are not selected, and fail)."""
    if version == RUNNER:
        return sys.executable
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [shutil.which(f"python{version}"), *sorted(map(str, root.glob(f"versions/{version}.*/bin/python{version}")))]
    for path in filter(None, candidates):
        if subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    return None


def target_python() -> str:
    """The interpreter a target environment is made from; skips the test where there is none."""
    found = find_python(TARGET)
    if found is None:
        pytest.skip(f"no Python {TARGET} interpreter here: the fixtures describe Python {TARGET} environments")
    return found
