"""torch.backends of the fake."""

from torch.backends import cuda  # noqa: E402,F401  (bench sets torch.backends.cuda.matmul.allow_tf32)
