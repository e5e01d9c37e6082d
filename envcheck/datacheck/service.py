"""`envcheck data` as a service: a typed request in, a report with its own exit code out.

The steps, each answered in one place: the machine around the pipeline (datacheck.environment),
which samples (datacheck.files.find_items, or a generated folder: datacheck.sample_data), how fast
they read (datacheck.files), decode (datacheck.decode) and load through a DataLoader
(datacheck.loader), and what that means (datacheck.verdicts). The time budget is split between
them, so a run ends in about `seconds` plus the workers' start-up.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass

from envcheck.datacheck import decode, files, loader, sample_data
from envcheck.datacheck.environment import Roots, surroundings
from envcheck.datacheck.results import DataReport, Sweep
from envcheck.datacheck.verdicts import judge
from envcheck.errors import UserError
from envcheck.numbers import seconds as check_seconds

READ_SHARE, DECODE_SHARE = 0.25, 0.15  # of the budget; the DataLoader sweep has the rest
SCAN_SHARE = 0.1  # of the budget, at most, for listing a folder
MIN_SETTING = 0.3  # seconds each DataLoader setting runs at least


@dataclass(frozen=True)
class DataRequest:
    path: str | None = None  # a dataset folder or file; None: a generated one in a temp folder
    seconds: float = 40.0
    gpu_rate: float | None = None  # samples/s the model consumes
    batch_size: int = 32
    max_samples: int = 512

    def validate(self) -> None:
        """Every option a user can get wrong, as one line, before any work starts."""
        if self.path is not None and not os.path.exists(self.path):
            raise UserError(f"{self.path}: no such file or folder (give the folder that holds the dataset, or a file of it)")
        check_seconds(self.seconds, "--seconds", 3600)
        if self.gpu_rate is not None and not (math.isfinite(self.gpu_rate) and self.gpu_rate > 0):
            raise UserError(f"--gpu-rate {self.gpu_rate:g}: give the samples per second the model consumes, a number above 0")
        if not 1 <= self.batch_size <= 4096:
            raise UserError(f"--batch-size {self.batch_size}: choose 1 to 4096")
        if not 1 <= self.max_samples <= 100_000:
            raise UserError(f"--samples {self.max_samples}: choose 1 to 100000")


def _why_raw(as_image: bool, extensions: frozenset) -> str:
    if as_image:
        return ""
    if not extensions:
        return "Pillow is not installed, so decoding is measured as raw bytes (`pip install pillow` to measure image decoding)"
    return "the files are not an image type Pillow reads, so decoding is measured as raw bytes"


def _sweep(found, as_image: bool, cores: float, budget: float, request: DataRequest, missing: str, on_step, step: int,
           total: int, rows: list) -> Sweep:
    """The DataLoader sweep, each finished row added to `rows` (kept after Ctrl-C); `missing`: why
    torch cannot run it (loader.missing_torch)."""
    if missing:
        return Sweep((), request.batch_size, skipped=missing)
    cuda = loader.cuda_available()
    pairs = loader.settings(cores, cuda)
    each = max(MIN_SETTING, budget / len(pairs))
    for n, row in enumerate(loader.sweep(found.items, as_image, pairs, each, request.batch_size)):
        rows.append(row)
        _tell(on_step, step + n + 1, total, f"DataLoader num_workers={row.workers} pin_memory={row.pin_memory}")
    return Sweep(tuple(rows), request.batch_size, pin_note="" if cuda else "pin_memory not tried: CUDA is not available here")


def _tell(on_step, done: int, total: int, text: str) -> None:
    if on_step is not None:
        on_step(done, total, text)


def _measure(root: str, request: DataRequest, roots: Roots, on_step, shown_path: str) -> DataReport:
    env = surroundings(root, roots)
    extensions = decode.image_extensions()
    found = files.find_items(root, request.max_samples, lambda p: decode.is_image(p, extensions), seconds=max(1.0, request.seconds * SCAN_SHARE))
    if not found.items:
        raise UserError(f"{shown_path}: no files to read in it (an empty folder?)")
    notes = [] if found.complete else [f"the folder is large: the samples were drawn from the first {found.files} files found"]
    as_image = any(decode.is_image(i.path, extensions) for i in found.items)
    usable = env.cores.usable
    missing = loader.missing_torch()
    total = 2 + (0 if missing else len(loader.settings(usable, False)))
    reads, cold_note, dec, sweep, rows, interrupted = [], "", None, None, [], False
    try:
        _tell(on_step, 0, total, "reading files")
        reads, cold_note = files.measure(found, request.seconds * READ_SHARE)
        _tell(on_step, 1, total, "decoding")
        dec = decode.measure(found.items, request.seconds * DECODE_SHARE, usable, as_image, _why_raw(as_image, extensions))
        _tell(on_step, 2, total, "DataLoader sweep")
        sweep = _sweep(found, as_image, usable, request.seconds * (1 - READ_SHARE - DECODE_SHARE), request, missing,
                       on_step, 2, total, rows)
    except KeyboardInterrupt:
        interrupted = True
        notes.append("interrupted (Ctrl-C): these are the measurements that finished")
        if rows:
            sweep = Sweep(tuple(rows), request.batch_size)
    best, name, text, verdicts = judge(env, reads, dec, sweep, request.gpu_rate)
    return DataReport(path=shown_path, samples_found=found.files, bytes_found=found.bytes, surroundings=env, reads=tuple(reads),
                      cold_note=cold_note, decode=dec, sweep=sweep, best=best, bottleneck=name, bottleneck_text=text,
                      gpu_rate=request.gpu_rate, verdicts=tuple(verdicts), notes=tuple(notes), interrupted=interrupted)


def run(request: DataRequest, on_step=None, roots: Roots = Roots()) -> DataReport:
    """Measure the dataset at request.path (or a generated one, removed after). on_step(done,
    total, text) as each step starts; Ctrl-C ends the run with a report of what finished (exit
    code 130). `roots`: where /proc and /sys are read (tests point them at a fake tree)."""
    request.validate()
    if request.path is not None:
        return _measure(request.path, request, roots, on_step, request.path)
    folder = tempfile.mkdtemp(prefix="envcheck-data-")
    try:
        _tell(on_step, 0, 1, "writing a sample dataset")
        sample_data.generate(folder)
        report = _measure(folder, request, roots, on_step, "(generated)")
        return report
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["DataReport", "DataRequest", "run"]
