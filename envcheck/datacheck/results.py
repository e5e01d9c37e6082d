"""The plain data of `envcheck data` that reaches renderers and JSON; no torch, no Pillow."""

from __future__ import annotations

from dataclasses import dataclass

from envcheck.snapshot.facts import Unavailable

MB = 1_000_000  # figures in MB/s, as disks and `dd` state them


@dataclass(frozen=True)
class Cores:
    usable: float  # what num_workers should be sized by
    visible: int | None  # os.cpu_count(): the machine's
    affinity: int | None  # CPUs this process may run on
    quota: float | None  # the cgroup's CPU quota in cores; None: no limit


@dataclass(frozen=True)
class Filesystem:
    mount_point: str
    fstype: str
    source: str
    note: str  # its typical effect on a data pipeline; "" for a local disk


@dataclass(frozen=True)
class Surroundings:
    cores: Cores
    shm_bytes: int | Unavailable
    start_method: str  # fork, forkserver or spawn
    filesystem: Filesystem | Unavailable


@dataclass(frozen=True)
class ReadFigure:
    """One pass of reads: `pattern` sequential (large blocks of the largest file) or random (whole
    samples in a shuffled order); `cache` cold (dropped from the page cache first) or warm."""

    pattern: str
    cache: str
    samples: int
    bytes: int
    seconds: float
    mb_per_s: float
    samples_per_s: float


@dataclass(frozen=True)
class DecodeFigure:
    kind: str  # "image": decoded by Pillow; "raw": the bytes as they are
    formats: tuple  # image formats met, e.g. ("JPEG", "PNG")
    samples: int
    seconds: float
    per_core: float  # samples/s on one core
    ceiling: float  # per_core x usable cores
    sample_bytes: int  # mean size of a decoded sample (what workers hand over through shm)
    note: str


@dataclass(frozen=True)
class LoaderRow:
    workers: int
    pin_memory: bool
    samples_per_s: float | None  # None: the setting failed (error)
    samples: int
    startup_s: float | None  # from the iterator's start to the first batch: the workers' start-up
    error: str = ""


@dataclass(frozen=True)
class Sweep:
    rows: tuple  # LoaderRow
    batch_size: int
    skipped: str = ""  # why no DataLoader ran (torch missing): one line
    pin_note: str = ""  # why pin_memory was not tried


@dataclass(frozen=True)
class Verdict:
    severity: str  # warn (exit 1) or info
    code: str
    text: str


@dataclass(frozen=True)
class DataReport:
    path: str  # the dataset measured, or "(generated)"
    samples_found: int
    bytes_found: int
    surroundings: Surroundings
    reads: tuple  # ReadFigure
    cold_note: str  # why there is no cold figure, "" when there is
    decode: DecodeFigure | None
    sweep: Sweep | None
    best: LoaderRow | None
    bottleneck: str  # disk, filesystem, decode, workers, shm; "" when not known
    bottleneck_text: str
    gpu_rate: float | None
    verdicts: tuple  # Verdict
    notes: tuple  # str
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """130 after Ctrl-C; 1 with a warning (the GPU would wait, a 64 MB /dev/shm, ...); else 0."""
        if self.interrupted:
            return 130
        return 1 if any(v.severity == "warn" for v in self.verdicts) else 0
