"""How fast the dataset's files read: sequential (large blocks) and random (whole samples in a
shuffled order), cold where the page cache can be dropped for those files, then warm.

Everything is bounded: at most MAX_SCAN directory entries are looked at, at most `max_samples`
samples read, each pass stops at its deadline. By hand: `dd if=FILE of=/dev/null bs=1M` after
`echo 1 > /proc/sys/vm/drop_caches` (root only; envcheck drops just the sampled files' pages).
"""

from __future__ import annotations

import errno
import os
import random
import time
from typing import NamedTuple

from envcheck.datacheck.results import MB, ReadFigure

MAX_SCAN = 200_000  # directory entries looked at: a dataset of millions of files is sampled, not listed
RECORD = 128 * 1024  # a single large file is read as records of this size (a packed dataset's samples)
BLOCK = 1024 * 1024  # sequential reads
SEQUENTIAL_CAP = 512 * 1024 * 1024  # bytes one sequential pass reads at most


class Item(NamedTuple):
    """One sample: a whole file, or a record of a large one."""

    path: str
    offset: int
    size: int
    whole: bool = True  # False: a record of a larger file


class Found(NamedTuple):
    items: list  # the samples drawn
    files: int  # sample files found (those `wanted`, or all)
    bytes: int
    largest: list  # paths of the largest files seen, largest first: the sequential reads' files
    complete: bool = True  # False: the folder was larger than MAX_SCAN entries or the scan's time


def find_items(root: str, max_samples: int, wanted, seed: int = 0, seconds: float = 60.0) -> Found:
    """Up to `max_samples` samples drawn at random from the regular files under `root` (only those
    `wanted(path)` accepts, when any is: a folder of images and label files is sampled by its
    images), or a single file's records. The scan stops after MAX_SCAN entries or `seconds` (a
    stat is a round trip on a network filesystem): the sample then comes from what was seen."""
    if os.path.isfile(root):
        size = os.path.getsize(root)
        if wanted(root) or size <= RECORD:
            return Found([Item(root, 0, size)], 1, size, [root])
        offsets = list(range(0, size - RECORD + 1, RECORD))
        picked = sorted(random.Random(seed).sample(offsets, min(max_samples, len(offsets))))
        return Found([Item(root, o, RECORD, False) for o in picked], 1, size, [root])
    found, seen, stack, start = [], 0, [root], time.perf_counter()
    while stack and seen < MAX_SCAN and time.perf_counter() - start < seconds:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue  # an unreadable folder: the rest of the dataset still counts
        for e in entries:
            seen += 1
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file():
                    found.append(Item(e.path, 0, e.stat().st_size))
            except OSError:
                continue
    chosen = [i for i in (([i for i in found if wanted(i.path)] or found)) if i.size > 0]
    sample = random.Random(seed).sample(chosen, min(max_samples, len(chosen)))
    largest = [i.path for i in sorted(found, key=lambda i: -i.size)[:8] if i.size > 0]
    return Found(sample, len(chosen), sum(i.size for i in chosen), largest, complete=not stack)


def drop_cache(paths) -> str:
    """Ask the kernel to forget the cached pages of these files (fsync, then posix_fadvise
    DONTNEED, which a user may do to files they can read), then check one with a read that must not wait
    (preadv RWF_NOWAIT: EAGAIN means the page is gone). "" when the cache was dropped, else why not."""
    if not hasattr(os, "posix_fadvise"):
        return "this system cannot drop a file from the cache (no posix_fadvise: Windows, macOS), so only warm reads are measured"
    paths = list(dict.fromkeys(paths))
    why = ""
    for _ in range(3):  # a page still in a CPU's batch of pages to add to the LRU is skipped: ask again
        for p in paths:
            _advise_dontneed(p)
        why = _still_cached(paths[0]) if paths else ""
        if not why:
            break
    return why


def _advise_dontneed(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        try:
            os.fsync(fd)  # pages written but not yet on disk (a dataset just made) cannot be dropped
        except OSError:
            pass  # a read-only filesystem has nothing to write back
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def _still_cached(path: str) -> str:
    if not hasattr(os, "RWF_NOWAIT"):
        return ""  # cannot check: trust the advice
    fd = os.open(path, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(4096)], 0, os.RWF_NOWAIT)
    except OSError as exc:
        if exc.errno == errno.EAGAIN:
            return ""
        return "this filesystem cannot say whether the files left the cache (in memory, e.g. tmpfs?), so only warm reads are measured"
    finally:
        os.close(fd)
    return "this filesystem kept the files in the cache when asked to drop them, so only warm reads are measured"


def read_item(item: Item) -> bytes:
    """One sample's bytes, as a Dataset's __getitem__ reads them: `open(path, "rb").read()` for a
    whole file, a seek and a read for a record."""
    with open(item.path, "rb") as f:
        if item.whole:
            return f.read()
        f.seek(item.offset)
        return f.read(item.size)


def _figure(pattern: str, cache: str, samples: int, nbytes: int, seconds: float) -> ReadFigure:
    s = max(seconds, 1e-9)
    return ReadFigure(pattern, cache, samples, nbytes, round(seconds, 4), round(nbytes / s / MB, 2), round(samples / s, 1))


def random_pass(items: list, seconds: float, cache: str) -> tuple:
    """(figure, the items read): whole samples in the given (shuffled) order until the deadline;
    warm passes go round again while time is left (a cold one cannot: its second round is warm)."""
    done, count, nbytes, start = [], 0, 0, time.perf_counter()
    while True:
        for item in items:
            nbytes += len(read_item(item))
            count += 1
            if len(done) < len(items):
                done.append(item)
            if time.perf_counter() - start >= seconds:
                break
        if cache == "cold" or not items or time.perf_counter() - start >= seconds:
            break
    return _figure("random", cache, count, nbytes, time.perf_counter() - start), done


def sequential_pass(paths: list, seconds: float, cache: str) -> tuple:
    """(figure, the files read): files start to end in 1 MiB blocks, largest first, until the
    deadline or SEQUENTIAL_CAP bytes (warm: round again while time is left)."""
    buf = bytearray(BLOCK)
    done, count, nbytes, start = [], 0, 0, time.perf_counter()
    while True:
        for path in paths:
            with open(path, "rb", buffering=0) as f:
                while nbytes < SEQUENTIAL_CAP:
                    n = f.readinto(buf)
                    if not n:
                        break
                    nbytes += n
                    if time.perf_counter() - start >= seconds:
                        break
            count += 1
            if path not in done:
                done.append(path)
            if nbytes >= SEQUENTIAL_CAP or time.perf_counter() - start >= seconds:
                break
        if cache == "cold" or not paths or nbytes >= SEQUENTIAL_CAP or time.perf_counter() - start >= seconds:
            break
    return _figure("sequential", cache, count, nbytes, time.perf_counter() - start), done


def measure(found: Found, seconds: float) -> tuple:
    """(figures, cold_note): sequential and random reads, cold first where the cache can be dropped
    for those files (each cold pass drops it anew), then warm over what the first pass read."""
    figures, note = [], ""
    passes = (("sequential", sequential_pass, found.largest, lambda p: p), ("random", random_pass, found.items, lambda i: i.path))
    for _, one_pass, work, path_of in passes:
        why = drop_cache([path_of(w) for w in work])
        note = note or why
        first, read = one_pass(work, seconds / 4, "cold" if not why else "warm")
        if not why:
            figures.append(first)
        warm, _ = one_pass(read, seconds / 4, "warm")
        figures.append(warm)
    return figures, note
