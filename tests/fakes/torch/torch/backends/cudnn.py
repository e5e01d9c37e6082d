"""torch.backends.cudnn of the fake: version() is None on a CPU build, as in real torch."""

from torch._fake import SPEC


def version():
    return SPEC.get("cudnn")


def is_available():
    return SPEC.get("cudnn") is not None
