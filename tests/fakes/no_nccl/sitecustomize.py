"""A CUDA build of torch without NCCL, as every torch on Windows is.

With ENVCHECK_FAKE_NO_NCCL=1, each interpreter started with this folder on PYTHONPATH finds
torch.cuda.is_available() True and torch.distributed.is_nccl_available() False, so that a rank of
`envcheck cluster` chooses its backend for real on a machine without a GPU. Only those two answers
change: what the rank then runs with gloo runs on the CPU. Without the variable, nothing happens.
"""

import os

if os.environ.get("ENVCHECK_FAKE_NO_NCCL"):
    import torch
    import torch.distributed

    torch.cuda.is_available = lambda: True
    torch.distributed.is_nccl_available = lambda: False
