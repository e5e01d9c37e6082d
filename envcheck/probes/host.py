"""The platform the commands are for: OS, CPU architecture and Python of this interpreter.

`platform` is avoided on POSIX: importing it compiles regexes worth ~8 ms of install-cmd's start-up.
"""

from __future__ import annotations

import os
import sys

from envcheck.facts import Host

_ARCH = {"amd64": "x86_64", "x86_64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}
_OS = {"linux": "linux", "win32": "windows", "cygwin": "windows", "darwin": "macos"}


def _machine() -> str:
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def read_host() -> Host:
    os_name = _OS.get(sys.platform, sys.platform)
    arch = _ARCH.get(_machine().lower(), _machine().lower())
    if os_name == "linux" and arch == "arm64":
        arch = "aarch64"
    return Host(os=os_name, arch=arch, python=f"{sys.version_info[0]}.{sys.version_info[1]}")
