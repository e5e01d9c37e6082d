"""`envcheck onnx` on the reference CNN: wall time after torch is imported. Targets (docs/DESIGN.md): the
TorchScript exporter under 3 s on 2 CPU cores; the dynamo exporter within 1.10x of the bare work
it cannot avoid, `torch.onnx.export(..., dynamo=True)` of the same network plus one ONNX Runtime
session run, in a fresh interpreter (torch's exporter is the floor). Each row runs in a fresh
interpreter, several times; envcheck's time covers export, onnx.checker, session creation, two
batch sizes, the comparison and the latency loop. A last row times only the imports the dynamo
exporter needs.

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

# The same network exported by torch's dynamo exporter and run once by ONNX Runtime, with no envcheck
# code: what any tool must pay for this path.
BARE = """
import json, time, torch
start = time.perf_counter()
import io, onnxruntime
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2), nn.Conv2d(32, 32, 5, padding=2), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1024, 64), nn.Linear(64, 10)).eval()
x = torch.randn(2, 3, 32, 32)
program = torch.onnx.export(model, (x,), dynamo=True, input_names=["x"], output_names=["y"],
                            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},), verbose=False)
session = onnxruntime.InferenceSession(program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
session.run(None, {"x": x.numpy()})
print(json.dumps({"seconds": time.perf_counter() - start, "passed": True}))
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
          f"{os.cpu_count()} CPUs, {args.runs} fresh interpreters per row, interleaved; seconds after import torch")
    rows = {"envcheck, torchscript exporter": CHILD.format(exporter="torchscript"),
            "envcheck, dynamo exporter": CHILD.format(exporter="dynamo"),
            "bare dynamo export + 1 ORT run": BARE, "dynamo's imports alone": FLOOR}
    runs: dict = {k: [] for k in rows}
    for _ in range(args.runs):
        for label, code in rows.items():
            runs[label].append(once(code))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    print(f"{'run':32} {'median s':>9} {'max s':>7}  all passed")
    for label, rs in runs.items():
        print(f"{label:32} {med[label]:9.2f} {max(r['seconds'] for r in rs):7.2f}  {all(r['passed'] for r in rs)}")
    ts, dyn, bare = med["envcheck, torchscript exporter"], med["envcheck, dynamo exporter"], med["bare dynamo export + 1 ORT run"]
    print(f"targets: torchscript under 3 s: {'yes' if ts < 3 else 'NO'} ({ts:.2f} s); "
          f"dynamo within 1.10x of the bare export: {'yes' if dyn <= 1.10 * bare else 'NO'} ({dyn / bare:.2f}x)")


if __name__ == "__main__":
    main()
