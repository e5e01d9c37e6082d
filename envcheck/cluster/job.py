"""The work of `envcheck cluster`, done by every rank of the job through torch.distributed.

Each rank takes doctor's snapshot of its own process (torch read in-process: the rank has imported
it already), times a short matmul on its device, and takes part in an all-reduce sweep over all
ranks and, on a job of several nodes, in one sweep per node. The reports travel to rank 0 by
gather_object over gloo; rank 0 builds the report and sends the exit code back, so every rank exits
with the same code. envcheck adds no transport of its own.
"""

from __future__ import annotations

import os
import socket
from dataclasses import replace

from envcheck.bench import suites
from envcheck.bench.allreduce import sweep
from envcheck.bench.results import allreduce_result
from envcheck.cluster import rendezvous
from envcheck.cluster.launch import Launch
from envcheck.cluster.report import RankReport, build, exit_code
from envcheck.cluster.sizes import describe as sizing_note
from envcheck.cluster.sizes import message_cap, next_size
from envcheck.errors import UserError, describe
from envcheck.probes.collect import take_snapshot
from envcheck.probes.system import available_memory_bytes
from envcheck.probes.torch_probe import read_torch_here
from envcheck.snapshot.model import Snapshot

# Settings that change how NCCL (and gloo) move data: a node configured apart shows here. Read
# from an allow-list, never the whole environment (docs/DESIGN.md, "Reliability and security").
TRANSPORT_SETTINGS = (
    "NCCL_SOCKET_IFNAME", "NCCL_IB_DISABLE", "NCCL_IB_HCA", "NCCL_NET", "NCCL_NET_GDR_LEVEL", "NCCL_P2P_DISABLE",
    "NCCL_P2P_LEVEL", "NCCL_SHM_DISABLE", "NCCL_CROSS_NIC", "NCCL_ALGO", "NCCL_PROTO", "NCCL_NVLS_ENABLE",
    "NCCL_DEBUG", "GLOO_SOCKET_IFNAME",
)
MATMUL = {"cuda": ("fp16", 8192), "cpu": ("fp32", 1024)}  # dtype and size of the per-rank product


def _device(torch, launch: Launch, backend: str):
    if backend == "nccl":
        count = torch.cuda.device_count()
        index = launch.local_rank % count
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


def _model(torch, device) -> tuple[str, str]:
    """(name, compute capability) of this rank's device; ("CPU", "") off the GPU."""
    if device.type != "cuda":
        return "CPU", ""
    major, minor = torch.cuda.get_device_capability(device)
    return torch.cuda.get_device_name(device), f"{major}.{minor}"


def _matmul(torch, device, seconds: float):
    dtype, size = MATMUL[device.type]
    try:
        return suites.matmul(torch, device, dtype, size, seconds), ""
    except Exception as exc:  # out of memory, a broken device: a finding about this rank
        return None, f"matmul {dtype} {size}x{size} failed: {type(exc).__name__}: {exc}"


def _snapshot(tables) -> Snapshot:
    snap = take_snapshot(tables, torch=False)
    torch_info, packages, ort = read_torch_here()
    return replace(snap, torch=torch_info, packages=packages, onnxruntime=ort)


def _cpus() -> tuple:
    """The CPU cores this process may run on: its affinity (taskset, Slurm's binding, a container's
    cpuset) where the OS tells it, else every core."""
    if hasattr(os, "sched_getaffinity"):
        return tuple(sorted(os.sched_getaffinity(0)))
    return tuple(range(os.cpu_count() or 1))


NO_NCCL = "this torch build has no NCCL (torch.distributed.is_nccl_available() is False; Windows builds never have it)"


def choose_backend(requested: str | None, cuda: bool, nccl: bool) -> tuple:
    """(backend, note): NCCL where this rank's torch has CUDA and NCCL, else gloo, with a note when
    a GPU rank falls back to it. An explicit --backend nccl that cannot run is a UserError."""
    if requested == "nccl" and not cuda:
        raise UserError("--backend nccl needs CUDA, which this rank's torch cannot use: use --backend gloo, or leave --backend out")
    if requested == "nccl" and not nccl:
        raise UserError(f"--backend nccl: {NO_NCCL}: use --backend gloo, or leave --backend out")
    if requested:
        return requested, ""
    if cuda and not nccl:
        return "gloo", f"{NO_NCCL}, so the ranks talk through gloo on the CPU: the figures are the CPU's, not the GPUs'"
    return ("nccl" if cuda else "gloo"), ""


def run(launch: Launch, tables, seconds: float, timeout: float, backend: str | None = None, strict: bool = False) -> tuple:
    """(the report on rank 0, None on the others; the exit code, the same on every rank)."""
    import torch  # optional: torch is an extra, imported only where it runs

    try:
        import torch.distributed as dist  # optional: torch is an extra, imported only where it runs
    except ImportError:
        dist = None
    if dist is None or not dist.is_available():
        raise UserError("this torch build has no torch.distributed")
    nccl = getattr(dist, "is_nccl_available", lambda: False)()
    backend, note = choose_backend(backend, torch.cuda.is_available(), nccl)
    os.environ.update(launch.env())  # under srun, torch's env:// rendezvous reads these
    rendezvous.join(dist, backend, launch, timeout)
    try:
        return _run(torch, dist, launch, tables, seconds, backend, strict, (("backend", note),) if note else ())
    except UserError:
        raise
    except Exception as exc:  # a collective that failed or timed out: another rank died or is unreachable
        raise UserError(f"rank {launch.rank}: the job broke off: {describe(exc)} "
                        "(another rank failed, or did not answer within --timeout)") from exc
    finally:
        dist.destroy_process_group()


def _run(torch, dist, launch: Launch, tables, seconds: float, backend: str, strict: bool, notes: tuple) -> tuple:
    objects = dist.new_group(backend="gloo") if backend != "gloo" else None
    device = _device(torch, launch, backend)
    snap = _snapshot(tables)
    dist.barrier(group=objects)  # the products run together, as training would load the machine
    matmul, error = _matmul(torch, device, seconds)
    mine = RankReport(launch.rank, launch.node, socket.gethostname(), launch.local_rank, str(device), *_model(torch, device),
                      snap, tuple(f"{k}={os.environ[k]}" for k in TRANSPORT_SETTINGS if k in os.environ), matmul, error,
                      _cpus(), torch.get_num_threads())
    # The snapshots go to rank 0 alone: at hundreds of ranks, every rank holding all of them
    # would be megabytes each for nothing. Each rank needs only where the others are.
    reports: list | None = [None] * launch.world if launch.rank == 0 else None
    dist.gather_object(mine, reports, dst=0, group=objects)
    nodes: list = [None] * launch.world
    dist.all_gather_object(nodes, launch.node, group=objects)

    caps: list = [None] * launch.world
    dist.all_gather_object(caps, _message_cap(torch, device, launch), group=objects)
    known_caps = [c for c in caps if c is not None]
    args = {"backend": backend, "seconds": seconds}
    rows, sizing = _climb(args, device, min(known_caps) if known_caps else None, launch.world)
    everyone = allreduce_result(f"all-reduce ({launch.world} ranks, {backend})", backend, rows)
    # each node at the same sizes, so that their largest messages compare
    node_results = _per_node(dist, nodes, {**args, "sizes": [r["bytes"] for r in rows]}, device, objects)
    notes += (("all-reduce", sizing_note(sizing, backend, seconds)),)
    report = build(launch.launcher, backend, reports, everyone, node_results, tables, strict, notes) if reports is not None else None
    code = [exit_code(report) if report is not None else None]
    dist.broadcast_object_list(code, src=0, group=objects)
    return report, code[0]


def _message_cap(torch, device, launch: Launch):
    """Bytes one all-reduce message may take on this rank: a share of its GPU's free memory (the
    matmul's cached blocks handed back first), or of the node's available memory for the CPU."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        free, _ = torch.cuda.mem_get_info(device)
        ranks_per_gpu = -(-launch.local_world // max(1, torch.cuda.device_count()))
        return message_cap(free, ranks_per_gpu)
    return message_cap(available_memory_bytes(), launch.local_world)


def _climb(args: dict, device, cap, world: int) -> tuple:
    """The all-reduce sweep over all ranks, one size after another up the ladder of cluster.sizes,
    while memory and --seconds allow: every rank sees the same times, so all stop together."""
    rows: list = []
    while True:
        size, sizing = next_size(rows, cap, args["seconds"], world)
        if size is None:
            return rows, sizing
        rows += sweep({**args, "sizes": [size]}, device)


def _per_node(dist, nodes: list, args: dict, device, objects) -> tuple:
    """One sweep inside each node at once, when the job spans several: the node whose own links
    are slow shows against the others. nodes: each rank's node. The results, on rank 0."""
    members: dict = {}
    for rank, node in enumerate(nodes):
        members.setdefault(node, []).append(rank)
    if len(members) < 2:
        return ()
    me = dist.get_rank()
    for node, ranks in sorted(members.items()):
        group = dist.new_group(ranks=ranks)  # every rank creates every group, in one order
        if me in ranks:
            mine = (node, group, len(ranks))
    node, group, size = mine
    rows = sweep(args, device, group) if size >= 2 else None
    gathered: list | None = [None] * dist.get_world_size() if me == 0 else None
    dist.gather_object((node, rows) if me == min(members[node]) else None, gathered, dst=0, group=objects)
    return tuple(allreduce_result(f"node {n}", args["backend"], rows) for n, rows in sorted(x for x in gathered or () if x and x[1]))
