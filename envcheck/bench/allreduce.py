"""All-reduce bandwidth across ranks through torch.distributed: gloo between CPU processes, NCCL
between GPUs. One process per rank on loopback; every collective runs under the process group's
timeout, so a pair of GPUs without working P2P fails with a message instead of hanging.

Bandwidths as nccl-tests define them: algbw = bytes / time; busbw = algbw · 2(n−1)/n, the traffic
each link really carries in a ring all-reduce.

Run by the parent as `python -m envcheck.bench.allreduce '<json>'` with RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT set; rank 0 prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import timedelta

from envcheck.bench.results import size_label
from envcheck.bench.worker import report

MARK = "ENVCHECK-ALLREDUCE "


# Message sizes in bytes per level of `envcheck bench`; `envcheck cluster` uses "quick".
SWEEPS = {"quick": [1 << 10, 1 << 20, 16 << 20], "standard": [1 << 10, 1 << 14, 1 << 18, 1 << 22, 1 << 26],
          "long": [1 << 10, 1 << 14, 1 << 18, 1 << 22, 1 << 26, 1 << 28]}


def sweep(args: dict, device=None, group=None, on_size=None) -> list:
    """Every rank of `group` (default: all) calls this with the same args. `device` defaults to
    cuda:0 for NCCL (a bench worker sees only its own GPU) and the CPU for gloo. on_size(i, size,
    finished) is told as each message size starts and ends (bench's progress bar)."""
    import torch  # optional: torch is an extra, imported only where it runs
    import torch.distributed as dist  # optional: torch is an extra, imported only where it runs

    world = dist.get_world_size(group)
    device = device or torch.device("cuda:0" if args["backend"] == "nccl" else "cpu")
    out = []
    for i, size in enumerate(args["sizes"]):
        if on_size:
            on_size(i, size, False)
        t = torch.ones(max(1, size // 4), device=device)
        for _ in range(2):
            dist.all_reduce(t, group=group)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times = []
        deadline = time.perf_counter() + args["seconds"]
        go = torch.ones(1, device=device)
        while True:
            dist.barrier(group=group)
            start = time.perf_counter()
            dist.all_reduce(t, group=group)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
            # Every rank must run the same number of collectives, or the next one deadlocks:
            # all agree to go on only while every one of them wants to (MIN over the ranks).
            go.fill_(1.0 if len(times) < 5 or (time.perf_counter() < deadline and len(times) < 200) else 0.0)
            dist.all_reduce(go, op=dist.ReduceOp.MIN, group=group)
            if go.item() == 0:
                break
        # every rank must agree how long the slowest took: use rank 0's median of the max over ranks
        med = torch.tensor([statistics.median(times)], device=device)
        dist.all_reduce(med, op=dist.ReduceOp.MAX, group=group)
        algbw = size / med.item() / 1e9
        out.append({"bytes": size, "seconds": med.item(), "algbw": algbw, "busbw": algbw * 2 * (world - 1) / world, "runs": len(times)})
        if on_size:
            on_size(i, size, True)
    return out


def _report(i: int, size: int, finished: bool) -> None:
    report({"suite": "sweep", "state": "done", "done": i + 1} if finished else {"suite": "sweep", "step": size_label(size), "state": "start"})


def main(args: dict) -> None:
    import torch.distributed as dist  # optional: torch is an extra, imported only where it runs

    dist.init_process_group(args["backend"], timeout=timedelta(seconds=args["timeout"]))
    try:
        rows = sweep(args, on_size=_report if dist.get_rank() == 0 else None)
        if dist.get_rank() == 0:
            print(MARK + json.dumps({"world": dist.get_world_size(), "backend": args["backend"], "rows": rows}), flush=True)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
    os._exit(0)  # no teardown hang in a backend's threads
