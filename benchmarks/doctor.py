"""`envcheck doctor` against `python -m torch.utils.collect_env`, both with torch installed.

docs/DESIGN.md's targets: doctor is faster than collect_env on the same machine (its probes run
concurrently) while reporting more, and within 1.05x of a bare `import torch` (the floor for
anything that asks torch: the probe child starts before the CLI stack is imported);
`doctor --no-torch` stays under 0.5 s. Commands run interleaved; medians compared.

    python benchmarks/doctor.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "python -m torch.utils.collect_env": [sys.executable, "-m", "torch.utils.collect_env"],
    "envcheck doctor": [sys.executable, "-m", "envcheck", "doctor"],
    "envcheck doctor --no-torch": [sys.executable, "-m", "envcheck", "doctor", "--no-torch"],
}


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if done.returncode not in (0, 1, 2):  # doctor exits 1/2 when it finds problems
        raise SystemExit(f"{' '.join(argv)} failed with exit code {done.returncode}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    from importlib.metadata import version

    for argv in CASES.values():
        wall(argv)
    times: dict[str, list[float]] = {k: [] for k in CASES}
    for _ in range(args.runs):
        for name, argv in CASES.items():
            times[name].append(wall(argv))
    base = statistics.median(times["python -m torch.utils.collect_env"])
    print(f"python {sys.version.split()[0]}, torch {version('torch')}, {os.cpu_count()} CPUs, {args.runs} interleaved runs each")
    floor = statistics.median(times["python -c 'import torch'"])
    print(f"{'command':38} {'median s':>9} {'p90 s':>7} {'to collect_env':>15} {'to import torch':>16}")
    for name, ts in times.items():
        med = statistics.median(ts)
        p90 = sorted(ts)[int(0.9 * (len(ts) - 1))]
        print(f"{name:38} {med:9.3f} {p90:7.3f} {med / base:15.2f} {med / floor:16.2f}")
    doctor = statistics.median(times["envcheck doctor"])
    no_torch = statistics.median(times["envcheck doctor --no-torch"])
    print(f"targets: doctor faster than collect_env: {'yes' if doctor < base else 'NO'}; "
          f"within 1.05x of import torch: {'yes' if doctor <= 1.05 * floor else 'NO'} ({doctor / floor:.2f}x); "
          f"--no-torch under 0.5 s: {'yes' if no_torch < 0.5 else 'NO'} ({no_torch:.3f} s)")


if __name__ == "__main__":
    main()
