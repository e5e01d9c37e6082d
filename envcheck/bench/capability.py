"""Which of bench's dtypes a GPU runs natively, from its compute capability: one answer for the
parent (the capability NVML reports) and for the worker (the one torch reports), so that a figure
bench prints always measures what its name says.

- tf32 is a mode of the tensor cores that came with Ampere, compute capability 8.0
  (https://pytorch.org/docs/stable/notes/cuda.html#tensorfloat-32-tf32-on-ampere-devices); "older
  NVIDIA GPUs will use the full float32 precision regardless" (TensorFlow's
  enable_tensor_float_32_execution), so on them the "tf32" figure would only repeat fp32's.
- bf16 is native from 8.0 too: torch.cuda.is_bf16_supported() answers True for major >= 8 and,
  below that, only "including emulation" (torch/cuda/__init__.py, torch 2.13); Volta, Turing and
  Pascal boards run bf16 matmul and convolution, if at all, in slow emulated kernels.
"""

from __future__ import annotations

AMPERE = (8, 0)
NEEDS = {"tf32": AMPERE, "bf16": AMPERE}  # dtype -> the lowest compute capability that runs it natively
WHY = {"tf32": "torch would run plain fp32", "bf16": "bf16 is only emulated there"}


def parse(text) -> tuple | None:
    """NVML's "8.6" (or torch's (8, 6)) as (8, 6); None when unknown."""
    if isinstance(text, tuple) and len(text) == 2:
        return int(text[0]), int(text[1])
    if isinstance(text, str):
        major, _, minor = text.partition(".")
        if major.isdigit() and minor.isdigit():
            return int(major), int(minor)
    return None


def unsupported(dtype: str, capability) -> str:
    """Why this GPU cannot run `dtype` natively, in one line; "" when it can or the capability is
    unknown (then the worker asks torch)."""
    cc = parse(capability)
    need = NEEDS.get(dtype)
    if cc is None or need is None or cc >= need:
        return ""
    return f"{dtype} needs compute capability {need[0]}.{need[1]} or newer (Ampere); this GPU is {cc[0]}.{cc[1]}, where {WHY[dtype]}"


def offered(dtypes: tuple, capability) -> tuple:
    """(the dtypes this GPU runs, {dtype: why not} for the others)."""
    why = {d: unsupported(d, capability) for d in dtypes}
    return tuple(d for d in dtypes if not why[d]), {d: w for d, w in why.items() if w}
