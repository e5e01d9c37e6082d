"""The host: OS release, kernel, CPU, memory, and whether this is a container or WSL, which change
what "no driver" means (a container needs the NVIDIA runtime; WSL uses the Windows driver)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from envcheck.probes.host import read_host
from envcheck.snapshot.model import System, Unavailable


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _os_release() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    if sys.platform == "darwin":
        import platform  # rarely reached: platform compiles regexes on import (install-cmd's start-up)

        return f"macOS {platform.mac_ver()[0]}"
    if sys.platform == "win32":
        import platform  # rarely reached: platform compiles regexes on import (install-cmd's start-up)

        return f"Windows {platform.release()} ({platform.version()})"
    return ""


def _cpu() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    import platform  # rarely reached: platform compiles regexes on import (install-cmd's start-up)

    return platform.processor() or platform.machine()


def _memory_mib():
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return Unavailable("not_supported", "memory size is read from /proc/meminfo (Linux only)")


def available_memory_bytes() -> int | None:
    """Memory the kernel could give a new allocation without swapping (MemAvailable), None where
    /proc/meminfo does not say (not Linux). Command line equivalent: `free -b` ("available")."""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            fields = line.split()
            return int(fields[1]) * 1024 if len(fields) > 1 and fields[1].isdigit() else None
    return None


def detect_container(root: str = "/") -> str | None:
    """docker, podman, kubernetes or lxc from the marks each leaves; None on bare metal or a VM."""
    r = Path(root)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    if (r / ".dockerenv").exists():
        return "docker"
    if (r / "run/.containerenv").exists():
        return "podman"
    cgroup = _read(str(r / "proc/1/cgroup"))
    for name in ("docker", "kubepods", "lxc", "containerd"):
        if name in cgroup:
            return {"kubepods": "kubernetes", "containerd": "docker"}.get(name, name)
    return None


def _wsl() -> bool:
    return "microsoft" in _read("/proc/sys/kernel/osrelease").lower()


def read_system() -> System:
    host = read_host()
    uname = os.uname() if hasattr(os, "uname") else None
    return System(
        os=host.os,
        arch=host.arch,
        os_release=_os_release(),
        kernel=uname.release if uname else "",
        cpu=_cpu(),
        cpu_count=os.cpu_count() or 0,
        memory_total_mib=_memory_mib(),
        container=detect_container(),
        wsl=_wsl(),
        hostname=socket.gethostname(),
    )
