"""Who runs the processes NVML lists on the GPUs: the user of each process id.

Read from /proc/<pid>/status (its "Uid:" line: real, effective, saved and filesystem uid; the
real one is taken, as psutil's Process.username() and so gpustat do) and named through the
password database. A process that ended between NVML's answer and this read, one this user may
not inspect, or a system without /proc gives no user: never an error. A uid the password database
does not know (a container's user, an LDAP user while the directory is unreachable) is shown as the
number, as `ps` does.

Command line equivalent: `ps -o ruser= -p <pid>`.
"""

from __future__ import annotations

from typing import Iterable, Optional

PROC = "/proc"


def uid_of(pid: int, proc: str = PROC) -> Optional[int]:
    """The real uid of a running process, or None when it cannot be read."""
    try:
        with open(f"{proc}/{int(pid)}/status", encoding="utf-8", errors="replace") as fh:
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


def process_users(pids: Iterable[int], proc: str = PROC) -> dict:
    """{pid: user name or None} for each pid: None where the process cannot be read."""
    names: dict = {}  # uid -> name: eight GPUs' processes often share one user
    users: dict = {}
    for pid in pids:
        uid = uid_of(pid, proc)
        if uid is None:
            users[pid] = None
            continue
        if uid not in names:
            names[uid] = user_name(uid)
        users[pid] = names[uid]
    return users
