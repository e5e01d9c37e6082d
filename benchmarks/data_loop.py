"""`envcheck data` against plain timed loops over the same files, in one run.

Writes the sample dataset `envcheck data` generates (256 JPEGs, 256x256) to a temp folder, runs
the service on it, then times by hand: a warm read loop (open, read, close each file), a decode
loop (Pillow, to RGB bytes) on one core, and a DataLoader at each num_workers envcheck tried, with
a Dataset written as a user would (PIL -> uint8 tensor, default collate). Prints each pair and its
ratio; docs/DESIGN.md's target is agreement within 10%.

    PYTHONPATH=. python benchmarks/data_loop.py [--seconds 40] [--each 4]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import shutil
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, RandomSampler

from envcheck.datacheck import sample_data
from envcheck.datacheck.service import DataRequest, run


class Jpegs:
    """A user's Dataset: read the file, decode with Pillow, one HxWx3 uint8 tensor."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with open(self.paths[i], "rb") as f:
            img = Image.open(io.BytesIO(f.read())).convert("RGB")
        return torch.from_numpy(np.asarray(img))


def read_loop(paths, seconds):
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for p in paths:
            with open(p, "rb") as f:
                f.read()
            n += 1
    return n / (time.perf_counter() - start)


def decode_loop(paths, seconds):
    held = [open(p, "rb").read() for p in paths]
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for b in held:
            Image.open(io.BytesIO(b)).convert("RGB").tobytes()
            n += 1
    return n / (time.perf_counter() - start)


def loader_loop(paths, workers, pin, batch, seconds):
    data = Jpegs(paths)
    sampler = RandomSampler(data, replacement=True, num_samples=10**9)
    it = iter(DataLoader(data, batch_size=batch, sampler=sampler, num_workers=workers, pin_memory=pin))
    next(it)  # start-up excluded, as envcheck counts from the first batch
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n += len(next(it))
    rate = n / (time.perf_counter() - start)
    del it
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=40.0, help="envcheck data's budget")
    ap.add_argument("--each", type=float, default=4.0, help="seconds per plain loop")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="data-loop-")
    try:
        sample_data.generate(folder)
        paths = sorted(glob.glob(os.path.join(folder, "*.jpg")))
        report = run(DataRequest(path=folder, seconds=args.seconds))
        warm = next(f for f in report.reads if f.pattern == "random" and f.cache == "warm")
        pairs = [("read, warm (files/s)", warm.samples_per_s, read_loop(paths, args.each)),
                 ("decode, one core (images/s)", report.decode.per_core, decode_loop(paths, args.each))]
        for row in report.sweep.rows:
            plain = loader_loop(paths, row.workers, row.pin_memory, report.sweep.batch_size, args.each)
            pairs.append((f"DataLoader workers={row.workers} pin={row.pin_memory} (samples/s)", row.samples_per_s, plain))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'figure':<44} {'envcheck':>10} {'plain loop':>10} {'ratio':>6}")
    for name, ours, plain in pairs:
        print(f"{name:<44} {ours:>10.0f} {plain:>10.0f} {ours / plain:>6.2f}")
    print(f"cores usable: {report.surroundings.cores.usable:g}; best: workers={report.best.workers}; bottleneck: {report.bottleneck}")


if __name__ == "__main__":
    main()
