"""torch.version of the fake: the build's versions, from the spec."""

from torch._fake import SPEC

__version__ = SPEC.get("version", "0.0.0")
cuda = SPEC.get("cuda")
hip = SPEC.get("hip")
git_version = "0000000000000000000000000000000000000000"
