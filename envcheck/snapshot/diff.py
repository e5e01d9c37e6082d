"""What differs, between two snapshots, among the facts that decide whether a stack works:
driver, CUDA, torch build, GPU models, Python, mirror (docs/DESIGN.md, `envcheck diff`).

Facts carry a stable key (`torch.cuda_build`) and a value in the user's words; their labels live in
the renderers (envcheck/render/diff.py). A fact one side does not know (not collected, no driver
library, not in a pasted report) is never a difference: two saves of one machine, one from
collect_env and one from envcheck, must compare equal. `envcheck cluster` compares its ranks with
the same facts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional

from envcheck.snapshot.model import Snapshot, Unavailable, known

# The compared facts, in report order.
KEYS = (
    "python.version", "python.index", "driver.version", "driver.cuda", "driver.gpus", "toolkit.nvcc",
    "torch.version", "torch.cuda_build", "torch.cudnn", "torch.nccl", "torch.cuda_available", "torch.device_count",
    "torchvision.version", "torchaudio.version", "onnxruntime.version",
)
NOT_REPORTED = "the report does not say"
NO_PACKAGES = "no list of Python packages"

# What a torch that did not import reports, in the user's words (Torch.status).
_TORCH_STATUS = {"missing": "not installed", "import_failed": "fails to import", "crashed": "crashes on import",
                 "timeout": "import timed out"}


@dataclass(frozen=True)
class Fact:
    key: str
    value: Optional[str]  # in the user's words; None when this side does not know it
    why: str = ""  # why it is not known, in the user's words

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Difference:
    key: str
    a: str
    b: str


@dataclass(frozen=True)
class NotCompared:
    """A fact one side knows and the other does not: said, never counted as a difference."""

    key: str
    a: Optional[str]  # the value, None on the side that does not know it
    b: Optional[str]
    why: str  # why the other side does not know it


@dataclass(frozen=True)
class Comparison:
    differences: tuple  # Difference
    not_compared: tuple  # NotCompared

    @property
    def exit_code(self) -> int:
        """1 when something that matters differs (docs/DESIGN.md, "Commands": 1 for warnings)."""
        return 1 if self.differences else 0


def _fact(key: str, value, why: str = NOT_REPORTED) -> Fact:
    """A value in words: Unavailable and None become unknown, with the reason a person can read."""
    if isinstance(value, Unavailable):  # the reason is written for people; the code is not shown
        return Fact(key, None, f"not collected: {value.reason}" if value.code == "skipped" else value.reason or NOT_REPORTED)
    if value is None or value == "":
        return Fact(key, None, why)
    if isinstance(value, bool):
        return Fact(key, "yes" if value else "no")
    return Fact(key, str(value))


def _gpu_models(s: Snapshot):
    if not known(s.driver.gpus):
        return s.driver.gpus
    if not s.driver.gpus:
        return "none"
    names = Counter(g.name if known(g.name) else "unknown GPU" for g in s.driver.gpus)
    return ", ".join(f"{n}× {name}" for name, n in sorted(names.items()))


def _index(s: Snapshot):
    """The index URL (credentials redacted at collection): older saves carry no mirror name."""
    url = s.python.pip_index_url
    return "default index" if url is None else url


def _torch(s: Snapshot) -> list[Fact]:
    t = s.torch
    if isinstance(t, Unavailable):
        return [_fact(k, t) for k in KEYS if k.startswith("torch.")]
    if t.status != "ok":
        status = _TORCH_STATUS.get(t.status, t.status)
        facts = [Fact("torch.version", f"{t.dist_version} ({status})" if t.dist_version else status)]
        return facts + [_fact(k, None, f"torch {status}") for k in KEYS if k.startswith("torch.") and k != "torch.version"]
    # A CPU build has no CUDA, cuDNN or NCCL: "none" is its value. Elsewhere a missing value is one
    # the report did not give (collect_env prints no NCCL, no device count).
    cpu = t.cuda is None and t.hip is None
    return [
        _fact("torch.version", t.version),
        _fact("torch.cuda_build", t.cuda if t.cuda else (f"ROCm {t.hip}" if t.hip else "none (CPU build)")),
        _fact("torch.cudnn", "none" if cpu and t.cudnn is None else t.cudnn),
        _fact("torch.nccl", "none" if cpu and t.nccl is None else t.nccl),
        _fact("torch.cuda_available", t.cuda_available),
        _fact("torch.device_count", t.device_count),
    ]


def _package(s: Snapshot, name: str) -> Fact:
    if not s.packages:  # the torch probe did not run, or the report lists no packages
        return _fact(f"{name}.version", None, NO_PACKAGES)
    version = next((p.version for p in s.packages if p.name == name), None)
    return Fact(f"{name}.version", version or "not installed")


def _onnxruntime(s: Snapshot) -> Fact:
    """onnxruntime-gpu 1.20.1; both distributions when both are installed (they conflict)."""
    ort = s.onnxruntime
    if not ort.installed:
        return _fact("onnxruntime.version", None, NO_PACKAGES) if not s.packages else \
            Fact("onnxruntime.version", "not installed")
    names = " + ".join(ort.installed)
    return Fact("onnxruntime.version", f"{names} {ort.version}" if ort.version else names)


def facts(s: Snapshot) -> tuple[Fact, ...]:
    """The compared facts, in KEYS order."""
    py = s.python.version
    found = [
        _fact("python.version", None if py in ("", "unknown") else py),
        _fact("python.index", _index(s)),
        _fact("driver.version", s.driver.driver_version),
        _fact("driver.cuda", s.driver.cuda_driver_version),
        _fact("driver.gpus", _gpu_models(s)),
        _fact("toolkit.nvcc", s.toolkit.nvcc_version),
        *_torch(s),
        _package(s, "torchvision"),
        _package(s, "torchaudio"),
        _onnxruntime(s),
    ]
    return tuple(found)


def compare(a: Snapshot, b: Snapshot) -> Comparison:
    """The facts that differ where both sides know them, and those only one side knows."""
    differences, not_compared = [], []
    for fa, fb in zip(facts(a), facts(b)):
        if fa.known and fb.known:
            if fa.value != fb.value:
                differences.append(Difference(fa.key, fa.value, fb.value))
        elif fa.known or fb.known:
            not_compared.append(NotCompared(fa.key, fa.value, fb.value, fb.why if fa.known else fa.why))
    return Comparison(tuple(differences), tuple(not_compared))
