"""What each benchmarked GPU's clocks, power, temperature, clocks-event reasons and PCIe link are
while bench's workers load it, read from NVML in the parent a few times a second.

One reading before the load describes an idle GPU: on the lent H200 it said 345 of 1980 MHz and no
reason; under a bf16 matmul the same GPU ran at 1380-1515 MHz with sw_power_cap at 690 W of its
700 W limit, PCIe Gen5 x16, 99% busy (issue 27). So the verdicts judge these readings instead.
The workers never touch NVML: the reading runs here, beside them, through envcheck.probes.
"""

from __future__ import annotations

import statistics
import threading
from collections import Counter

from envcheck.bench.results import LoadSummary
from envcheck.probes.gpu_live import open_live
from envcheck.snapshot.facts import Unavailable

INTERVAL = 0.25  # seconds between readings: four a second, as `nvidia-smi -lms 250` would give
BUSY_PCT = 50  # a reading is "under load" when GPU-Util is at least this (the H200 under matmul: 99)
STOP_WAIT = 5.0  # seconds stop() waits for a reading in progress: a wedged driver never answers


class Sampler:
    """Reads the GPUs {label: NVML index} in a thread of its own from start() until stop()."""

    def __init__(self, gpus: dict, interval: float = INTERVAL):
        self.gpus = dict(gpus)
        self.interval = interval
        self._readings: dict = {label: [] for label in self.gpus}
        self._stop = threading.Event()
        self._problem = ""
        self._thread: threading.Thread | None = None

    def start(self) -> Sampler:
        if self.gpus:
            self._thread = threading.Thread(target=self._run, name="envcheck-bench-sampler", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        session = open_live(sorted(set(self.gpus.values())))
        if isinstance(session, Unavailable):
            self._problem = f"NVML could not be read: {session.reason}"
            return
        try:
            while True:
                for label, index in self.gpus.items():
                    self._readings[label].append(session.read(index))
                if self._stop.wait(self.interval):
                    return
        finally:
            session.close()

    def stop(self, wait: float = STOP_WAIT) -> tuple:
        """(label -> the readings taken, why there are none or "") once the reading has stopped,
        or after `wait` seconds with what came before a reading that hangs."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)
            if self._thread.is_alive() and not self._problem:
                self._problem = f"NVML stopped answering (nothing for {wait:g} s: a wedged driver?)"
        return {label: list(r) for label, r in self._readings.items()}, self._problem


def busy(reading) -> bool:
    """Was the GPU loaded at this reading? GPU-Util says so where NVML gives it; otherwise the
    absence of the gpu_idle reason does (MIG-enabled GPUs report no utilisation)."""
    if isinstance(reading.utilization_pct, int):
        return reading.utilization_pct >= BUSY_PCT
    if isinstance(reading.clocks_event_reasons, tuple):
        return "gpu_idle" not in reading.clocks_event_reasons
    return False


def _known(values, kind) -> list:
    return [v for v in values if isinstance(v, kind) and not isinstance(v, bool)]


def summarise(readings: list, max_sm_clock_mhz=None, power_limit_w=None, problem: str = "") -> LoadSummary:
    """One GPU's readings as figures over those in which it was busy (bench.results.LoadSummary)."""
    loaded = [r for r in readings if busy(r)]
    clocks = _known((r.sm_clock_mhz for r in loaded), int)
    power = _known((r.power_draw_w for r in loaded), (int, float))
    temps = _known((r.temperature_c for r in loaded), int)
    util = _known((r.utilization_pct for r in loaded), int)
    seen = [r.clocks_event_reasons for r in loaded if isinstance(r.clocks_event_reasons, tuple)]
    counts = Counter(name for names in seen for name in set(names))
    links = Counter(r.pcie_link for r in loaded if isinstance(r.pcie_link, str))
    return LoadSummary(
        readings=len(readings), busy=len(loaded),
        sm_clock_mhz=statistics.median(clocks) if clocks else None, sm_clock_min_mhz=min(clocks) if clocks else None,
        max_sm_clock_mhz=max_sm_clock_mhz,
        power_w=round(statistics.median(power), 1) if power else None, power_limit_w=power_limit_w,
        temperature_max_c=max(temps) if temps else None,
        utilization_pct=statistics.median(util) if util else None,
        reasons={name: round(n / len(seen), 3) for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))},
        pcie_link=links.most_common(1)[0][0] if links else None,
        problem="" if readings else problem,
    )
