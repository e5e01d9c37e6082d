"""ONNX Runtime checks: the CPU and GPU packages fight over one module; a GPU needs a GPU provider."""

from __future__ import annotations

from envcheck.checks.findings import Finding
from envcheck.snapshot import Snapshot, known

GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")


def check_onnxruntime(s: Snapshot, tables) -> list[Finding]:
    ort = s.onnxruntime
    out: list[Finding] = []
    if "onnxruntime" in ort.installed and "onnxruntime-gpu" in ort.installed:
        out.append(Finding("onnxruntime-conflict", "error", "onnxruntime",
                           "onnxruntime and onnxruntime-gpu are both installed: they overwrite each other's files",
                           {"installed": list(ort.installed)},
                           fix="pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"))
    gpus = s.driver.gpus
    if ort.installed and known(gpus) and gpus and known(ort.providers):
        if not any(p in ort.providers for p in GPU_PROVIDERS):
            fix = None if "onnxruntime-gpu" in ort.installed else "pip uninstall -y onnxruntime && pip install onnxruntime-gpu"
            why = ("onnxruntime-gpu is installed but its CUDA provider cannot load (missing CUDA/cuDNN libraries of the version it was built for)"
                   if "onnxruntime-gpu" in ort.installed else "the onnxruntime package is CPU-only")
            out.append(Finding("onnxruntime-no-gpu", "warn", "onnxruntime",
                               f"ONNX Runtime {ort.version or ''} has no GPU execution provider although this machine has NVIDIA GPUs".replace("  ", " "),
                               {"providers": list(ort.providers)}, fix=fix, why=why))
    return out
