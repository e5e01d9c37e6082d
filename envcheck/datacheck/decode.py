"""Turning a sample's bytes into what a model takes: Pillow for image types it reads, else the raw
bytes. One function (`decode_sample`) serves both the decode figure and the DataLoader's Dataset, so
the two measure the same work. Pillow is optional (`pip install pillow`, envcheck's `data` extra).
"""

from __future__ import annotations

import io
import os
import time

from envcheck.datacheck.files import Item, read_item
from envcheck.datacheck.results import DecodeFigure

DECODE_CAP = 256 * 1024 * 1024  # bytes of samples held in memory for the decode loop


def pillow():
    """Pillow's Image module, or None where it is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def image_extensions() -> frozenset:
    """File name endings of the image types this Pillow opens (".jpg", ".png", ...)."""
    image = pillow()
    if image is None:
        return frozenset()
    image.init()
    return frozenset(ext for ext, fmt in image.registered_extensions().items() if fmt in image.OPEN)


def is_image(path: str, extensions: frozenset) -> bool:
    return os.path.splitext(path)[1].lower() in extensions


def decode_sample(data: bytes, as_image: bool) -> tuple:
    """(pixels or bytes as a bytearray, shape, format): an image decoded to 8-bit RGB, height x
    width x 3, as torchvision's ToTensor starts from; anything else as its bytes."""
    if as_image:
        image = pillow()
        with image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            rgb = img.convert("RGB")
            return bytearray(rgb.tobytes()), (rgb.height, rgb.width, 3), fmt
    return bytearray(data), (len(data),), ""


def measure(items: list, seconds: float, cores: float, as_image: bool, why_raw: str) -> DecodeFigure:
    """Decode the samples on one core until the deadline, their bytes read beforehand so only the
    decoding is timed. The ceiling is the one-core figure times the usable cores: decoders scale
    by processes, which is what DataLoader workers are."""
    held, total = [], 0
    for item in items:
        data = read_item(item)
        held.append(data)
        total += len(data)
        if total >= DECODE_CAP:
            break
    formats: dict = {}
    done = out_bytes = failed = 0
    start = time.perf_counter()
    while held and time.perf_counter() - start < seconds:
        for data in held:
            try:
                buf, _, fmt = decode_sample(data, as_image)
            except Exception:  # a file Pillow cannot read (truncated, not an image after all): counted as raw
                failed += 1
                buf, fmt = bytearray(data), ""
            formats[fmt] = formats.get(fmt, 0) + 1
            done += 1
            out_bytes += len(buf)
            if time.perf_counter() - start >= seconds:
                break
    elapsed = max(time.perf_counter() - start, 1e-9)
    per_core = done / elapsed
    note = why_raw
    if failed:
        note = f"Pillow could not read {failed} of {done} samples; those were measured as raw bytes"
    return DecodeFigure(kind="image" if as_image else "raw", formats=tuple(sorted(f for f in formats if f)), samples=done,
                        seconds=round(elapsed, 4), per_core=round(per_core, 1), ceiling=round(per_core * cores, 1),
                        sample_bytes=out_bytes // done if done else 0, note=note)


__all__ = ["Item", "decode_sample", "image_extensions", "is_image", "measure", "pillow"]
