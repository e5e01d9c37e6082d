"""The platform the commands are for: OS, CPU architecture and Python of this interpreter."""

from __future__ import annotations

import platform
import sys

from envcheck.snapshot import Host

_ARCH = {"amd64": "x86_64", "x86_64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}
_OS = {"linux": "linux", "windows": "windows", "darwin": "macos"}


def read_host() -> Host:
    os = _OS.get(platform.system().lower(), platform.system().lower())
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    if os == "linux" and arch == "arm64":
        arch = "aarch64"
    return Host(os=os, arch=arch, python=f"{sys.version_info[0]}.{sys.version_info[1]}")
