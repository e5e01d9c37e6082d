"""Import torch in a child process before a command imports it for real.

A torch that raises, aborts or hangs on import must cost bench and onnx one line of error, as it
costs doctor a finding, never the whole process or an endless wait (docs/DESIGN.md, "Reliability").
The child is doctor's own torch probe, with its timeout; beside it runs doctor's onnxruntime child,
which never imports torch, so `envcheck onnx` learns which providers load without it.
"""

from __future__ import annotations

import sys

from envcheck.errors import UserError, first_line
from envcheck.probes.torch_probe import read_torch_and_packages
from envcheck.snapshot.model import known

_HOW = {"crashed": "crashed the interpreter", "import_failed": "failed"}


def torch_importable(purpose: str, timeout: float = 120.0, required: bool = True, onnxruntime: bool = False):
    """The child's view of torch (snapshot.Torch). A torch that is missing (when `required`) or
    cannot be imported is a UserError naming why, and so, with `onnxruntime`, is an onnxruntime
    that kills the interpreter on import; `envcheck doctor` has the details."""
    return torch_and_onnxruntime(purpose, timeout, required, onnxruntime)[0]


def torch_and_onnxruntime(purpose: str, timeout: float = 120.0, required: bool = True, onnxruntime: bool = True,
                          tensorrt: bool = False):
    """(snapshot.Torch, snapshot.OnnxRuntime) as the children saw them, the latter with which
    providers load in a process without torch (TensorRT tried only with `tensorrt`); the same
    UserErrors as torch_importable."""
    t, _, ort = read_torch_and_packages(sys.executable, timeout=timeout, tensorrt=tensorrt)
    if t.status == "missing":
        if required:
            raise UserError(f"{purpose} needs PyTorch in this interpreter: pip install torch")
    elif t.status == "timeout":
        raise UserError(f"{purpose}: importing torch did not finish within {timeout:g} s (envcheck doctor says why)")
    elif t.status != "ok":
        first = first_line(t.error)
        raise UserError(f"{purpose}: importing torch {_HOW.get(t.status, t.status)}: {first[:200]} (envcheck doctor says why)")
    if onnxruntime and not known(ort.providers) and ort.providers.code == "crashed":
        raise UserError(f"{purpose}: {ort.providers.reason.splitlines()[0]} (envcheck doctor says why)")
    return t, ort
