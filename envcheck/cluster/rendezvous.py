"""Joining the job: torch.distributed's rendezvous, with what c10d prints from C++ held back.

A rank that cannot reach rank 0 gets from c10d, on fd 2 and not through Python, an error line, a
retry warning and some 40 lines of C++ stack frames per try. TORCH_CPP_LOG_LEVEL=FATAL silences
them (checked with torch 2.13; TORCH_SHOW_CPP_STACKTRACES=0 does not), but only when set before
torch loads, and then for the whole run. So fd 2 goes to a temporary file only while the rank
joins: on success what was held back is written out after all; on failure the rank says in one
line whom it could not reach and what to check (docs/DESIGN.md, "Reliability and security").
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from datetime import timedelta

from envcheck.cluster.launch import Launch
from envcheck.errors import UserError, describe

_REPLAY = 64 * 1024  # at most this much of what was held back is written out after a good join


def join(dist, backend: str, launch: Launch, timeout: float) -> None:
    """dist.init_process_group over env://, or UserError: a rank that cannot reach rank 0 names it."""
    with _held_back_stderr() as held:
        try:
            dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
        except Exception as exc:
            held.drop()
            raise UserError(failure(exc, launch, timeout, _network_errors(dist))) from exc


def failure(exc: BaseException, launch: Launch, timeout: float, network: tuple = ()) -> str:
    """The one line for a rank that could not join."""
    where = f"{launch.master_addr}:{launch.master_port}"
    if launch.rank != 0 and isinstance(exc, network + (TimeoutError, ConnectionError)):
        return (f"rank {launch.rank} cannot reach rank 0 at {where} (waited {timeout:g} s): check that rank 0 has started, "
                f"that MASTER_ADDR and MASTER_PORT are the same on every node, and that no firewall blocks port "
                f"{launch.master_port} ({describe(exc)})")
    return f"rank {launch.rank} could not join the job at {where}: {describe(exc)}"


def _network_errors(dist) -> tuple:
    """c10d's errors for a store that cannot be reached (torch >= 2.2), where this torch has them."""
    return tuple(c for c in (getattr(dist, "DistNetworkError", None), getattr(dist, "DistStoreError", None))
                 if isinstance(c, type))


class _Held:
    def __init__(self, file):
        self.file = file
        self.keep = True

    def drop(self) -> None:
        self.keep = False


@contextmanager
def _held_back_stderr():
    """fd 2 into a temporary file for the block; written out at the end unless dropped."""
    try:
        file = tempfile.TemporaryFile()
        saved = os.dup(2)
    except OSError:  # no room for the file, or no fd 2: join without holding anything back
        yield _Held(None)
        return
    held = _Held(file)
    sys.stderr.flush()
    os.dup2(file.fileno(), 2)
    try:
        yield held
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if held.keep:
            _replay(file)
        file.close()


def _replay(file) -> None:
    """Write out the last _REPLAY bytes of what was held back (retries while rank 0 came up)."""
    try:
        size = file.seek(0, os.SEEK_END)
        file.seek(max(size - _REPLAY, 0))
        data = memoryview(file.read())
        while data:
            data = data[os.write(2, data):]
    except OSError:
        pass
