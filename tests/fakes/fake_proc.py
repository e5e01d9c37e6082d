"""A recorded /proc: the processes a machine's /proc showed, written as a directory tree that the
process probe (envcheck/probes/processes.py, which reads its PROC at each call) reads instead of
the real one, so that who owns a GPU process depends on the recording, not on the machine running
the tests.

A machine fixture's "proc" key:
    {"host_pid_namespace": true|false,  # pid 2 is the kernel's kthreadd (default true)
     "processes": {"<pid>": {"uid": 0, "cmdline": ["/bin/bash"], "exe": "/usr/bin/bash", "comm": "bash",
                             "gpu": false}}}  # gpu: holds /dev/nvidia0 open
A recording without the key replays the host's namespace where none of NVML's processes remain.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_proc(root: Path, recording: dict | None) -> Path:
    recording = recording or {}
    root.mkdir(parents=True, exist_ok=True)
    if recording.get("host_pid_namespace", True):
        (root / "2").mkdir(exist_ok=True)
        (root / "2" / "status").write_text("Name:\tkthreadd\nUmask:\t0000\nState:\tS (sleeping)\nTgid:\t2\nPid:\t2\nPPid:\t0\nUid:\t0\t0\t0\t0\n")
    for pid, p in recording.get("processes", {}).items():
        d = root / str(pid)
        (d / "fd").mkdir(parents=True, exist_ok=True)
        comm = p.get("comm") or os.path.basename((p.get("cmdline") or [""])[0])[:15]
        uid = p["uid"]
        (d / "status").write_text(f"Name:\t{comm}\nPid:\t{pid}\nPPid:\t1\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
        (d / "comm").write_text(comm + "\n")
        (d / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in p.get("cmdline", [])))
        if p.get("exe"):
            os.symlink(p["exe"], d / "exe")
        os.symlink("/dev/null", d / "fd" / "0")
        if p.get("gpu"):
            os.symlink("/dev/nvidia0", d / "fd" / "3")
    return root


def install_proc(monkeypatch, machine: dict, root: Path) -> Path:
    """Point the process probe at the machine's recorded /proc, written under `root`."""
    tree = write_proc(root, machine.get("proc"))
    monkeypatch.setattr("envcheck.probes.processes.PROC", str(tree))
    return tree
