"""The dataset measured when no PATH is given: ImageNet-sized JPEGs (raw files of the same size
without Pillow) and one large file for sequential reads, in a folder the caller removes (files.drop_cache
writes them to disk before it drops them from the cache)."""

from __future__ import annotations

import os
import random

from envcheck.datacheck.decode import pillow

IMAGES = 256
SIDE = 256  # pixels: a typical training crop's source size
RAW_SIZE = 110 * 1024  # bytes: about a 256x256 JPEG of a photograph
LARGE = 64 * 1024 * 1024


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _photo(image, rng: random.Random):
    """A picture that compresses like a photograph: smooth shapes under fine noise."""
    img = image.effect_noise((SIDE, SIDE), 40 + rng.random() * 30).convert("RGB")
    tint = image.new("RGB", (SIDE, SIDE), tuple(rng.randrange(256) for _ in range(3)))
    return image.blend(img, tint, 0.5)


def generate(folder: str, seed: int = 0) -> bool:
    """Fill `folder`; True when the samples are images."""
    rng = random.Random(seed)
    image = pillow()
    for n in range(IMAGES):
        if image is not None:
            _photo(image, rng).save(os.path.join(folder, f"{n:05d}.jpg"), quality=90)
        else:
            _write(os.path.join(folder, f"{n:05d}.bin"), rng.randbytes(RAW_SIZE) if hasattr(rng, "randbytes") else os.urandom(RAW_SIZE))
    _write(os.path.join(folder, "large.bin"), os.urandom(LARGE))
    return image is not None
