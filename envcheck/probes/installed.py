"""What this interpreter has installed of the torch stack, read from the `.dist-info` folders on
sys.path, the way pip sees it.

install-cmd needs it (a plan that changes torch's build must know the build installed now), and
importing importlib.metadata costs a sixth of install-cmd's start-up budget; a folder listing
costs a millisecond. Command line equivalent: `pip show torch torchvision torchaudio`.
"""

from __future__ import annotations

import os
import re
import sys

from envcheck.snapshot.facts import Installed

_NAMES = ("torch", "torchvision", "torchaudio")
_DIST = re.compile(r"^(torch|torchvision|torchaudio)-([^-]+?)(?:-py\d[\d.]*)?\.(dist-info|egg-info)$", re.IGNORECASE)


def read_installed(paths: list[str] | None = None) -> Installed:
    """The first copy of each package on the path wins, as it does for `import`."""
    found: dict[str, str] = {}
    installer = ""
    for entry, name in _listed(paths):
        m = _DIST.match(name)
        if not m or m.group(1).lower() in found:
            continue
        package = m.group(1).lower()
        found[package] = m.group(2)
        if package == "torch" and m.group(3).lower() == "dist-info":
            installer = _read(os.path.join(entry, name, "INSTALLER"))
        if len(found) == len(_NAMES):
            break
    return Installed(found.get("torch"), found.get("torchvision"), found.get("torchaudio"), installer)


def _listed(paths: list[str] | None):
    """(folder, name) of each entry in the path's folders, in the order `import` searches them."""
    for entry in sys.path if paths is None else paths:
        try:
            names = os.listdir(entry or os.curdir)
        except OSError:
            continue
        for name in names:
            yield entry, name


_NVML_BINDINGS = re.compile(r"^nvidia_ml_py-([^-]+?)(?:-py\d[\d.]*)?\.(?:dist-info|egg-info)$", re.IGNORECASE)


def nvml_bindings_version(paths: list[str] | None = None) -> str | None:
    """The version of nvidia-ml-py (module `pynvml`) that this interpreter imports, None when none
    is installed: one release of it reads the GPUs' processes wrongly (checks/driver.py). The
    first copy on the path wins, as for `import`. Command line equivalent: `pip show nvidia-ml-py`."""
    for _, name in _listed(paths):
        m = _NVML_BINDINGS.match(name)
        if m:
            return m.group(1)
    return None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(64).strip()
    except OSError:
        return ""
