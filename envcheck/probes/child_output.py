"""Starting a probe's child in a process group of its own, and reading its output with a cap and
a deadline.

A child may write without end (a torch import that floods stderr grew envcheck by gigabytes in
seconds), and a grandchild it leaves behind may hold its pipes open after it has exited (a false
"did not finish"). So each pipe keeps only its first and last CAP bytes and counts the rest; the
reading ends at the deadline, or a short grace after the child itself has exited; and the child's
whole group is killed at the end, which takes what it started with it. Standard library only:
torch_spawn imports this before the CLI stack (docs/DESIGN.md, "Reliability and security").
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from envcheck.probes import children

CAP = 64 * 1024  # bytes kept at each end of one pipe's output
GRACE = 0.5  # seconds to wait for the pipes once the child has exited (a grandchild may hold them)
_POLL = 0.05  # seconds between two looks at whether the child has exited
_POSIX = os.name == "posix"


class Capped:
    """The first and last `cap` bytes written to one pipe, and how many between them were dropped."""

    def __init__(self, cap: int = CAP):
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self._lock:
            room = self.cap - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail += chunk
            over = len(self.tail) - self.cap
            if over > 0:
                del self.tail[:over]
                self.dropped += over

    def text(self) -> str:
        """Head and tail as text, with a line where output was left out."""
        with self._lock:
            head, tail, dropped = bytes(self.head), bytes(self.tail), self.dropped
        decode = lambda b: b.decode("utf-8", errors="replace")  # noqa: E731
        if not dropped:
            return decode(head + tail)
        return f"{decode(head)}\n[envcheck left out {dropped} bytes of this output here]\n{decode(tail)}"


class Output:
    """What a child left: its exit status (None if it could not be reaped), its output as text,
    and whether the deadline ended it."""

    def __init__(self, returncode, stdout: str, stderr: str, timed_out: bool):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out


def start(argv: list, env: dict | None = None) -> subprocess.Popen:
    """A child with piped stdout and stderr, no stdin, leading a process group of its own (POSIX: a
    session; Windows: CREATE_NEW_PROCESS_GROUP), registered so that Ctrl-C and SIGTERM stop it."""
    flags = 0 if _POSIX else subprocess.CREATE_NEW_PROCESS_GROUP
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=_POSIX, creationflags=flags)
    return children.started(proc, group=_POSIX)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the child's group: the child and whatever it started that stayed in it. Called only
    before the child is reaped, so that its pid, the group's id, cannot belong to anyone else."""
    try:
        if _POSIX:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:  # the group is empty already
        pass


def read(proc: subprocess.Popen, seconds: float, cap: int = CAP, grace: float = GRACE) -> Output:
    """Read both pipes until they close, or the child has exited and `grace` has passed, or
    `seconds` have passed; then kill the child's group, reap the child and forget it. Ctrl-C (or
    SIGTERM) while waiting kills the group too."""
    streams = (Capped(cap), Capped(cap))
    readers = [_reader(pipe, box) for pipe, box in zip((proc.stdout, proc.stderr), streams) if pipe is not None]
    timed_out = False
    try:
        timed_out = not _wait(proc, readers, time.monotonic() + seconds, grace)
        kill_group(proc)  # on time, this stops only what the child left behind
        for reader in readers:  # what the killed group had written last
            reader.join(grace)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # unkillable (stuck in the kernel): leave it to the OS
            pass
    except BaseException:
        kill_group(proc)
        raise
    finally:
        children.ended(proc)
    return Output(proc.returncode, streams[0].text(), streams[1].text(), timed_out)


def _wait(proc: subprocess.Popen, readers: list, deadline: float, grace: float) -> bool:
    """True once both pipes closed or the child exited (and `grace` passed), False at the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        alive = [r for r in readers if r.is_alive()]
        if not alive:
            return True
        alive[0].join(min(_POLL, left))
        if not any(r.is_alive() for r in readers):
            return True
        if _exited(proc):  # a grandchild holds the pipes: give them a moment, then stop reading
            end = min(time.monotonic() + grace, deadline)
            for reader in readers:
                reader.join(max(end - time.monotonic(), 0))
            return True


def _exited(proc: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it (POSIX): its pid stays the group's id until
    kill_group has run."""
    if not hasattr(os, "waitid"):  # Windows, macOS
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped already
        return True


def _reader(pipe, box: Capped) -> threading.Thread:
    """A thread that reads `pipe` into `box` until EOF and then closes it."""

    def run():
        fd = pipe.fileno()
        try:
            while True:
                chunk = os.read(fd, CAP)
                if not chunk:
                    break
                box.add(chunk)
        except OSError:
            pass
        finally:
            pipe.close()

    thread = threading.Thread(target=run, name="envcheck-child-output", daemon=True)
    thread.start()
    return thread
