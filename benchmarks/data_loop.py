"""`envcheck data` against plain timed loops over the same files, in one run.

Writes the sample dataset `envcheck data` generates (256 JPEGs, 256x256) to a temp folder, runs
`envcheck data` on it once (for its settings), then in rounds takes each figure with envcheck's own
measuring functions and by hand, one after the other (who goes first alternates, so the drift of a
shared machine cancels): a warm read loop (open, read, close each file), a decode loop (Pillow, to
an RGB array) on one core, and a DataLoader at each num_workers envcheck tried, with a Dataset
written as a user would (PIL -> numpy -> uint8 tensor, default collate). Runs it all in rounds
and prints the medians and each round's ratio (a shared machine is noisy); docs/DESIGN.md's target is agreement within 10%.

    PYTHONPATH=. python benchmarks/data_loop.py [--seconds 20] [--each 3] [--rounds 4]
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

from envcheck.datacheck import decode, files, loader, sample_data
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


def envcheck_figures(folder, each) -> dict:
    """envcheck's own measuring functions, as `envcheck data` calls them, one figure at a time."""
    ext = decode.image_extensions()
    found = files.find_items(folder, 512, lambda p: decode.is_image(p, ext))
    files.random_pass(found.items, each, "warm")  # fills the cache
    return {
        "read": lambda: files.random_pass(found.items, each, "warm")[0].samples_per_s,
        "decode": lambda: decode.measure(found.items, each, 1, True, "").per_core,
        "loader": lambda w, pin, batch: loader.measure_one(found.items, True, w, pin, each, batch).samples_per_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="budget of the one whole `envcheck data` run")
    ap.add_argument("--each", type=float, default=3.0, help="seconds per figure, envcheck's and the plain loop's")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; in each, envcheck and the plain loop alternate figure by figure")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="data-loop-")
    try:
        sample_data.generate(folder)
        paths = sorted(glob.glob(os.path.join(folder, "*.jpg")))
        report = run(DataRequest(path=folder, seconds=args.seconds))  # the whole command, for its settings and verdict
        ours = envcheck_figures(folder, args.each)
        batch = report.sweep.batch_size
        figures = [("read, warm (files/s)", ours["read"], lambda: read_loop(paths, args.each)),
                   ("decode, one core (images/s)", ours["decode"], lambda: decode_loop(paths, args.each))]
        for row in report.sweep.rows:
            figures.append((f"DataLoader workers={row.workers} pin={row.pin_memory} (samples/s)",
                            lambda r=row: ours["loader"](r.workers, r.pin_memory, batch),
                            lambda r=row: loader_loop(paths, r.workers, r.pin_memory, batch, args.each)))
        seen = {name: ([], []) for name, _, _ in figures}
        for n in range(args.rounds):
            for name, a, b in figures:
                first, second = (a, b) if n % 2 == 0 else (b, a)  # alternate who goes first: drift cancels
                x, y = first(), second()
                seen[name][0].append(x if n % 2 == 0 else y)
                seen[name][1].append(y if n % 2 == 0 else x)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'figure (median of ' + str(args.rounds) + ' rounds)':<44} {'envcheck':>9} {'plain':>9} {'ratio':>6}  ratios per round")
    for name, (mine, plain) in seen.items():
        m, p = statistics.median(mine), statistics.median(plain)
        print(f"{name:<44} {m:>9.0f} {p:>9.0f} {m / p:>6.2f}  " + " ".join(f"{a / b:.2f}" for a, b in zip(mine, plain)))
    print(f"envcheck data --seconds {args.seconds:g}: usable cores {report.surroundings.cores.usable:g}, best num_workers={report.best.workers}, "
          f"bottleneck {report.bottleneck}")


if __name__ == "__main__":
    main()
