"""How nvidia-smi writes a value in every output format: "N/A", "[Not Supported]", "24576 MiB"."""

from __future__ import annotations

from envcheck.snapshot.facts import Unavailable

NOT_AVAILABLE = Unavailable("not_available", "nvidia-smi reports N/A")
NOT_SUPPORTED = Unavailable("not_supported", "nvidia-smi reports Not Supported")


def cell(text: str):
    """A printed value, or why there is none."""
    t = text.strip()
    if "Not Supported" in t:
        return NOT_SUPPORTED
    if t in ("", "N/A", "[N/A]"):
        return NOT_AVAILABLE
    return t


def number(value, kind=float):
    """"24576 MiB" -> 24576, "26.16 W" -> 26.16; an Unavailable passes through."""
    if isinstance(value, Unavailable):
        return value
    try:
        return kind(value.split()[0])
    except (ValueError, IndexError):
        return Unavailable("parse_error", f"nvidia-smi printed {value[:40]!r}")
