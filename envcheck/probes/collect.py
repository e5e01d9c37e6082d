"""Take a snapshot of this machine: every probe at once, so the slowest (the torch child
process) sets the wall time, not the sum of them all."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from typing import Callable, Optional

from envcheck.probes.installed import nvml_bindings_version
from envcheck.probes.nvml import read_driver
from envcheck.probes.python_env import read_python_env
from envcheck.probes.system import read_system
from envcheck.probes.timeout import Background
from envcheck.probes.toolkit import read_cuda_env, read_toolkit
from envcheck.probes.torch_probe import read_torch_and_packages
from envcheck.snapshot.model import SCHEMA_VERSION, OnnxRuntime, Snapshot, Unavailable


class _Pending:
    """The probes still running, told to `on_wait` (names, in start order) each time the set
    changes: how doctor says what it waits for while a torch import takes its time."""

    def __init__(self, on_wait: Optional[Callable[[tuple], None]]):
        self._names: list = []
        self._lock = threading.Lock()
        self._on_wait = on_wait

    def start(self, name: str, fn: Callable) -> Background:
        self._change(name, add=True)
        return Background(lambda: self._run(name, fn))

    def _run(self, name: str, fn: Callable):
        try:
            return fn()
        finally:
            self._change(name, add=False)

    def _change(self, name: str, add: bool) -> None:
        with self._lock:
            if add:
                self._names.append(name)
            else:
                self._names.remove(name)
            names = tuple(self._names)
        if self._on_wait is not None:
            self._on_wait(names)


def take_snapshot(tables, python: str = sys.executable, torch: bool = True, torch_timeout: float = 60.0, pip_check: bool = False,
                  on_wait: Optional[Callable[[tuple], None]] = None) -> Snapshot:
    """on_wait(names): called with the probes still running whenever one of them ends."""
    taken_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    probes = _Pending(on_wait)
    pending = {}
    if torch:
        pending["torch"] = probes.start(f"torch probe ({python})", lambda: read_torch_and_packages(python, timeout=torch_timeout))
    pending["driver"] = probes.start("NVIDIA driver (NVML)", read_driver)
    pending["toolkit"] = probes.start("CUDA toolkit (nvcc)", read_toolkit)
    pending["python"] = probes.start("pip check" if pip_check else "Python environment", lambda: read_python_env(python, tables, check=pip_check))
    system = read_system()
    if torch:
        torch_info, packages, ort = pending["torch"].result()
    else:
        torch_info, packages, ort = Unavailable("skipped", "--no-torch"), (), OnnxRuntime()
    return Snapshot(
        schema_version=SCHEMA_VERSION,
        system=system,
        python=pending["python"].result(),
        driver=replace(pending["driver"].result(), bindings_version=nvml_bindings_version()),
        toolkit=pending["toolkit"].result(),
        cuda_env=read_cuda_env(),
        torch=torch_info,
        packages=packages,
        onnxruntime=ort,
        taken_at=taken_at,
    )
