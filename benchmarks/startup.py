"""Start-up time of `envcheck install-cmd` and `envcheck compat` against `python -c "import typer, rich"`.

DESIGN.md's target: these commands import nothing heavy and finish within 1.5x of importing typer
and rich with the same interpreter. The three commands are run interleaved, many times, and the
median wall time of each is compared, so that load on the machine hits all of them alike.

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ENVCHECK = [sys.executable, "-m", "envcheck"]
CASES = {
    "baseline: python -c 'import typer, rich'": [sys.executable, "-c", "import typer, rich"],
    "envcheck install-cmd --cuda 12.1": [*ENVCHECK, "install-cmd", "--cuda", "12.1"],
    "envcheck install-cmd (solve for this machine)": [*ENVCHECK, "install-cmd"],
    "envcheck compat --torch 2.2.1": [*ENVCHECK, "compat", "--torch", "2.2.1"],
    "envcheck compat --driver 535.104.05": [*ENVCHECK, "compat", "--driver", "535.104.05"],
}
HEAVY = ("torch", "numpy", "onnx", "onnxruntime", "pydantic")


def wall(argv: list[str], tty: bool = False) -> float:
    """Wall time of one run; with tty=True stdout is a pseudo-terminal, so output is coloured."""
    if not tty:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start
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
        return time.perf_counter() - start
    finally:
        os.close(leader)


def heavy_imports(argv: list[str]) -> list[str]:
    """Modules from HEAVY that the command imports (python -X importtime)."""
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=True)
    names = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return sorted(n for n in names if n.split(".")[0] in HEAVY)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    for argv in CASES.values():  # warm the page cache and envcheck's table cache
        wall(argv)
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPUs, {args.runs} interleaved runs each; target ratio <= 1.5")
    heavy = {name: ", ".join(heavy_imports(argv)) or "none" for name, argv in CASES.items() if not name.startswith("baseline")}
    for tty in (False, True):
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.runs):
            for name, argv in CASES.items():
                times[name].append(wall(argv, tty))
        base = statistics.median(times[next(iter(CASES))])
        print()
        print("stdout on a terminal (coloured output):" if tty else "stdout piped (plain text):")
        print(f"{'command':48} {'median s':>9} {'p90 s':>7} {'ratio':>6}  heavy imports")
        for name, ts in times.items():
            med = statistics.median(ts)
            p90 = sorted(ts)[int(0.9 * (len(ts) - 1))]
            print(f"{name:48} {med:9.3f} {p90:7.3f} {med / base:6.2f}  {heavy.get(name, '')}")


if __name__ == "__main__":
    main()
