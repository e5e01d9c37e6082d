"""The loaded NVIDIA kernel module's version, from /proc/driver/nvidia/version.

When the kernel module differs from the user-space NVML library, nvmlInit fails with
"Driver/library version mismatch" and this file is the only place that still names the running
driver, so probes/nvml.py reads it before it asks NVML. Command line equivalent:
`cat /proc/driver/nvidia/version`.
"""

from __future__ import annotations

import re
import sys
from typing import Optional

from envcheck.snapshot.facts import Unavailable

PROC_DRIVER_VERSION = "/proc/driver/nvidia/version"

# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023"
# "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build  (...)  <date>"
# (the open modules insert "for <arch>"; Jetson's L4T prints "35.3.1": three parts, not always dotted
# the same way, so any dotted number is taken).
_NVRM = re.compile(r"^NVRM version:.*?Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)\b", re.MULTILINE)


def parse_proc_driver_version(text: str) -> Optional[str]:
    """The kernel module's version from the text of /proc/driver/nvidia/version, or None."""
    match = _NVRM.search(text)
    return match.group(1) if match else None


def _read_file(path: str) -> str:
    """The seam tests replace (tests/fakes/fake_nvml.py) to replay a recorded /proc file."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def kernel_module_version(path: Optional[str] = None):
    """The loaded NVIDIA kernel module's version, or why it is unknown (never raises).

    Command line equivalent: `cat /proc/driver/nvidia/version`.
    """
    if path is None:
        if not sys.platform.startswith("linux"):
            return Unavailable("not_supported", "only Linux has /proc/driver/nvidia/version")
        path = PROC_DRIVER_VERSION
    try:
        text = _read_file(path)
    except FileNotFoundError:
        return Unavailable("driver_not_loaded", f"no {path}: the NVIDIA kernel module is not loaded")
    except PermissionError:
        return Unavailable("no_permission", f"no permission to read {path}")
    except OSError as exc:
        return Unavailable("read_error", f"cannot read {path}: {exc}")
    version = parse_proc_driver_version(text)
    if version is None:
        first = text.strip().splitlines()[0] if text.strip() else "(empty)"
        return Unavailable("parse_error", f"unrecognised {path}: {first[:120]!r}")
    return version
