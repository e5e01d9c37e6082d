"""A GPU's live state, read again and again while bench loads it: SM clock, power draw,
temperature, clocks-event reasons, PCIe link and utilisation, and nothing else.

`read_driver` (probes/nvml.py) reads everything once, which is what doctor and bench's plan need;
read before the load, though, it describes an idle GPU (issue 27: an H200 said 345 of 1980 MHz and
no reason idle, and 1380-1515 MHz with sw_power_cap at 690 W under a bf16 matmul). A LiveSession
initialises NVML once, takes each GPU's handle once, and then asks only these seven questions, so
a few readings a second cost little. The questions are nvml.py's `live_state`, the same doctor's
snapshot asks, so a field this board or driver cannot give is Unavailable, as everywhere else.

Command line equivalent: `nvidia-smi --query-gpu=index,clocks.sm,power.draw,temperature.gpu,
clocks_event_reasons.active,pcie.link.gen.current,pcie.link.width.current,utilization.gpu
--format=csv -lms 250`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Union

try:
    import pynvml
except ImportError:  # a broken install: open_live says so, bench still starts
    pynvml = None

# nvml.py owns NVML (docs/DESIGN.md "Architecture"): its questions and helpers, reused here rather than copied.
from envcheck.probes.nvml import live_state
from envcheck.probes.nvml_query import call, query, reason
from envcheck.snapshot.facts import Unavailable


@dataclass(frozen=True)
class LiveReading:
    """One GPU at one moment; each field a value or why NVML could not give it."""

    at: float  # time.monotonic() when it was read
    sm_clock_mhz: Union[int, Unavailable]
    power_draw_w: Union[float, Unavailable]
    temperature_c: Union[int, Unavailable]
    clocks_event_reasons: Union[tuple, Unavailable]  # names, as nvml.decode_clocks_event_reasons gives them
    pcie_link: Union[str, Unavailable]  # "Gen5 x16"
    utilization_pct: Union[int, Unavailable]  # nvidia-smi's GPU-Util over NVML's last sample period


class LiveSession:
    """NVML held open for repeated readings of some GPUs (by NVML index, nvidia-smi's numbering).
    Open it with `open_live`; close it when done (NVML counts its initialisations)."""

    def __init__(self, handles: dict):
        self._handles = handles  # NVML index -> handle, or the Unavailable that stood in its way

    def read(self, index: int) -> LiveReading:
        handle = self._handles[index]
        if isinstance(handle, Unavailable):
            return LiveReading(time.monotonic(), handle, handle, handle, handle, handle, handle)
        return LiveReading(at=time.monotonic(), **live_state(handle))

    def close(self) -> None:
        query(pynvml.nvmlShutdown)


def open_live(indices) -> Union[LiveSession, Unavailable]:
    """A LiveSession for these GPUs, or why NVML cannot be read. May block on a wedged driver, as
    any NVML call can: call it from a thread that may be abandoned (bench.sampler does)."""
    if pynvml is None:
        return Unavailable("library_not_found", "nvidia-ml-py is not installed (pip install nvidia-ml-py)")
    try:
        pynvml.nvmlInit()
    except Exception as exc:
        return reason(exc)
    return LiveSession({i: call("nvmlDeviceGetHandleByIndex", i) for i in indices})
