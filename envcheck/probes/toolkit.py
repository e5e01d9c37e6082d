"""The CUDA toolkit on PATH (nvcc, needed only to build extensions), CUDA_HOME, and the
LD_LIBRARY_PATH entries holding CUDA libraries (the usual way torch's bundled ones get shadowed).

Command line equivalent: `nvcc --version`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from envcheck.cuda_libraries import CUDA_LIBRARIES
from envcheck.snapshot.model import CudaEnv, Toolkit, Unavailable


def _nvcc(timeout: float) -> tuple:
    path = shutil.which("nvcc")
    if path is None:
        home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
        candidate = Path(home, "bin", "nvcc") if home else None
        if candidate and candidate.exists():
            path = str(candidate)
        else:
            return Unavailable("not_found", "no nvcc on PATH (needed only to build CUDA extensions)"), None
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return Unavailable("timeout", f"`nvcc --version` gave no answer within {timeout:g} s"), path
    except OSError as exc:
        return Unavailable("not_runnable", f"cannot run {path}: {exc.strerror}"), path
    m = re.search(r"release (\d+\.\d+)", done.stdout)
    if not m:
        return Unavailable(f"exit_code={done.returncode}", "`nvcc --version` printed no release number"), path
    return m.group(1), path


def _cuda_lib_dirs() -> tuple:
    found = []
    for entry in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if not entry:
            continue
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        if any(n.startswith(lib + ".so") for n in names for lib in CUDA_LIBRARIES):
            found.append(entry)
    return tuple(found)


def read_toolkit(timeout: float = 10.0) -> Toolkit:
    version, path = _nvcc(timeout)
    return Toolkit(
        nvcc_version=version,
        nvcc_path=path,
        cuda_home=os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH"),
        ld_library_path_cuda=_cuda_lib_dirs(),
    )


def read_cuda_env() -> CudaEnv:
    """Allow-listed variables only: the environment is never dumped whole (it holds tokens)."""
    return CudaEnv(
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
        cuda_device_order=os.environ.get("CUDA_DEVICE_ORDER"),
        nvidia_visible_devices=os.environ.get("NVIDIA_VISIBLE_DEVICES"),
    )
