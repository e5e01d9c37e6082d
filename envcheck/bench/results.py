"""What bench's workers send back and what a bench run reports: plain data, no torch, so that
renderers and cluster's report read it without reaching the modules that start or run workers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from envcheck.bench.verdicts import exit_code

ANSWER = "ENVCHECK-BENCH "  # the line a worker prints its answer on (bench.worker -> bench.runner)
PROGRESS = "ENVCHECK-PROGRESS "  # the lines a worker prints as each measurement starts and ends


@dataclass(frozen=True)
class Measurement:
    suite: str  # matmul | conv | memory | allreduce
    name: str  # fp32, bf16, ..., "copy", "fp32 fwd", "1 MiB"
    value: float  # median: TFLOP/s or GB/s
    unit: str
    low: float  # 10th percentile
    high: float  # 90th percentile
    runs: int
    size: str
    correct: bool | None = None  # matmul: the same product gave the same bits after the load
    note: str = ""
    images_per_s: float | None = None  # conv: images a second at the median time
    algbw: float | None = None  # allreduce: bytes / time (GB/s); `value` is busbw, as nccl-tests define them


@dataclass(frozen=True)
class Skipped:
    """A measurement bench did not take on this device, and why (bench.capability)."""

    suite: str
    name: str
    reason: str


@dataclass(frozen=True)
class LoadSummary:
    """What NVML said about one GPU while bench loaded it (bench.sampler), over the readings in
    which the GPU was busy: a reading before the load sees an idle GPU (issue 27: an idle H200 said
    345 MHz; loaded, 1380-1515 MHz of 1980 with sw_power_cap at 690 W of 700)."""

    readings: int  # taken while the workers ran
    busy: int  # of those, the ones in which the GPU was busy: the figures below are over these
    sm_clock_mhz: float | None = None  # median
    sm_clock_min_mhz: int | None = None
    max_sm_clock_mhz: int | None = None  # the board's own maximum (NVML), for scale
    power_w: float | None = None  # median draw
    power_limit_w: float | None = None  # the enforced limit
    temperature_max_c: int | None = None
    utilization_pct: float | None = None  # median of nvidia-smi's GPU-Util
    reasons: dict = field(default_factory=dict)  # clocks-event reason -> share of busy readings (0 to 1)
    pcie_link: str | None = None  # the link most busy readings saw, "Gen5 x16"
    problem: str = ""  # why NVML gave no reading, when it gave none


@dataclass(frozen=True)
class DeviceResult:
    label: str  # "GPU 2" (nvidia-smi numbering) or "CPU"
    name: str
    measurements: tuple = ()  # tuple[Measurement, ...]
    errors: tuple = ()  # tuple[str, ...]
    skipped: tuple = ()  # tuple[Skipped, ...]: dtypes this device does not run natively
    load: LoadSummary | None = None  # a GPU's state under load (bench.sampler); None on the CPU


@dataclass(frozen=True)
class WorkerArgs:
    """One device's worker: what it measures and how long. Crosses the process boundary as JSON
    (to_json / from_json), so a suite's options are named here once."""

    device: str  # "cpu", or "cuda:0": the worker's CUDA_VISIBLE_DEVICES leaves it one GPU
    suites: tuple  # of matmul, conv, memory
    dtypes: tuple  # matmul's
    size: int  # matmul's n
    megabytes: int  # memory's buffer
    seconds: float  # per measurement
    conv_dtypes: tuple = ("fp32",)
    batch: int = 32  # conv's
    threads: int = 0  # CPU: torch's intra-op threads (0: torch's default)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerArgs:
        data = json.loads(text)
        return cls(**{f.name: tuple(data[f.name]) if isinstance(data.get(f.name), list) else data[f.name]
                      for f in fields(cls) if f.name in data})

    def plan(self) -> dict:
        """suite -> the measurements it will take: what the parent's progress bars and time-left
        estimates are drawn from (each measurement takes about `seconds`)."""
        plan = {}
        if "matmul" in self.suites:
            plan["matmul"] = len(self.dtypes)
        if "conv" in self.suites:
            plan["conv"] = 2 * len(self.conv_dtypes)  # forward, forward+backward
        if "memory" in self.suites:
            plan["memory"] = 3 if self.device.startswith("cuda") else 1  # copy; pinned h2d and d2h on a GPU
        return plan


@dataclass(frozen=True)
class DeviceRow:
    """One benchmarked device as the report's device table names it."""

    device: str  # "GPU 2" (nvidia-smi's numbering) or "CPU"
    gpu: bool
    name: object = None  # the GPU's name (str or Unavailable)
    uuid: object = None
    pci: object = None
    worker: str = ""  # the device the worker sees: cuda:0 (its CUDA_VISIBLE_DEVICES holds only this GPU)
    compute_capability: str | None = None  # "9.0"
    power_limit_w: float | None = None
    max_sm_clock_mhz: int | None = None
    # clocks, power, reasons and the PCIe link as they are under load: DeviceResult.load
    model: str = ""  # the CPU's
    threads: int = 0


@dataclass(frozen=True)
class BenchReport:
    devices: tuple  # DeviceRow
    results: tuple  # DeviceResult
    verdicts: tuple  # bench.verdicts.Verdict
    notes: tuple  # str
    peaks: dict = field(default_factory=dict)  # device label -> its compat GPU row (datasheet peaks), or None
    interrupted: bool = False  # Ctrl-C: the results are those that finished

    @property
    def exit_code(self) -> int:
        """130 after Ctrl-C, else the worst verdict's (bench.verdicts.exit_code)."""
        return 130 if self.interrupted else exit_code(list(self.verdicts))


def answer_result(label: str, data: dict) -> DeviceResult:
    """A worker's JSON answer as a DeviceResult."""
    return DeviceResult(label, data["name"], tuple(Measurement(**m) for m in data["measurements"]), tuple(data["errors"]),
                        tuple(Skipped(**s) for s in data.get("skipped", ())))


def size_label(n: int) -> str:
    """A message size as people write it: 1 KiB, 16 MiB."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n // scale} {unit}"
    return f"{n} B"


def allreduce_result(label: str, backend: str, rows: list, errors=()) -> DeviceResult:
    """A sweep's rows (allreduce.sweep) as figures: busbw per message size, and its algbw."""
    ms = tuple(Measurement("allreduce", size_label(row["bytes"]), row["busbw"], "GB/s", row["busbw"], row["busbw"], row["runs"],
                           size_label(row["bytes"]), algbw=row["algbw"]) for row in rows)
    return DeviceResult(label, backend, ms, tuple(errors))
