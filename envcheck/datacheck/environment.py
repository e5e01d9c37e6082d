"""What surrounds a data pipeline: usable cores, /dev/shm, the start method, the filesystem.

Pure readers of files the kernel writes; every path is a parameter (`Roots`), so tests point them at
a fake tree. By hand: `nproc`, `cat /sys/fs/cgroup/cpu.max`, `df -h /dev/shm`, `findmnt -T PATH`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from envcheck.datacheck.results import Cores, Filesystem, Surroundings
from envcheck.snapshot.facts import Unavailable


@dataclass(frozen=True)
class Roots:
    """Where the kernel's files are read from; tests name a fake tree."""

    mountinfo: Path = Path("/proc/self/mountinfo")
    cgroup: Path = Path("/sys/fs/cgroup")
    proc_cgroup: Path = Path("/proc/self/cgroup")
    shm: Path = Path("/dev/shm")


# Filesystems that change how a dataset reads, with their typical effect (kernel fs type names,
# as /proc/self/mountinfo spells them).
FILESYSTEMS = {
    "nfs": "a network filesystem: every file opened is a round trip to the server, so many small files read slowly; copy the dataset to a local disk or pack it into a few large files (tar shards, LMDB)",
    "lustre": "a parallel cluster filesystem: fast for large files, slow to open many small ones; pack small files into a few large ones",
    "cifs": "a Windows (SMB) network share: small files read slowly; copy the dataset to a local disk",
    "9p": "under WSL 2 this is a Windows drive (/mnt/c, ...), many times slower than WSL's own disk; move the dataset into the Linux side (e.g. ~/data)",
    "drvfs": "a Windows drive under WSL, much slower than WSL's own disk; move the dataset into the Linux side (e.g. ~/data)",
    "overlay": "a container's own layered filesystem; mount the dataset from the host instead (docker run -v /data:/data)",
    "fuse": "a FUSE filesystem (sshfs, s3fs, a cloud bucket): every read goes through a user-space program, often over the network; copy the dataset to a local disk",
    "tmpfs": "kept in memory: reads never touch a disk, so the figures show memory speed",
}
ALIASES = {"nfs4": "nfs", "smb3": "cifs", "smbfs": "cifs", "fuseblk": "fuse", "v9fs": "9p"}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _own_cgroup(roots: Roots) -> list:
    """This process's cgroup directories, its own first and then each parent up to the root: a
    limit set on a parent holds for the children too. v2 line `0::/path`; v1 `N:cpu,cpuacct:/path`."""
    text = _read(roots.proc_cgroup) or ""
    v2, v1 = "/", None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[0] == "0" and parts[1] == "":
            v2 = parts[2] or "/"
        elif len(parts) == 3 and "cpu" in parts[1].split(","):
            v1 = (parts[1], parts[2] or "/")
    dirs = []
    for base, rel in ((roots.cgroup, v2),) + (((roots.cgroup / v1[0], v1[1]),) if v1 else ()):
        parts = [p for p in rel.split("/") if p]
        dirs += [base.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]
    return dirs


def cpu_quota(roots: Roots) -> float | None:
    """The CPU quota of this process's cgroup in cores (Docker's --cpus, Kubernetes' limits), or
    None when there is none: cgroup v2 `cpu.max` ("150000 100000" = 1.5 cores, "max 100000" = no
    limit), v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1 = no limit). The lowest along the path."""
    found = []
    for d in _own_cgroup(roots):
        fields = (_read(d / "cpu.max") or "").split()
        if len(fields) == 2 and fields[0] != "max":
            quota, period = fields
        else:
            quota, period = (_read(d / "cpu.cfs_quota_us") or "").strip(), (_read(d / "cpu.cfs_period_us") or "").strip()
        try:
            q, p = int(quota), int(period)
        except ValueError:
            continue
        if q > 0 and p > 0:
            found.append(q / p)
    return min(found) if found else None


def cores(roots: Roots) -> Cores:
    """The cores this process may use: the CPUs it may run on (sched_getaffinity: taskset, a
    cpuset), capped by the cgroup quota. os.cpu_count() counts the machine's, which overstates a
    container's share and is what DataLoader examples size num_workers by."""
    visible = os.cpu_count()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    quota = cpu_quota(roots)  # elsewhere the files are missing: None
    usable = float(affinity or visible or 1)
    if quota is not None:
        usable = min(usable, quota)
    return Cores(usable=usable, visible=visible, affinity=affinity, quota=quota)


def shm_bytes(roots: Roots):
    """The size of /dev/shm, where DataLoader workers put the tensors they hand to the main
    process (torch's file_descriptor sharing strategy uses shared memory there), or Unavailable."""
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return Unavailable("not_supported", "this system has no /dev/shm; DataLoader workers share memory another way")
    try:
        st = statvfs(str(roots.shm))
    except OSError as exc:
        return Unavailable("not_found", f"{roots.shm} cannot be read ({exc.strerror or exc})")
    return st.f_frsize * st.f_blocks


def start_method(platform: str = sys.platform, version: tuple = tuple(sys.version_info[:2])) -> str:
    """How DataLoader starts its workers when the script does not say: CPython's default start
    method (docs of `multiprocessing`: spawn on Windows and, from 3.8, on macOS; fork on Linux,
    forkserver from 3.14). Read from the platform rather than asked: `multiprocessing` stays out."""
    if platform.startswith("win") or platform == "darwin":
        return "spawn"
    return "forkserver" if version >= (3, 14) else "fork"


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _kind(fstype: str) -> str:
    base = fstype.split(".", 1)[0]  # fuse.sshfs -> fuse
    return ALIASES.get(fstype, ALIASES.get(base, base))


def filesystem(path: Path, roots: Roots):
    """The mount that holds `path` (the longest mount point above it, the last mounted winning) and
    the typical effect of its type on a data pipeline, or Unavailable off Linux."""
    text = _read(roots.mountinfo)
    if text is None:
        return Unavailable("not_supported", f"{roots.mountinfo} cannot be read (not Linux?)")
    target = os.path.realpath(path)
    best = None
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or not tail:
            continue
        point = _unescape(fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, tail[0], _unescape(tail[1]) if len(tail) > 1 else "")
    if best is None:
        return Unavailable("not_found", f"no mount in {roots.mountinfo} holds {target}")
    point, fstype, source = best
    return Filesystem(mount_point=point, fstype=fstype, source=source, note=FILESYSTEMS.get(_kind(fstype), ""))


def surroundings(path: Path, roots: Roots) -> Surroundings:
    return Surroundings(cores=cores(roots), shm_bytes=shm_bytes(roots), start_method=start_method(), filesystem=filesystem(path, roots))
