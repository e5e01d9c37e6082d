"""One device's benchmark, in its own process: `python -m envcheck.bench.worker '<WorkerArgs as JSON>'`.

Its CUDA_VISIBLE_DEVICES (set by the parent) makes cuda:0 exactly the selected GPU. It prints one
JSON line; out-of-memory halves the problem and says so; a dtype its GPU does not run natively is
skipped with the reason (bench.capability, on the capability torch reports); any other failure of a
suite is recorded, not raised, so one bad suite never loses the others.
"""

from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager
from dataclasses import asdict

from envcheck.bench import suites
from envcheck.bench.capability import unsupported
from envcheck.bench.results import ANSWER, PROGRESS, Skipped, WorkerArgs


def report(event: dict) -> None:
    """One progress line for the parent, which reads stdout as it comes."""
    print(PROGRESS + json.dumps(event), flush=True)


@contextmanager
def _step(done: dict, suite: str, step: str, count: int = 1):
    """Tell the parent a measurement starts and, failed or not, that it ended."""
    report({"suite": suite, "step": step, "state": "start"})
    try:
        yield
    finally:
        done[suite] = done.get(suite, 0) + count
        report({"suite": suite, "state": "done", "done": done[suite]})


def _oom(torch, exc: BaseException) -> bool:
    oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", ())
    return isinstance(exc, MemoryError) or (oom and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def _shrinking(torch, fn, size: int, floor: int):
    """fn(size), halving size on out-of-memory; (result, note)."""
    note = ""
    while True:
        try:
            return fn(size), note
        except Exception as exc:
            if not _oom(torch, exc) or size // 2 < floor:
                raise
            size //= 2
            note = f"out of memory: shrunk to {size}"
            if hasattr(torch, "cuda") and torch.cuda.is_available():
                torch.cuda.empty_cache()


def run(args: WorkerArgs) -> dict:
    """Every suite asked for; Ctrl-C ends the run with the measurements that finished."""
    measurements: list = []
    errors: list = []
    answer = {"name": "", "measurements": measurements, "errors": errors, "skipped": [], "torch": ""}
    try:
        _run(args, answer)
    except KeyboardInterrupt:
        errors.append("interrupted (Ctrl-C): the measurements after these did not run")
    return answer


def _run(args: WorkerArgs, answer: dict) -> None:
    import torch  # optional: torch is an extra, imported only where it runs

    answer["torch"] = torch.__version__
    device = torch.device(args.device)
    if device.type == "cpu" and args.threads:
        torch.set_num_threads(args.threads)
    name = answer["name"] = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    measurements, errors, skipped = answer["measurements"], answer["errors"], answer["skipped"]
    capability = torch.cuda.get_device_capability(device) if device.type == "cuda" else None
    seconds = args.seconds
    done: dict = {}
    if "matmul" in args.suites:
        for dt in args.dtypes:
            try:
                with _step(done, "matmul", dt):
                    why = unsupported(dt, capability)
                    if why:  # the parent could not tell (NVML did not know the capability); torch can
                        skipped.append(asdict(Skipped("matmul", dt, why)))
                        continue
                    m, note = _shrinking(torch, lambda n, dt=dt: suites.matmul(torch, device, dt, n, seconds), args.size, 256)
                    measurements.append({**asdict(m), "note": "; ".join(x for x in (m.note, note) if x)})
            except Exception as exc:
                errors.append(f"matmul {dt}: {type(exc).__name__}: {exc}")
    if "conv" in args.suites:
        for dt in args.conv_dtypes:
            try:
                with _step(done, "conv", dt, count=2):
                    why = unsupported(dt, capability)
                    if why:
                        skipped.append(asdict(Skipped("conv", dt, why)))
                        continue
                    ms, note = _shrinking(torch, lambda n, dt=dt: suites.conv(torch, device, dt, n, seconds), args.batch, 1)
                    measurements += [{**asdict(m), "note": "; ".join(x for x in (m.note, note) if x)} for m in ms]
            except Exception as exc:
                errors.append(f"conv {dt}: {type(exc).__name__}: {exc}")
    if "memory" in args.suites:
        try:
            with _step(done, "memory", "copy"):
                m, note = _shrinking(torch, lambda mb: suites.memory_copy(torch, device, mb, seconds), args.megabytes, 16)
                measurements.append({**asdict(m), "note": note})
            if device.type == "cuda":
                with _step(done, "memory", "pinned host<->device", count=2):
                    measurements += [asdict(x) for x in suites.memory_host(torch, device, args.megabytes, seconds)]
        except Exception as exc:
            errors.append(f"memory: {type(exc).__name__}: {exc}")
    del name


def _break_is_ctrl_c() -> None:
    """On Windows the parent asks a worker to stop with CTRL_BREAK_EVENT (bench.runner), which
    arrives as SIGBREAK, whose default ends the process without its answer: make it stop at the
    current measurement as Ctrl-C does (signal.default_int_handler raises KeyboardInterrupt)."""
    brk = getattr(signal, "SIGBREAK", None)  # Windows only
    if brk is not None:
        signal.signal(brk, signal.default_int_handler)


if __name__ == "__main__":
    _break_is_ctrl_c()
    print(ANSWER + json.dumps(run(WorkerArgs.from_json(sys.argv[1]))), flush=True)
