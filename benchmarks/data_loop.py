"""`envcheck data` against plain timed loops over the same files, in one run.

Writes the sample dataset `envcheck data` generates (256 JPEGs, 256x256) to a temp folder, runs
the service on it, then times by hand: a warm read loop (open, read, close each file), a decode
loop (Pillow, to RGB bytes) on one core, and a DataLoader at each num_workers envcheck tried, with
a Dataset written as a user would (PIL -> uint8 tensor, default collate). Runs it all in rounds
and prints the medians and each round's ratio (a shared machine is noisy); docs/DESIGN.md's target is agreement within 10%.

    PYTHONPATH=. python benchmarks/data_loop.py [--seconds 20] [--each 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import shutil
import statistics
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
            np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))
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


def one_round(folder, paths, seconds, each) -> tuple:
    """[(figure, envcheck's, the plain loop's)], the report: envcheck first, then the same figures by hand."""
    report = run(DataRequest(path=folder, seconds=seconds))
    warm = next(f for f in report.reads if f.pattern == "random" and f.cache == "warm")
    pairs = [("read, warm (files/s)", warm.samples_per_s, read_loop(paths, each)),
             ("decode, one core (images/s)", report.decode.per_core, decode_loop(paths, each))]
    for row in report.sweep.rows:
        plain = loader_loop(paths, row.workers, row.pin_memory, report.sweep.batch_size, each)
        pairs.append((f"DataLoader workers={row.workers} pin={row.pin_memory} (samples/s)", row.samples_per_s, plain))
    return pairs, report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="envcheck data's budget per round")
    ap.add_argument("--each", type=float, default=3.0, help="seconds per plain loop")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each envcheck then the plain loops; medians are printed")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="data-loop-")
    rounds = []
    try:
        sample_data.generate(folder)
        paths = sorted(glob.glob(os.path.join(folder, "*.jpg")))
        for _ in range(args.rounds):
            rounds.append(one_round(folder, paths, args.seconds, args.each))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'figure (median of ' + str(args.rounds) + ' rounds)':<44} {'envcheck':>9} {'plain':>9} {'ratio':>6}  ratios per round")
    for k, (name, _, _) in enumerate(rounds[0][0]):
        ours = statistics.median(r[0][k][1] for r in rounds)
        plain = statistics.median(r[0][k][2] for r in rounds)
        each = " ".join(f"{r[0][k][1] / r[0][k][2]:.2f}" for r in rounds)
        print(f"{name:<44} {ours:>9.0f} {plain:>9.0f} {ours / plain:>6.2f}  {each}")
    report = rounds[-1][1]
    print(f"cores usable: {report.surroundings.cores.usable:g}; best: workers={report.best.workers}; bottleneck: {report.bottleneck}")


if __name__ == "__main__":
    main()
