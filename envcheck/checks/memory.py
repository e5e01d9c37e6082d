"""The torch stack against the one doctor last found healthy in the same environment.

The most frequent way a working environment breaks is a later install (`pip install -r
requirements.txt`, a plugin's installer) that puts a CPU build or another release of torch in
place of the one that worked. The other checks see only what is there now; this one names the
change, when the working build was last seen, and the commands that put it back and pin it.
Pure: the remembered stack is read by probes/stack_memory.py and passed in.
"""

from __future__ import annotations

from envcheck.checks.codes import finding
from envcheck.checks.findings import Finding
from envcheck.checks.fixes import StackFix, installed_stack, restore_fix
from envcheck.snapshot.model import RememberedStack, Snapshot, Torch, known
from envcheck.versions import variant_of

# Error findings that mean torch does not work here, beyond those about torch and its Python:
# a driver too old for torch's CUDA takes the place of cuda-unavailable.
_NOT_WORKING = ("driver-too-old",)


def check_build_changed(s: Snapshot, tables, stack: StackFix, remembered: RememberedStack | None,
                        interpreter: str | None = None) -> list[Finding]:
    """torch-build-changed when the installed torch is not the remembered one; an error when a
    CUDA build became a CPU build on a machine with an NVIDIA GPU."""
    now = installed_stack(s).torch
    if remembered is None or not now or now == remembered.torch:
        return []
    before_cuda = variant_of(remembered.torch, remembered.cuda) not in ("cpu", "unknown")
    now_cpu = isinstance(s.torch, Torch) and variant_of(now, s.torch.cuda) == "cpu"
    variant = "cuda-to-cpu" if before_cuda and now_cpu and _has_gpu(s) else ""
    fix = restore_fix(s, tables, remembered.torch, remembered.cuda, interpreter) or stack.fix
    facts = {"before": remembered.torch, "now": now, "seen": remembered.seen or "?", "cuda": remembered.cuda}
    return [finding("torch-build-changed", variant, facts, fix=fix)]


def _has_gpu(s: Snapshot) -> bool:
    gpus = s.driver.gpus
    return (known(gpus) and len(gpus) > 0) or s.driver.nvidia_on_pci


def healthy_stack(s: Snapshot, findings: list[Finding]) -> RememberedStack | None:
    """The stack to remember: torch imports and no error finding says it does not work; None otherwise."""
    t = s.torch
    if not isinstance(t, Torch) or t.status != "ok" or not t.version:
        return None
    if any(f.severity == "error" and (f.area in ("torch", "python") or f.code in _NOT_WORKING) for f in findings):
        return None
    found = installed_stack(s)
    return RememberedStack(found.torch or t.version, t.cuda, found.torchvision, found.torchaudio, s.taken_at or "")
