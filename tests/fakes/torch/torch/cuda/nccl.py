"""torch.cuda.nccl of the fake: a tuple as torch >= 1.8 returns; a CPU build has none."""

from torch._fake import SPEC


def version():
    if SPEC.get("nccl") is None:
        raise AttributeError("module 'torch._C' has no attribute '_nccl_version'")
    return tuple(SPEC["nccl"])
