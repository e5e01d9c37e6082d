"""`envcheck bench`: measure the chosen devices, judge them against their peak and their siblings."""

from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.errors import UserError
from envcheck.numbers import seconds as check_seconds

SUITES = ("matmul", "conv", "memory", "allreduce")
LATER: tuple = ()
LEVELS = {"quick": 1.0, "standard": 5.0, "long": 30.0}  # seconds per measurement


def _list(text: Optional[str], allowed: tuple, option: str, later: tuple = ()) -> list:
    items = [x.strip() for x in (text or "").split(",") if x.strip()]
    for x in items:
        if x in later:
            raise UserError(f"{option} {x}: this envcheck measures {', '.join(allowed)}; {x} is not implemented yet")
        if x not in allowed:
            raise UserError(f"{option} {x!r} is not one of: {', '.join(allowed)}")
    return items


def bench(
    gpus: Annotated[Optional[str], typer.Option("--gpus", help="GPUs by nvidia-smi index or UUID, e.g. 0,2,3 (default: all).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="cpu to benchmark the CPU instead of GPUs.")] = None,
    suite: Annotated[Optional[str], typer.Option("--suite", help="matmul,conv,memory,allreduce (default: all).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="With --device cpu: processes for the all-reduce suite.")] = 2,
    dtype: Annotated[Optional[str], typer.Option("--dtype", help="fp32,tf32,fp16,bf16 for matmul (default: all the device offers).")] = None,
    size: Annotated[Optional[int], typer.Option("--size", help="Matrix size n for n×n matmul.")] = None,
    level: Annotated[str, typer.Option("--level", help="quick, standard or long: the time spent per measurement.")] = "standard",
    seconds: Annotated[Optional[float], typer.Option("--seconds", help="Seconds per measurement (overrides --level).")] = None,
    sequential: Annotated[bool, typer.Option("--sequential", help="One device after another instead of all at once.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a device's worker may take before it is killed.")] = 600.0,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark matmul and memory bandwidth per device, against the datasheet peak and sibling GPUs."""
    from envcheck.bench import runner
    from envcheck.bench.allreduce import SWEEPS
    from envcheck.bench.verdicts import exit_code, judge
    from envcheck.compat import tables
    from envcheck.render import bench as render
    from envcheck.render import progress
    from envcheck.render.console import fenced, out, print_json

    if level not in LEVELS:
        raise UserError(f"--level {level!r} is not one of: {', '.join(LEVELS)}")
    if device not in (None, "cpu", "cuda"):
        raise UserError(f"--device {device!r} is not one of: cpu, cuda")
    if device == "cpu" and gpus:
        raise UserError("--device cpu and --gpus contradict each other: choose one")
    if size is not None and not 64 <= size <= 65536:
        raise UserError(f"--size {size}: choose a matrix size from 64 to 65536")
    check_seconds(seconds, "--seconds", 3600)
    check_seconds(timeout, "--timeout")
    if not 1 <= workers <= 64:
        raise UserError(f"--workers {workers}: choose 1 to 64 processes")
    suites = _list(suite, SUITES, "--suite", LATER) or list(SUITES)
    per = seconds or LEVELS[level]
    from envcheck.cli.precheck import torch_importable

    torch_importable("envcheck bench", timeout=min(timeout, 300.0))  # the workers import it for real
    t = tables()
    rows: dict = {}
    reasons: dict = {}
    notes: list = []
    if device == "cpu":
        import os

        from envcheck.probes.system import read_system

        dtypes = _list(dtype, ("fp32", "fp16", "bf16"), "--dtype") or ["fp32", "bf16"]
        threads = os.cpu_count() or 1
        args = {"device": "cpu", "suites": suites, "dtypes": dtypes, "size": size or (1024 if level == "quick" else 2048),
                "megabytes": 256, "seconds": per, "threads": threads, "conv_dtypes": ["fp32"], "batch": 8}
        mapping = [{"device": "CPU", "model": read_system().cpu, "threads": threads}]
        jobs = [("CPU", args, {})]
        ranks = [{}] * workers
        backend = "gloo"
    else:
        from envcheck.bench.selection import busy, select
        from envcheck.probes.nvml import read_driver

        dtypes = _list(dtype, ("fp32", "tf32", "fp16", "bf16"), "--dtype") or ["fp32", "tf32", "fp16", "bf16"]
        driver = read_driver()
        chosen = select(gpus, driver, __import__("os").environ)
        notes = list(chosen.notes) + busy(chosen, driver)
        jobs, mapping = [], []
        gpu_info = {g.index: g for g in driver.gpus}
        for d in chosen.devices:
            label = f"GPU {d.nvml_index}"
            g = gpu_info[d.nvml_index]
            rows[label] = t.gpu(d.name) if isinstance(d.name, str) else None
            reasons[label] = tuple(x for x in (g.clocks_event_reasons or ()) if isinstance(g.clocks_event_reasons, tuple) and x != "gpu_idle")
            mapping.append({"device": label, "name": d.name, "uuid": d.uuid, "pci": d.pci_bus_id, "worker": "cuda:0",
                            "pcie": g.pcie_link if isinstance(g.pcie_link, str) else None,
                            "power limit W": g.power_limit_w if isinstance(g.power_limit_w, (int, float)) else None,
                            "SM clock MHz": (f"{g.sm_clock_mhz}/{g.max_sm_clock_mhz}"
                                             if isinstance(g.sm_clock_mhz, int) and isinstance(g.max_sm_clock_mhz, int) else None)})
            jobs.append((label, {"device": "cuda:0", "suites": suites, "dtypes": dtypes, "size": size or (4096 if level == "quick" else 8192),
                                 "megabytes": 1024, "seconds": per, "conv_dtypes": ["fp16", "bf16"], "batch": 64}, d.worker_env))
        ranks = [d.worker_env for d in chosen.devices]
        backend = "nccl"
        if "allreduce" in suites and len(chosen.devices) >= 2:
            grid, problem = runner.p2p_matrix(",".join(e["CUDA_VISIBLE_DEVICES"] for e in ranks))
            labels = [f"GPU {d.nvml_index}" for d in chosen.devices]
            if grid:
                notes.append("peer-to-peer access: " + "; ".join(
                    f"{a}→{b} {'yes' if grid[i][j] else 'NO'}" for i, a in enumerate(labels) for j, b in enumerate(labels) if i != j))
            else:
                notes.append(f"peer-to-peer access unknown: {problem}")
    per_device = [s for s in suites if s != "allreduce"]
    results: list = []
    interrupted = False
    chosen = chosen_format(fmt, as_json)
    try:
        with progress.display(json_output=chosen is Format.json) as shown:
            on_progress = progress.bench_events(shown)
            if per_device:
                results = runner.run_devices([(label, {**a, "suites": per_device}, e) for label, a, e in jobs], timeout, sequential, on_progress)
            if "allreduce" in suites:
                if len(ranks) < 2:
                    notes.append("all-reduce needs at least 2 ranks: skipped (choose 2 or more GPUs, or --workers 2 with --device cpu)")
                else:
                    results.append(runner.run_allreduce(ranks, backend, SWEEPS[level], per, min(timeout, 120.0), on_progress))
    except runner.Interrupted as stop:  # Ctrl-C: report every measurement that finished, exit 130
        results += stop.results
        interrupted = True
        notes.append("interrupted (Ctrl-C): these are the measurements that finished")
    verdicts = judge(results, rows, reasons)
    code = 130 if interrupted else exit_code(verdicts)
    if chosen is Format.json:
        print_json("bench", code, render.as_dict(mapping, results, verdicts, notes))
    elif chosen is Format.markdown:
        out().print(fenced("envcheck bench", lambda c: render.text(mapping, results, verdicts, notes, rows, c)), end="")
    else:
        render.text(mapping, results, verdicts, notes, rows, out())
    raise typer.Exit(code)
