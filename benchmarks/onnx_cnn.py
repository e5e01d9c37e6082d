"""`envcheck onnx` on the reference CNN: wall time after torch is imported (docs/DESIGN.md: under 3 s on
2 CPU cores). Each exporter runs in a fresh interpreter, several times; the time covers export,
onnx.checker, session creation, two batch sizes, the comparison and the latency loop. A third row times only the imports the dynamo exporter needs
(no envcheck code), the floor under that path on this machine.

    python benchmarks/onnx_cnn.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, time, torch
start = time.perf_counter()
from envcheck.onnxcheck.runner import check_reference
result = check_reference("cifar_cnn", {exporter!r}, None)
print(json.dumps({{"seconds": time.perf_counter() - start, "passed": result.passed}}))
"""

# What the dynamo exporter imports before it does any work: torch.export (which brings torch._dynamo
# and sympy) and onnxscript's torchlib. No envcheck code runs; this is the floor under that path.
FLOOR = """
import json, time, torch
start = time.perf_counter()
import onnx, onnxruntime, torch.export, torch._dynamo
from onnxscript.function_libs.torch_lib import ops
print(json.dumps({"seconds": time.perf_counter() - start, "passed": True}))
"""


def once(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import onnxruntime
    import torch

    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"{os.cpu_count()} CPUs, {args.runs} fresh interpreters per exporter; target < 3 s after import torch")
    print(f"{'run':32} {'median s':>9} {'max s':>7} {'ratio to 3 s':>13}  all passed")
    rows = [(f"envcheck, {e} exporter", CHILD.format(exporter=e)) for e in ("torchscript", "dynamo")]
    rows.append(("dynamo's imports alone (floor)", FLOOR))
    for label, code in rows:
        runs = [once(code) for _ in range(args.runs)]
        secs = [r["seconds"] for r in runs]
        med = statistics.median(secs)
        print(f"{label:32} {med:9.2f} {max(secs):7.2f} {med / 3:13.2f}  {all(r['passed'] for r in runs)}")


if __name__ == "__main__":
    main()
