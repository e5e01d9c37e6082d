"""The reference networks (docs/DESIGN.md, "onnx"), built in code with seeded weights so every run and
every machine exports the same model."""

from __future__ import annotations

SEED = 20261122


def cifar_cnn():
    """The CIFAR-10-style CNN: three 5x5 conv + max-pool stages, then two linear layers."""
    import torch  # optional: torch is an extra, imported only where it runs
    from torch import nn  # optional: torch is an extra, imported only where it runs

    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1024, 64), nn.Linear(64, 10),
    ).eval(), (3, 32, 32)


def transformer_block(dim: int = 64, heads: int = 4, seq: int = 16):
    """A pre-norm transformer block: multi-head attention, LayerNorm, a GELU MLP, residuals."""
    import torch  # optional: torch is an extra, imported only where it runs
    from torch import nn  # optional: torch is an extra, imported only where it runs

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    torch.manual_seed(SEED)
    return Block().eval(), (seq, dim)


NETWORKS = {"cifar_cnn": cifar_cnn, "transformer_block": transformer_block}
