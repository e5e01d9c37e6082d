"""What differs, between two snapshots, among the facts that decide whether a stack works:
driver, CUDA, torch build, GPU models, Python, mirror (DESIGN.md, `envcheck diff`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from envcheck.snapshot import Snapshot, Torch, Unavailable, known


@dataclass(frozen=True)
class Difference:
    field: str
    a: str
    b: str


def shown(value) -> str:
    if isinstance(value, Unavailable):
        return "unknown" if value.code == "not_in_report" else f"unavailable ({value.code})"
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "—"
    return str(value)


def _gpu_models(s: Snapshot):
    if not known(s.driver.gpus):
        return s.driver.gpus
    names = Counter(g.name if known(g.name) else "unknown GPU" for g in s.driver.gpus)
    return tuple(f"{n}× {name}" for name, n in sorted(names.items()))


def facts(s: Snapshot) -> dict:
    """The compared facts, in report order."""
    t = s.torch
    torch_known = isinstance(t, Torch) and t.status == "ok"
    pkgs = {p.name: p.version for p in s.packages}
    return {
        "os": s.system.os_release or s.system.os,
        "python": s.python.version,
        "pip index": s.python.pip_index_url if s.python.pip_index_url is not None else "default index",
        "driver": s.driver.driver_version,
        "driver's CUDA": s.driver.cuda_driver_version,
        "GPUs": _gpu_models(s),
        "CUDA_VISIBLE_DEVICES": s.cuda_env.cuda_visible_devices,
        "nvcc": s.toolkit.nvcc_version,
        "torch": t.version if torch_known else (t if isinstance(t, Unavailable) else t.status),
        "torch CUDA build": t.cuda if torch_known else None,
        "cuDNN": t.cudnn if torch_known else None,
        "NCCL": t.nccl if torch_known else None,
        "CUDA available": t.cuda_available if torch_known else None,
        "torch device count": t.device_count if torch_known else None,
        "torchvision": pkgs.get("torchvision"),
        "torchaudio": pkgs.get("torchaudio"),
        "onnxruntime": " + ".join(s.onnxruntime.installed) or None,
    }


def differences(a: Snapshot, b: Snapshot) -> list[Difference]:
    fa, fb = facts(a), facts(b)
    return [Difference(k, shown(fa[k]), shown(fb[k])) for k in fa if shown(fa[k]) != shown(fb[k])]
