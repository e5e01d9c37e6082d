"""The first step of benchmarks/gpu_acceptance.sh: does this machine hold what the run needs, and what is it?

    python benchmarks/gpu_preflight.py OUTDIR

Writes OUTDIR/preflight.json (each dependency's version or why it is missing, torch's view of CUDA,
persistence, MIG, ECC and the visible devices as nvidia-smi reports them) and OUTDIR/nvidia-smi-q.txt
and nvidia-smi.xml (the driver's full report). gpu_summary.py reads preflight.json to tell a step that
failed for want of something on the machine (ENV) from one where envcheck failed (FAIL).
Exit 0 when everything is there and torch sees a GPU, 3 otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# The script's stated dependencies: import name -> distribution (for the message).
DEPENDENCIES = {"torch": "torch", "pynvml": "nvidia-ml-py", "typer": "typer", "rich": "rich", "packaging": "packaging",
                "pytest": "pytest", "onnx": "onnx", "onnxruntime": "onnxruntime-gpu", "onnxscript": "onnxscript"}
_SMI_FIELDS = ("index", "name", "persistence_mode", "mig.mode.current", "ecc.mode.current", "memory.total", "driver_version")


def _version(module: str) -> str:
    try:
        mod = __import__(module)
    except Exception as exc:  # ImportError, or an import that crashes on its own
        return f"missing: {type(exc).__name__}: {str(exc)[:160]}"
    return str(getattr(mod, "__version__", "") or "present")


def _run(args: list, timeout: float = 30) -> tuple[int, str]:
    try:
        done = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return done.returncode, done.stdout + done.stderr


def main() -> int:
    out = Path(sys.argv[1])
    versions = {m: _version(m) for m in DEPENDENCIES}
    missing = sorted(m for m, v in versions.items() if v.startswith("missing"))
    report: dict = {"python": sys.version.split()[0], "executable": sys.executable, "versions": versions, "missing": missing,
                    "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "nvidia_smi": bool(shutil.which("nvidia-smi"))}
    if "torch" not in missing:
        import torch

        report["torch_cuda"] = torch.version.cuda
        report["cuda_available"] = bool(torch.cuda.is_available())
        report["device_count"] = torch.cuda.device_count() if report["cuda_available"] else 0
    if "onnxruntime" not in missing:
        import onnxruntime

        report["onnxruntime_providers"] = onnxruntime.get_available_providers()
    if report["nvidia_smi"]:
        rc, text = _run(["nvidia-smi", "-q"])
        (out / "nvidia-smi-q.txt").write_text(text)
        rc_x, xml = _run(["nvidia-smi", "-q", "-x"])
        if rc_x == 0:
            (out / "nvidia-smi.xml").write_text(xml)
        rc, csv = _run(["nvidia-smi", f"--query-gpu={','.join(_SMI_FIELDS)}", "--format=csv,noheader"])
        report["gpus"] = [dict(zip(_SMI_FIELDS, (c.strip() for c in line.split(",")))) for line in csv.strip().splitlines()] if rc == 0 else csv[:300]
    usable = not missing and report.get("cuda_available", False)
    report["ok"] = usable
    (out / "preflight.json").write_text(json.dumps(report, indent=1))
    for m in missing:
        print(f"preflight: {m} is missing (pip install {DEPENDENCIES[m]}): {versions[m]}", file=sys.stderr)
    if "cuda_available" in report and not report["cuda_available"]:
        print("preflight: torch sees no CUDA device", file=sys.stderr)
    print(json.dumps(report))
    return 0 if usable else 3


if __name__ == "__main__":
    sys.exit(main())
