"""Start-up time of `envcheck install-cmd` and `envcheck compat` against `python -c "import typer, rich"`.

docs/DESIGN.md's target: these commands import nothing heavy and finish within 1.5x of importing typer
and rich with the same interpreter. The three commands are run interleaved, many times, and the
median wall time of each is compared, so that load on the machine hits all of them alike.

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ENVCHECK = [sys.executable, "-m", "envcheck"]
CASES = {
    "baseline: python -c 'import typer, rich'": [sys.executable, "-c", "import typer, rich"],
    "envcheck install-cmd --cuda 12.1": [*ENVCHECK, "install-cmd", "--cuda", "12.1"],
    "envcheck install-cmd (solve for this machine)": [*ENVCHECK, "install-cmd"],
    "envcheck compat --torch 2.2.1": [*ENVCHECK, "compat", "--torch", "2.2.1"],
    "envcheck compat --driver 535.104.05": [*ENVCHECK, "compat", "--driver", "535.104.05"],
}
HEAVY = ("torch", "numpy", "onnx", "onnxruntime", "pydantic")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(argv: list[str], tty: bool = False) -> tuple[float, float]:
    """(wall, cpu) seconds of one run; with tty=True stdout is a pseudo-terminal (coloured output).

    CPU time (user + sys of the child) is reported beside wall time because on a shared virtual
    machine wall time of a 0.1 s command swings by tens of percent between identical runs.
    """
    cpu0 = _cpu()
    if not tty:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start, _cpu() - cpu0
    leader, follower = os.openpty()
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=follower, stderr=subprocess.DEVNULL, env={**os.environ, "TERM": "xterm-256color"})
        os.close(follower)
        while True:  # drain the terminal so the child never blocks on a full buffer
            try:
                if not os.read(leader, 65536):
                    break
            except OSError:
                break
        proc.wait()
        return time.perf_counter() - start, _cpu() - cpu0
    finally:
        os.close(leader)


def heavy_imports(argv: list[str]) -> list[str]:
    """Modules from HEAVY that the command imports (python -X importtime)."""
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=True)
    names = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return sorted({n.split(".")[0] for n in names if n.split(".")[0] in HEAVY})


def as_installed() -> None:
    """Measure envcheck as pip installs it: with bytecode. pip compiles every module on install,
    but a shell with PYTHONDONTWRITEBYTECODE=1 (set on some machines) makes every run of a source
    checkout compile envcheck afresh, ~20 ms that no user pays, while typer and rich keep theirs."""
    import compileall

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "envcheck", quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    as_installed()
    for argv in CASES.values():  # warm the page cache and envcheck's table cache
        run(argv)
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPUs, {args.runs} interleaved runs each; target ratio <= 1.5")
    heavy = {name: ", ".join(heavy_imports(argv)) or "none" for name, argv in CASES.items() if not name.startswith("baseline")}
    for tty in (False, True):
        wall: dict[str, list[float]] = {name: [] for name in CASES}
        cpu: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.runs):
            for name, argv in CASES.items():
                w, c = run(argv, tty)
                wall[name].append(w)
                cpu[name].append(c)
        base_w = statistics.median(wall[next(iter(CASES))])
        base_c = statistics.median(cpu[next(iter(CASES))])
        print()
        print("stdout on a terminal (coloured output):" if tty else "stdout piped (plain text):")
        print(f"{'command':46} {'wall s':>7} {'ratio':>6} {'cpu s':>7} {'ratio':>6}  heavy imports")
        for name in CASES:
            w, c = statistics.median(wall[name]), statistics.median(cpu[name])
            print(f"{name:46} {w:7.3f} {w / base_w:6.2f} {c:7.3f} {c / base_c:6.2f}  {heavy.get(name, '')}")


if __name__ == "__main__":
    main()
