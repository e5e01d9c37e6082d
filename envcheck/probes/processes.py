"""Who runs the processes NVML lists on the GPUs: the user of each process id, where this /proc
shows that the process id is that same process.

The user is read from /proc/<pid>/status (its "Uid:" line: real, effective, saved and filesystem
uid; the real one is taken, as psutil's Process.username() and so gpustat do) and named through
the password database; a uid the database does not know (an LDAP user while the directory is
unreachable) is shown as the number, as `ps` does.

NVML gives the host's process ids: the driver does not translate them into a container's PID
namespace (NVIDIA/nvidia-docker#1483, "the nvidia-driver itself does not support pid-namespaces").
Inside a container, /proc/<host pid> is then absent or an unrelated process of the container, whose
owner would be the wrong user. And NVML's process name is read from the /proc the caller sees
(nvidia-smi in a container names host processes only once the host's /proc is mounted, same
issue), so its agreeing with /proc proves nothing there. Hence:
- in the host's PID namespace (the kernel's thread kthreadd is pid 2 only there), a pid is the
  process NVML means unless NVML's name for it disagrees with this /proc (the pid was reused);
- elsewhere, only a process that holds a /dev/nvidia* device open is taken for the GPU process;
  the others get no user, and one line says why.
A process that ended between NVML's answer and this read, or that this user may not inspect, gives
no user: never an error. Command line equivalent: `ps -o ruser= -p <pid>`, `ls -l /proc/<pid>/fd`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from envcheck.snapshot.facts import DriverInfo, known

PROC = "/proc"  # read at each call, so that tests can point it at a recorded /proc
NOT_VISIBLE = ("inside a container, NVML gives the host's process IDs, and the owners of processes of other "
               "containers or the host are not visible here")
MAX_FDS = 4096  # a process's open files looked at for a GPU device; a training job holds a few hundred


@dataclass(frozen=True)
class Owners:
    users: dict = field(default_factory=dict)  # pid -> user name, or None where it cannot be said
    unseen: tuple = ()  # pids NVML lists that this /proc cannot show to be those processes
    why: str = ""  # one line about the unseen pids ("" when there are none)


def uid_of(pid: int, proc: Optional[str] = None) -> Optional[int]:
    """The real uid of a running process, or None when it cannot be read."""
    try:
        with open(f"{proc or PROC}/{int(pid)}/status", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("Uid:"):
                    fields = line.split()
                    return int(fields[1]) if len(fields) > 1 and fields[1].isascii() and fields[1].isdigit() else None
    except (OSError, ValueError):
        return None  # gone, not ours to read, or no /proc here
    return None


def user_name(uid: int) -> str:
    """The login name of a uid, or the uid itself as text when no name is known."""
    try:
        import pwd  # POSIX only
    except ImportError:
        return str(uid)
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def host_pid_namespace(proc: Optional[str] = None) -> bool:
    """Whether this /proc is the host's PID namespace, where NVML's process ids are ours: only
    there is pid 2 the kernel's kthreadd (kernel threads belong to the first namespace alone)."""
    fields = {}
    try:
        with open(f"{proc or PROC}/2/status", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    except OSError:
        return False
    return fields.get("Name") == "kthreadd" and fields.get("PPid") == "0"


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return ""


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def same_program(nvml_name: str, where: str) -> Optional[bool]:
    """Whether NVML's name for a process (its first command-line word, as nvidia-smi shows it)
    agrees with the process at `where` (/proc/<pid>): its first command-line word, executable or
    short name, in full or by base name. None when there is nothing to compare."""
    argv0 = _read(f"{where}/cmdline").split("\0", 1)[0]
    exe = _link(f"{where}/exe")
    comm = _read(f"{where}/comm").strip()
    seen = [x for x in (argv0, exe) if x]
    if not nvml_name or not (seen or comm):
        return None
    base = os.path.basename(nvml_name)
    return (nvml_name in seen or base in {os.path.basename(x) for x in seen}
            or (bool(comm) and base[:15] == comm))  # the kernel keeps 15 characters of the name


def holds_gpu(where: str) -> bool:
    """Whether the process at `where` (/proc/<pid>) has an NVIDIA device open; False when its open
    files cannot be read (another user's process)."""
    try:
        fds = os.listdir(f"{where}/fd")
    except OSError:
        return False
    return any(_link(f"{where}/fd/{fd}").startswith("/dev/nvidia") for fd in fds[:MAX_FDS])


def process_owners(driver: DriverInfo, proc: Optional[str] = None) -> Owners:
    """The user of each process NVML lists on any GPU, where this /proc shows it is that process."""
    proc = proc or PROC
    named = {}  # pid -> NVML's name for it ("" where NVML could not say)
    gpus = driver.gpus if known(driver.gpus) else ()
    records = [r for g in gpus for r in (g, *(g.mig_devices if isinstance(g.mig_devices, tuple) else ()))]  # MIG devices' own
    for r in records:
        for p in r.processes if isinstance(r.processes, tuple) else ():
            named[p.pid] = named.get(p.pid) or p.name
    host = host_pid_namespace(proc)
    names: dict = {}  # uid -> name: eight GPUs' processes often share one user
    users: dict = {}
    unseen = []
    for pid, name in sorted(named.items()):
        where = f"{proc}/{int(pid)}"
        uid = uid_of(pid, proc)
        agrees = same_program(name, where) if uid is not None else None
        if uid is None or agrees is False or not (host or holds_gpu(where)):
            users[pid] = None
            if not host and os.path.isdir(proc):  # without /proc (Windows, macOS) there is no container to speak of
                unseen.append(pid)
            continue
        if uid not in names:
            names[uid] = user_name(uid)
        users[pid] = names[uid]
    why = f"no owner shown for PID{'s' if len(unseen) > 1 else ''} {', '.join(map(str, unseen))}: {NOT_VISIBLE}" if unseen else ""
    return Owners(users, tuple(unseen), why)
