"""The last resort for driver facts: `nvidia-smi --query-gpu=... --format=csv`, under a timeout.

Used when pynvml cannot load libnvidia-ml itself but an `nvidia-smi` on PATH can (a driver in a
folder the loader does not search). Old nvidia-smi rejects the compute_cap field, so it is asked
for once more without it. nvidia-smi's query mode has no CUDA version field.

Command line equivalent: `nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total,compute_cap,temperature.gpu,power.draw,power.limit --format=csv`
"""

from __future__ import annotations

import shutil

from envcheck.probes import child_output
from envcheck.reports import ReportError
from envcheck.reports.nvidia_smi_csv import parse
from envcheck.snapshot.facts import DriverInfo, Unavailable

QUERY = "index,name,uuid,pci.bus_id,driver_version,memory.total,compute_cap,temperature.gpu,power.draw,power.limit"


def read_nvidia_smi(timeout: float = 10.0) -> DriverInfo | None:
    """Driver facts from nvidia-smi, or None when it is absent or fails as NVML did."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    for query in (QUERY, QUERY.replace(",compute_cap", "")):
        try:  # in a group of its own, its output capped: a helper it leaves behind cannot hold us
            done = child_output.read(child_output.start([exe, f"--query-gpu={query}", "--format=csv"]), timeout)
        except OSError:
            return None
        if done.timed_out:
            return None
        if done.returncode == 0:
            try:
                driver, gpus = parse(done.stdout)
            except ReportError:
                return None
            cuda = Unavailable("not_supported", "nvidia-smi's query mode does not report the driver's CUDA version")
            return DriverInfo(driver, cuda, gpus, nvidia_on_pci=bool(gpus), source="nvidia-smi")
        if "compute_cap" not in done.stdout + done.stderr:
            return None
    return None
