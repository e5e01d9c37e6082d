"""torch.backends.cuda of the fake: the TF32 switch bench's matmul sets and restores."""

from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False)
