"""envcheck bench's matmul figure against torch.utils.benchmark measuring the same product, in one run.

docs/DESIGN.md's target: within 5%. Both measure torch.mm(a, b, out=out) on the same device, dtype and
size; they alternate, so load on the machine hits both alike.

    python benchmarks/bench_matmul.py [--device cpu] [--size 2048] [--dtype fp32] [--rounds 3] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16", "tf32"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    import torch
    import torch.utils.benchmark as tb

    from envcheck.bench import suites

    device = torch.device(args.device)
    n = args.size
    dtype = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(suites.matmul(torch, device, args.dtype, n, args.seconds).value)
        # torch.utils.benchmark runs single-threaded unless told: give it the threads envcheck uses.
        timer = tb.Timer(stmt="torch.mm(a, b, out=out)", globals={"torch": torch, "a": a, "b": b, "out": out}, num_threads=torch.get_num_threads())
        m = timer.blocked_autorange(min_run_time=args.seconds)
        theirs.append(2 * n**3 / m.median / 1e12)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, device {args.device}, {os.cpu_count()} CPUs, "
          f"{args.dtype} {n}x{n}, {args.rounds} alternating rounds of {args.seconds:g} s each")
    print(f"{'measurement':36} {'TFLOP/s (median of rounds)':>28}")
    print(f"{'envcheck bench (suites.matmul)':36} {o:28.4f}")
    print(f"{'torch.utils.benchmark':36} {t:28.4f}")
    print(f"ratio envcheck / torch.utils.benchmark: {o / t:.3f} (target: within 0.95–1.05) -> {'ok' if 0.95 <= o / t <= 1.05 else 'OUT OF RANGE'}")


if __name__ == "__main__":
    main()
