"""The platform the commands are for: OS, CPU architecture and Python of this interpreter.

`platform` is avoided on POSIX: importing it compiles regexes worth ~8 ms of install-cmd's start-up.
"""

from __future__ import annotations

import os
import sys

from envcheck.snapshot.facts import Host

_ARCH = {"amd64": "x86_64", "x86_64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}
_OS = {"linux": "linux", "win32": "windows", "cygwin": "windows", "darwin": "macos"}


def _machine() -> str:
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform  # rarely reached: platform compiles regexes on import (install-cmd's start-up)

    return platform.machine()


def read_host() -> Host:
    os_name = _OS.get(sys.platform, sys.platform)
    arch = _ARCH.get(_machine().lower(), _machine().lower())
    if os_name == "linux" and arch == "arm64":
        arch = "aarch64"
    return Host(os=os_name, arch=arch, python=f"{sys.version_info[0]}.{sys.version_info[1]}" + ("t" if free_threaded() else ""))


def free_threaded() -> bool:
    """Whether this CPython was built without the GIL (PEP 703: python3.13t): it needs the cp313t
    wheels, and a plan for it must say 3.13t. POSIX builds say so in sys.abiflags; Windows only
    through sysconfig, which is loaded there alone (it costs milliseconds)."""
    if "t" in getattr(sys, "abiflags", ""):
        return True
    if sys.platform != "win32" or sys.version_info < (3, 13):
        return False
    import sysconfig  # Windows 3.13+ only: sysconfig is not on install-cmd's start-up

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
