"""Which chosen GPUs can access each other's memory directly (peer-to-peer), asked before any
collective: consumer boards without P2P are the usual cause of an NCCL all-reduce that hangs.

Run as `python -m envcheck.bench.p2p` with every chosen GPU visible (PCI bus order); prints one
JSON line: {"matrix": [[true, false, ...], ...]} in the order of CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import json

MARK = "ENVCHECK-P2P "


def matrix() -> list:
    import torch  # optional: torch is an extra, imported only where it runs

    if not torch.cuda.is_available():
        raise RuntimeError(f"torch {torch.__version__} sees no CUDA device")
    n = torch.cuda.device_count()
    return [[i == j or bool(torch.cuda.can_device_access_peer(i, j)) for j in range(n)] for i in range(n)]


if __name__ == "__main__":
    print(MARK + json.dumps({"matrix": matrix()}), flush=True)
