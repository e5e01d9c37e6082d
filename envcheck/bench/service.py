"""`envcheck bench` as a service: a typed request in, a report with its own exit code out.

The steps, each answered in one place: which devices (bench.selection, on the driver NVML reads),
what each worker measures (results.WorkerArgs, with the dtypes its GPU runs: bench.capability),
running the workers (bench.runner) while NVML is read beside them (bench.sampler), judging the
figures and the readings (bench.verdicts). The CLI only parses the options into a BenchRequest and
renders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from envcheck.bench import runner
from envcheck.bench.allreduce import SWEEPS
from envcheck.bench.capability import offered
from envcheck.bench.results import BenchReport, DeviceResult, DeviceRow, Skipped, WorkerArgs
from envcheck.bench.runner import Job, p2p_matrix
from envcheck.bench.sampler import Sampler, summarise
from envcheck.bench.selection import busy, select
from envcheck.bench.verdicts import judge
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.numbers import seconds as check_seconds
from envcheck.probes.nvml import read_driver
from envcheck.probes.precheck import torch_importable
from envcheck.probes.system import read_system

SUITES = ("matmul", "conv", "memory", "allreduce")
LEVELS = {"quick": 1.0, "standard": 5.0, "long": 30.0}  # seconds per measurement
DEVICES = ("cpu", "cuda")
GPU_DTYPES = ("fp32", "tf32", "fp16", "bf16")
CPU_DTYPES = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class BenchRequest:
    gpus: str | None = None  # --gpus as typed: nvidia-smi indices or UUIDs (bench.selection)
    device: str | None = None  # None or "cuda": GPUs; "cpu": the CPU
    suites: tuple = SUITES
    workers: int = 2  # CPU all-reduce ranks
    dtypes: tuple = ()  # matmul's; (): every one the device offers
    size: int | None = None
    level: str = "standard"
    seconds: float | None = None  # per measurement; None: the level's
    sequential: bool = False
    timeout: float = 600.0

    def validate(self) -> None:
        """Every option a user can get wrong, as one line, before any work starts."""
        if self.level not in LEVELS:
            raise UserError(f"--level {self.level!r} is not one of: {', '.join(LEVELS)}")
        if self.device not in (None, *DEVICES):
            raise UserError(f"--device {self.device!r} is not one of: {', '.join(DEVICES)}")
        if self.device == "cpu" and self.gpus:
            raise UserError("--device cpu and --gpus contradict each other: choose one")
        if self.size is not None and not 64 <= self.size <= 65536:
            raise UserError(f"--size {self.size}: choose a matrix size from 64 to 65536")
        check_seconds(self.seconds, "--seconds", 3600)
        check_seconds(self.timeout, "--timeout")
        if not 1 <= self.workers <= 64:
            raise UserError(f"--workers {self.workers}: choose 1 to 64 processes")
        for s in self.suites:
            if s not in SUITES:
                raise UserError(f"--suite {s!r} is not one of: {', '.join(SUITES)}")
        offered = CPU_DTYPES if self.device == "cpu" else GPU_DTYPES
        for d in self.dtypes:
            if d not in offered:
                raise UserError(f"--dtype {d!r} is not one of: {', '.join(offered)}")

    @property
    def per_measurement(self) -> float:
        return self.seconds or LEVELS[self.level]


@dataclass(frozen=True)
class _Plan:
    devices: tuple  # DeviceRow
    jobs: list  # runner.Job, one per device; empty when only the all-reduce was asked for
    ranks: list  # each all-reduce rank's extra environment
    backend: str
    notes: list
    peaks: dict
    sampled: dict  # label -> NVML index of each GPU read under load (bench.sampler)
    skipped: dict  # label -> tuple[Skipped, ...]: dtypes its GPU does not run natively


def _cpu_plan(request: BenchRequest, suites: tuple) -> _Plan:
    """suites: those each device's worker runs (all but the all-reduce, which has its own ranks)."""
    threads = os.cpu_count() or 1
    args = WorkerArgs(device="cpu", suites=suites, dtypes=request.dtypes or ("fp32", "bf16"),
                      size=request.size or (1024 if request.level == "quick" else 2048), megabytes=256,
                      seconds=request.per_measurement, conv_dtypes=("fp32",), batch=8, threads=threads)
    row = DeviceRow("CPU", gpu=False, model=read_system().cpu, threads=threads)
    return _Plan((row,), [Job("CPU", args, {})] if suites else [], [{}] * request.workers, "gloo", [], {}, {}, {})


def _known(value, kind):
    return value if isinstance(value, kind) else None


def _gpu_plan(request: BenchRequest, suites: tuple, allreduce: bool, env) -> _Plan:
    """The GPUs chosen by --gpus, in nvidia-smi's numbering; each worker's CUDA_VISIBLE_DEVICES
    names its GPU by UUID under CUDA_DEVICE_ORDER=PCI_BUS_ID, so its cuda:0 is that board. Each
    worker is offered only the dtypes its GPU runs natively, by the compute capability NVML reports
    (the worker asks torch where NVML could not say)."""
    t = tables()
    driver = read_driver()
    chosen = select(request.gpus, driver, env)
    notes = list(chosen.notes) + busy(chosen, driver)
    by_index = {g.index: g for g in driver.gpus}
    args = WorkerArgs(device="cuda:0", suites=suites, dtypes=request.dtypes or GPU_DTYPES,
                      size=request.size or (4096 if request.level == "quick" else 8192), megabytes=1024,
                      seconds=request.per_measurement, conv_dtypes=("fp16", "bf16"), batch=64)
    rows, jobs, peaks, sampled, skipped = [], [], {}, {}, {}
    for d in chosen.devices:
        label, g = d.label, by_index[d.nvml_index]
        peaks[label] = _peaks(t.gpus.get(g.name) if isinstance(g.name, str) else None, d.mig, g)
        cc = _known(g.compute_capability, str)
        rows.append(DeviceRow(label, True, d.name, d.uuid, d.pci_bus_id, "cuda:0", cc, _known(g.power_limit_w, (int, float)),
                              _known(g.max_sm_clock_mhz, int)))
        runs, skips = {}, []
        for suite, attr in (("matmul", "dtypes"), ("conv", "conv_dtypes")):
            runs[attr], why = offered(getattr(args, attr), cc if suite in suites else None)
            skips += [Skipped(suite, name, reason) for name, reason in why.items()]
        skipped[label] = tuple(skips)
        sampled[label] = d.nvml_index
        if suites:
            jobs.append(Job(label, replace(args, **runs), d.worker_env))
    if request.dtypes and "matmul" in suites and not any(j.args.dtypes for j in jobs):
        first = next(iter(skipped.values()))[0]
        raise UserError(f"--dtype {','.join(request.dtypes)}: no chosen GPU runs it natively ({rows[0].device}: {first.reason})")
    ranks = [d.worker_env for d in chosen.devices]
    if any(d.mig is not None for d in chosen.devices):
        # NVIDIA MIG User Guide, "Application Considerations": "NCCL is currently not supported with MIG"
        if allreduce and len(ranks) >= 2:
            notes.append("all-reduce skipped: NCCL, which torch.distributed uses on GPUs, does not run across MIG devices")
        ranks = []
    if allreduce and len(ranks) >= 2:
        grid, problem = p2p_matrix(",".join(e["CUDA_VISIBLE_DEVICES"] for e in ranks))
        labels = [d.label for d in chosen.devices]
        if grid:
            notes.append("peer-to-peer access: " + "; ".join(
                f"{a}→{b} {'yes' if grid[i][j] else 'NO'}" for i, a in enumerate(labels) for j, b in enumerate(labels) if i != j))
        else:
            notes.append(f"peer-to-peer access unknown: {problem}")
    return _Plan(tuple(rows), jobs, ranks, "nccl", notes, peaks, sampled, skipped)


def _peaks(row, mig, gpu):
    """The datasheet figures a device is judged against: the GPU's row, or for a MIG device its
    share of them: compute by its SMs of the GPU's, memory bandwidth by its memory of the GPU's
    (NVIDIA MIG User Guide, "Terminology": a memory slice is an eighth of capacity and bandwidth)."""
    if row is None or mig is None:
        return row
    sms = mig.sm_count if isinstance(mig.sm_count, int) else None
    # the GPU's own total (NVML gives it to root only in MIG mode), else its row's one marketed size
    whole = gpu.memory_total_mib if isinstance(gpu.memory_total_mib, int) else (
        row.memory_gib[0] * 1024 if len(row.memory_gib) == 1 else None)
    mib = mig.memory_total_mib if isinstance(mig.memory_total_mib, int) else None
    if not sms or not row.sms or not whole or not mib:
        return None  # no share known: no datasheet figure rather than the whole GPU's
    compute, memory = sms / row.sms, min(mib / whole, 1.0)
    return row._replace(peaks={k: v * compute for k, v in row.peaks.items()}, mem_bw_gbs=row.mem_bw_gbs * memory,
                        marketing=f"{row.marketing}, MIG {sms} of {row.sms} SMs")


def _with_load(results: list, plan: _Plan, readings: dict, problem: str) -> list:
    """Each GPU's result with the dtypes it skipped and its state under load (bench.sampler)."""
    rows = {row.device: row for row in plan.devices}
    out = []
    for r in results:
        if r.label not in plan.sampled:
            out.append(r)
            continue
        row = rows[r.label]
        load = summarise(readings.get(r.label, []), row.max_sm_clock_mhz, row.power_limit_w, problem)
        out.append(replace(r, skipped=plan.skipped.get(r.label, ()) + r.skipped, load=load))
    return out


def _measure(plan: _Plan, request: BenchRequest, on_progress) -> list:
    """The workers' results, each GPU's with what NVML read while they loaded it; after Ctrl-C,
    those of the measurements that finished, readings included."""
    sampler = Sampler(plan.sampled).start()
    stopped = None
    try:
        results = runner.run_devices(plan.jobs, request.timeout, request.sequential, on_progress)
    except runner.Interrupted as stop:
        results, stopped = stop.results, stop
    finally:
        readings, problem = sampler.stop()  # whatever ends the run ends the reading
    results = _with_load(results, plan, readings, problem)
    if stopped is not None:
        raise runner.Interrupted(results) from None
    return results


def run(request: BenchRequest, on_progress=None, env=None) -> BenchReport:
    """Measure the requested devices. on_progress(label, event) as bench.runner's; Ctrl-C ends the
    run with a report of what finished (exit code 130). `env`: the environment the user's
    CUDA_VISIBLE_DEVICES is read from (default: this process's)."""
    request.validate()
    suites = request.suites or SUITES
    per_device, allreduce = tuple(s for s in suites if s != "allreduce"), "allreduce" in suites
    torch_importable("envcheck bench", timeout=min(request.timeout, 300.0))  # the workers import it for real
    if request.device == "cpu":
        plan = _cpu_plan(request, per_device)
    else:
        plan = _gpu_plan(request, per_device, allreduce, os.environ if env is None else env)
    notes = list(plan.notes)
    results: list = []
    interrupted = False
    try:
        if plan.jobs:
            results = _measure(plan, request, on_progress)
        if allreduce:
            if len(plan.ranks) < 2:
                notes.append("all-reduce needs at least 2 ranks: skipped (choose 2 or more GPUs, or --workers 2 with --device cpu)")
            else:
                results.append(runner.run_allreduce(plan.ranks, plan.backend, SWEEPS[request.level], request.per_measurement,
                                                    min(request.timeout, 120.0), on_progress))
    except runner.Interrupted as stop:  # Ctrl-C: report every measurement that finished
        results += stop.results
        interrupted = True
        notes.append("interrupted (Ctrl-C): these are the measurements that finished")
    verdicts = judge(results, plan.peaks)
    return BenchReport(plan.devices, tuple(results), tuple(verdicts), tuple(notes), plan.peaks, interrupted)


__all__ = ["BenchReport", "BenchRequest", "DeviceResult", "DeviceRow", "run"]
