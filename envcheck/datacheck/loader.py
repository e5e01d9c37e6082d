"""The DataLoader sweep: torch.utils.data.DataLoader over the dataset's own samples (each read and
decoded as decode.decode_sample does), for num_workers 0, 1, 2, 4, ... up to the usable cores and,
where CUDA is available, pin_memory off and on. The only module of `envcheck data` that imports torch.

By hand: `for batch in DataLoader(ds, batch_size=32, num_workers=n): count += len(batch)` timed.
"""

from __future__ import annotations

import math
import time

from envcheck.datacheck.decode import decode_sample
from envcheck.datacheck.files import read_item
from envcheck.datacheck.results import LoaderRow
from envcheck.datacheck.verdicts import PREFETCH
from envcheck.errors import describe

FIRST_BATCH_TIMEOUT = 120.0  # seconds a worker may take for one batch before the setting fails
MAX_WORKERS = 32


def missing_torch() -> str:
    """"" where torch imports, else the one line that says the sweep is skipped and what to do."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return "torch is not installed, so the DataLoader sweep is skipped (`envcheck install-cmd` prints the command that installs it)"
    except Exception as exc:  # a broken install: a library that does not load, a wheel for another Python
        return f"torch does not import ({describe(exc)}), so the DataLoader sweep is skipped (`envcheck doctor` says why and how to fix it)"
    return ""


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


class SampleSet:
    """A map-style dataset over the sampled items: each read and decoded (decode.decode_sample) into
    a uint8 tensor, as a user's Dataset does. No torch.utils.data.Dataset base (DataLoader needs
    only __len__ and __getitem__), so importing this module imports no torch; defined at the top so
    spawn can pickle it."""

    def __init__(self, items: list, as_image: bool):
        self.items, self.as_image = list(items), as_image

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        import torch

        buf, shape, _ = decode_sample(read_item(self.items[index]), self.as_image)
        return torch.frombuffer(buf, dtype=torch.uint8).view(shape)


def collate(batch: list):
    """default_collate's stacked batch where the samples share a shape (in a worker it stacks
    straight into shared memory); else the samples joined flat, so a batch still crosses from a
    worker through /dev/shm once (a list would take a shared-memory file per sample)."""
    import torch
    from torch.utils.data import default_collate

    if all(t.shape == batch[0].shape for t in batch):
        return default_collate(batch)
    return torch.cat([t.reshape(-1) for t in batch])


def worker_counts(usable_cores: float) -> list:
    """0, 1, 2, 4, ... up to the usable cores rounded up, and that count itself."""
    top = min(MAX_WORKERS, max(1, math.ceil(usable_cores)))
    counts, n = [0], 1
    while n <= top:
        counts.append(n)
        n *= 2
    return counts if top in counts else counts + [top]


def settings(usable_cores: float, cuda: bool) -> list:
    """(num_workers, pin_memory) pairs to try; pin_memory only matters where batches go to a GPU."""
    return [(w, pin) for w in worker_counts(usable_cores) for pin in ((False, True) if cuda else (False,))]


def measure_one(items: list, as_image: bool, workers: int, pin: bool, seconds: float, batch_size: int) -> LoaderRow:
    """Samples per second of one setting, counted from the first batch (the workers' start-up is
    `startup_s`, paid again each epoch unless persistent_workers=True) until `seconds` later."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler

    data = SampleSet(items, as_image)
    sampler = RandomSampler(data, replacement=True, num_samples=10**9, generator=torch.Generator().manual_seed(0))
    extra = {"prefetch_factor": PREFETCH, "timeout": FIRST_BATCH_TIMEOUT} if workers else {}
    loader = DataLoader(data, batch_size=batch_size, sampler=sampler, num_workers=workers, pin_memory=pin, collate_fn=collate, **extra)
    start = time.perf_counter()
    it = iter(loader)
    samples = 0
    try:
        next(it)
        first = time.perf_counter()
        while time.perf_counter() - first < seconds:
            next(it)
            samples += batch_size  # the sampler never runs out: every batch is full
        elapsed = time.perf_counter() - first
    except Exception as exc:  # a worker killed (bus error: /dev/shm too small), a timeout, a decode error
        return LoaderRow(workers, pin, None, samples, None, describe(exc))
    finally:
        del it  # shuts the workers down
    return LoaderRow(workers, pin, round(samples / max(elapsed, 1e-9), 1), samples, round(first - start, 3))


def sweep(items: list, as_image: bool, pairs: list, seconds_each: float, batch_size: int):
    """Each setting's row as it finishes (a generator: after Ctrl-C the finished rows are kept).
    One sample first, untimed: the first setting must not pay for torch's first tensor."""
    SampleSet(items[:1], as_image)[0]
    for workers, pin in pairs:
        yield measure_one(items, as_image, workers, pin, seconds_each, batch_size)
