"""Start one worker per device (all at once by default, as training does, which exposes power and
thermal throttling), collect their results; a worker that crashes or hangs is reported and the
others' results are kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from envcheck.bench.suites import Measurement

MARK = "ENVCHECK-BENCH "


@dataclass(frozen=True)
class DeviceResult:
    label: str  # "GPU 2" (nvidia-smi numbering) or "CPU"
    name: str
    measurements: tuple = ()
    errors: tuple = ()


def _command(args: dict) -> list:
    return [sys.executable, "-m", "envcheck.bench.worker", json.dumps(args)]


def _result(label: str, proc: subprocess.Popen, timeout: float) -> DeviceResult:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return DeviceResult(label, "", errors=(f"the worker did not finish within {timeout:g} s: killed",))
    for line in out.splitlines():
        if line.startswith(MARK):
            data = json.loads(line[len(MARK):])
            return DeviceResult(label, data["name"], tuple(Measurement(**m) for m in data["measurements"]), tuple(data["errors"]))
    tail = (err.strip().splitlines() or ["no output"])[-1]
    how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
    return DeviceResult(label, "", errors=(f"the worker crashed ({how}): {tail}",))


def run_devices(jobs: list, timeout: float, sequential: bool = False) -> list:
    """jobs: (label, worker args, extra environment). Results in the order of jobs."""
    results = []
    if sequential:
        for label, args, env in jobs:
            proc = subprocess.Popen(_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
            results.append(_result(label, proc, timeout))
        return results
    procs = [(label, subprocess.Popen(_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env}))
             for label, args, env in jobs]
    return [_result(label, proc, timeout) for label, proc in procs]
