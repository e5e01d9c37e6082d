"""The message sizes of cluster's all-reduce sweep: large enough that bus bandwidth means something,
within the memory each rank can spare and the time the user gave (--seconds per size).

nccl-tests define the figures (doc/PERFORMANCE.md in github.com/NVIDIA/nccl-tests): algbw = S / t,
and for all-reduce busbw = algbw * 2(n-1)/n, which is set against the links' peak. At small sizes
the time is latency, not bandwidth ("on large sizes, the time becomes linear with the size"), and
their README sweeps `all_reduce_perf -b 8 -e 128M -f 2`; runs across nodes sweep to `-e 8G`. In one
such run (2 nodes of 8 H100, all_reduce_perf -b 8 -e 8G, github.com/lessizzmore/create-a3mega-ztan-fork,
file ztan-NCCL-test-result) busbw was 32 GB/s at 16 MiB, 213 at 256 MiB, 298 at 1 GiB, 331 at
4 GiB and 339 at 8 GiB: 16 MiB measures a tenth of the links, 1 GiB nearly all of them. Between 8
A100s over NVLink, sendrecv levels off from 256 MiB (189 GB/s, 195 at 1 GiB; github.com/li-plus/
playground, cuda/nccl.md). So the sweep climbs to 4 GiB where memory and time allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from envcheck.bench.results import size_label

ALWAYS = (1 << 10, 1 << 20, 16 << 20)  # latency, and the small sizes every machine affords
LARGER = (256 << 20, 1 << 30, 4 << 30)  # where bus bandwidth nears its plateau (see above)
PLATEAU = 1 << 30  # below it, busbw understates NVLink and InfiniBand links
RUNS = 7  # all-reduces one size costs at least: 2 to warm up and 5 timed (bench.allreduce.sweep)
SHARE = 4  # one message may take a quarter of the memory a rank can spare


@dataclass(frozen=True)
class Sizing:
    """Why the sweep stopped where it did."""

    largest: int  # bytes of the largest message measured
    limit: str  # top (the whole ladder ran) | memory | time | one rank (no link to measure)
    memory: Optional[int] = None  # bytes a message could take, on the rank with the least to spare
    left_out: int = 0  # the next size, when memory or time left it out
    estimate: float = 0.0  # seconds one all-reduce of it would take, from the last size measured


def message_cap(free_bytes: Optional[int], ranks_sharing: int = 1) -> Optional[int]:
    """The largest message a rank affords out of what is free on its device (a GPU, or the node's
    memory for the CPU), shared with the ranks on the same device; None when unknown."""
    if free_bytes is None:
        return None
    return max(0, free_bytes) // (SHARE * max(1, ranks_sharing))


def next_size(rows: list, cap: Optional[int], seconds: float, world: int):
    """(the next message size, None) while the sweep goes on, else (None, Sizing). rows: what the
    sweep measured so far ({"bytes", "seconds"} each, the same on every rank, so that every rank
    decides alike and runs the same collectives)."""
    done = len(rows)
    if done < len(ALWAYS):
        return ALWAYS[done], None
    largest = rows[-1]["bytes"]
    if world < 2:
        return None, Sizing(largest, "one rank")
    if done >= len(ALWAYS) + len(LARGER):
        return None, Sizing(largest, "top", cap)
    size = LARGER[done - len(ALWAYS)]
    estimate = rows[-1]["seconds"] * size / largest  # time grows at most linearly with the size
    if cap is not None and size > cap:
        return None, Sizing(largest, "memory", cap, size, estimate)
    if estimate * RUNS > seconds:
        return None, Sizing(largest, "time", cap, size, estimate)
    return size, None


def describe(sizing: Sizing, backend: str, seconds: float) -> str:
    """One line for the report: the size the nodes are compared at, and why not larger."""
    top = size_label(sizing.largest)
    if sizing.limit == "one rank":
        return f"largest message {top}: with one rank there is no link to measure"
    if sizing.limit == "top":
        return f"largest message {top}, where bus bandwidth levels off"
    if sizing.limit == "memory":
        why = f"{size_label(sizing.left_out)} would not fit in the memory a rank can spare ({size_label(sizing.memory or 0)} a message)"
    else:
        why = (f"{size_label(sizing.left_out)} would take about {sizing.estimate * RUNS:.2g} s, more than --seconds {seconds:g}; "
               "raise --seconds to measure it")
    low = backend == "nccl" and sizing.largest < PLATEAU
    tail = "; bus bandwidth is still climbing at this size, so the figures understate the links" if low else ""
    return f"largest message {top}: {why}{tail}"
