"""NVIDIA devices on the PCI bus, read from sysfs: they are there even when no driver is loaded."""

from __future__ import annotations

from pathlib import Path

NVIDIA_VENDOR = "0x10de"


def nvidia_on_pci(root: Path = Path("/sys/bus/pci/devices")) -> bool:
    """True when a display or 3D controller (PCI class 0x03xxxx) from NVIDIA is present (Linux only)."""
    try:
        for dev in root.iterdir():
            try:
                vendor = (dev / "vendor").read_text().strip()
                klass = (dev / "class").read_text().strip()
            except OSError:
                continue
            if vendor == NVIDIA_VENDOR and klass.startswith("0x03"):
                return True
    except OSError:
        return False
    return False
