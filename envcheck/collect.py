"""Take a snapshot of this machine: every probe at once, so the slowest (the torch child
process) sets the wall time, not the sum of them all."""

from __future__ import annotations

import sys
import time

from envcheck.probes.timeout import Background
from envcheck.snapshot import SCHEMA_VERSION, OnnxRuntime, Snapshot, Unavailable


def take_snapshot(tables, python: str = sys.executable, torch: bool = True, torch_timeout: float = 60.0, pip_check: bool = False) -> Snapshot:
    from envcheck.probes.nvml import read_driver
    from envcheck.probes.python_env import read_python_env
    from envcheck.probes.system import read_system
    from envcheck.probes.toolkit import read_cuda_env, read_toolkit

    taken_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    pending = {}
    if torch:
        from envcheck.probes.torch_probe import read_torch_and_packages

        pending["torch"] = Background(lambda: read_torch_and_packages(python, timeout=torch_timeout))
    pending["driver"] = Background(read_driver)
    pending["toolkit"] = Background(read_toolkit)
    pending["python"] = Background(lambda: read_python_env(python, tables, check=pip_check))
    system = read_system()
    if torch:
        torch_info, packages, ort = pending["torch"].result()
    else:
        torch_info, packages, ort = Unavailable("skipped", "--no-torch"), (), OnnxRuntime()
    return Snapshot(
        schema_version=SCHEMA_VERSION,
        system=system,
        python=pending["python"].result(),
        driver=pending["driver"].result(),
        toolkit=pending["toolkit"].result(),
        cuda_env=read_cuda_env(),
        torch=torch_info,
        packages=packages,
        onnxruntime=ort,
        taken_at=taken_at,
    )
