"""Start one worker per device (all at once by default, as training does, which exposes power and
thermal throttling), collect their results; a worker that crashes or hangs is reported and the
others' results are kept."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from typing import NamedTuple

from envcheck.bench.allreduce import MARK as AR
from envcheck.bench.p2p import MARK as P2P
from envcheck.bench.results import (
    ANSWER,
    PROGRESS,
    DeviceResult,
    WorkerArgs,
    allreduce_result,
    answer_result,
)
from envcheck.probes import children

__all__ = ["DeviceResult", "Interrupted", "Job", "allreduce_result", "run_allreduce", "run_devices", "p2p_matrix"]

# How the parent asks a worker to stop at its current measurement and print what it finished.
# POSIX: SIGINT, which the terminal also sends on Ctrl-C. Windows has no SIGINT for another
# process: Popen.send_signal takes only SIGTERM (= terminate, which loses the answer), CTRL_C_EVENT
# and CTRL_BREAK_EVENT, and raises ValueError for the rest (CPython Lib/subprocess.py); CTRL_BREAK_EVENT
# reaches a child started with CREATE_NEW_PROCESS_GROUP, as the leader of its own group
# (GenerateConsoleCtrlEvent, learn.microsoft.com), and CTRL_C_EVENT cannot be limited to one group.
# Such a child no longer gets the console's Ctrl-C itself: the parent passes it on, and the worker
# turns the break into KeyboardInterrupt (bench.worker._break_is_ctrl_c).
if sys.platform == "win32":
    STOP_SIGNAL = signal.CTRL_BREAK_EVENT
    WORKER_FLAGS = subprocess.CREATE_NEW_PROCESS_GROUP
else:
    STOP_SIGNAL, WORKER_FLAGS = signal.SIGINT, 0
# POSIX: every child leads a session of its own, as the probes' children do (probes/child_output.py),
# and is registered in probes/children.py, so that SIGTERM to envcheck kills its whole group (with
# what torch started in it). The terminal's Ctrl-C then reaches envcheck alone, which passes it on.
_OWN_SESSION = os.name == "posix"

class Job(NamedTuple):
    """One device's worker: its label in the report, what it measures, and the environment it
    runs in (bench.selection's worker_env: the CUDA_VISIBLE_DEVICES that makes cuda:0 its GPU)."""

    label: str
    args: WorkerArgs
    env: dict


def _command(args: WorkerArgs) -> list:
    return [sys.executable, "-m", "envcheck.bench.worker", args.to_json()]


class _Child(subprocess.Popen):
    """A worker whose stdout is read while it runs: its progress lines go to `on_event` at once,
    the rest is kept for its answer."""

    _reader: threading.Thread | None = None

    def watch(self, on_event) -> None:
        self._lines: list = []
        self._reader = threading.Thread(target=self._read, args=(on_event,), name="envcheck-worker-stdout", daemon=True)
        self._reader.start()

    def _read(self, on_event) -> None:
        for line in self.stdout:
            if line.startswith(PROGRESS):
                try:
                    on_event(json.loads(line[len(PROGRESS):]))
                except ValueError:
                    pass
            else:
                self._lines.append(line)

    def output(self, timeout: float) -> str:
        """All it wrote besides progress; raises TimeoutExpired when it runs past `timeout`."""
        if self._reader is None:
            return self.communicate(timeout=timeout)[0] or ""
        self.wait(timeout)
        self._reader.join()
        return "".join(self._lines)

    def wait(self, timeout=None):
        code = super().wait(timeout)
        children.ended(self)  # reaped: its pid, its group's id, may now be anyone's, so no stop_all() may kill it
        return code

    def poll(self):
        code = super().poll()
        if code is not None:
            children.ended(self)
        return code

    def stop(self) -> None:
        self.kill()
        if self._reader is None:
            self.communicate()
        else:
            self.wait()
            self._reader.join()


def _spawn(argv: list, env: dict, stdout=subprocess.PIPE, on_event=None, flags: int = 0) -> tuple:
    """A child whose stderr goes to a file: a pipe nobody reads while it runs could fill up and
    block the child (for a collective, every rank with it). `flags`: Windows creation flags."""
    err = tempfile.TemporaryFile(mode="w+")
    proc = _Child(argv, stdout=stdout, stderr=err, text=True, errors="replace", env={**os.environ, **env},
                  creationflags=flags, start_new_session=_OWN_SESSION)
    children.started(proc, group=_OWN_SESSION)
    if on_event is not None and stdout == subprocess.PIPE:
        proc.watch(on_event)
    return proc, err


def _tail(err_file) -> str:
    err_file.seek(0)
    lines = err_file.read().strip().splitlines()
    err_file.close()
    return lines[-1] if lines else "no output"


def _answer(proc: subprocess.Popen, err_file, mark: str, timeout: float) -> tuple:
    """(the child's JSON answer after `mark` or None, whether it timed out). A child past the
    timeout is killed and reaped; one that gave no answer keeps its stderr file for the caller."""
    try:
        out = proc.output(timeout)
    except subprocess.TimeoutExpired:
        proc.stop()
        err_file.close()
        return None, True
    for line in out.splitlines():
        if line.startswith(mark):
            err_file.close()
            return json.loads(line[len(mark):]), False
    return None, False


def _result(label: str, proc: subprocess.Popen, err_file, timeout: float) -> DeviceResult:
    data, timed_out = _answer(proc, err_file, ANSWER, timeout)
    if data is not None:
        return answer_result(label, data)
    if timed_out:
        return DeviceResult(label, "", errors=(f"the worker did not finish within {timeout:g} s: killed",))
    tail = _tail(err_file)
    how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
    return DeviceResult(label, "", errors=(f"the worker crashed ({how}): {tail}",))


class Interrupted(Exception):
    """Ctrl-C during a run: `results` holds every measurement that finished (docs/DESIGN.md)."""

    def __init__(self, results: list):
        super().__init__("interrupted")
        self.results = results


def _events(on_progress, label: str):
    return None if on_progress is None else (lambda event: on_progress(label, event))


def run_devices(jobs: list, timeout: float, sequential: bool = False, on_progress=None) -> list:
    """jobs: Job(label, worker args, extra environment). Results in the order of jobs. Ctrl-C asks the
    workers still running for what they measured so far, stops them, and raises Interrupted with
    every finished measurement. on_progress(label, event): first each device's plan
    ({"plan": {suite: measurements}, "seconds": per measurement}), then the workers' own events
    ({"suite", "step", "state": "start"} and {"suite", "state": "done", "done": n}) as they come."""
    results: list = []
    started: list = []
    if on_progress is not None:
        for label, args, _ in jobs:
            on_progress(label, {"plan": args.plan(), "seconds": args.seconds})
    try:
        if sequential:
            for label, args, env in jobs:
                started = [(label, *_spawn(_command(args), env, on_event=_events(on_progress, label), flags=WORKER_FLAGS))]
                results.append(_result(*started[0], timeout))
            return results
        started = [(label, *_spawn(_command(args), env, on_event=_events(on_progress, label), flags=WORKER_FLAGS))
                   for label, args, env in jobs]
        for item in started:
            results.append(_result(*item, timeout))
        return results
    except KeyboardInterrupt:
        done = {r.label for r in results}
        running = [item for item in started if item[0] not in done]
        for _, proc, _ in running:  # all at once, as the terminal's Ctrl-C did before they had sessions of their own
            _ask_to_stop(proc)
        for label, proc, err in running:
            results.append(_partial(label, proc, err))
        done = {r.label for r in results}
        results += [DeviceResult(label, "", errors=("interrupted (Ctrl-C) before it started",)) for label, _, _ in jobs if label not in done]
        raise Interrupted(results) from None


def _ask_to_stop(proc: subprocess.Popen) -> None:
    """Pass Ctrl-C on: the worker stops at its current measurement and prints the finished ones. It
    leads a session (POSIX) or group (Windows) of its own, so the terminal's Ctrl-C reached envcheck alone."""
    if proc.poll() is None:
        try:
            proc.send_signal(STOP_SIGNAL)
        except (OSError, ValueError):  # gone already, or it cannot be asked (no console to send a break on): stop it
            _terminate(proc)


def _partial(label: str, proc: subprocess.Popen, err_file, grace: float = 10.0) -> DeviceResult:
    """A worker's answer after Ctrl-C, once _ask_to_stop has asked it (once: a second SIGINT would cut
    short its printing of the first): what it finished, or why there is none."""
    data, _ = _answer(proc, err_file, ANSWER, grace)
    if data is None:
        return DeviceResult(label, "", errors=("interrupted (Ctrl-C) before it finished",))
    return answer_result(label, data)


def _terminate(proc: subprocess.Popen) -> None:
    try:
        proc.terminate()
    except OSError:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_allreduce(envs: list, backend: str, sizes: list, seconds: float, timeout: float, on_progress=None) -> DeviceResult:
    """One process per rank (envs: each rank's extra environment, e.g. its CUDA_VISIBLE_DEVICES);
    on_progress(label, event) as for run_devices, with rank 0 telling each message size."""
    world = len(envs)
    args = json.dumps({"backend": backend, "sizes": sizes, "seconds": seconds, "timeout": timeout})
    # All ranks are on this machine: keep their traffic on loopback (gloo otherwise picks the
    # interface its host name resolves to, which may be a network address).
    base = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": str(world)}
    if sys.platform.startswith("linux"):
        base.update({"GLOO_SOCKET_IFNAME": "lo", "NCCL_SOCKET_IFNAME": "lo"})
    label = f"all-reduce ({world} ranks, {backend})"
    if on_progress is not None:
        on_progress(label, {"plan": {"sweep": len(sizes)}, "seconds": seconds})
    ranks = [_spawn([sys.executable, "-m", "envcheck.bench.allreduce", args], {**base, "RANK": str(r), "LOCAL_RANK": str(r), **env},
                    stdout=subprocess.PIPE if r == 0 else subprocess.DEVNULL, on_event=_events(on_progress, label) if r == 0 else None)
             for r, env in enumerate(envs)]
    outputs, errors = [], []
    for r, (proc, err) in enumerate(ranks):
        try:
            out = proc.output(timeout + 30 * len(sizes))
        except subprocess.TimeoutExpired:
            _stop(ranks)
            return DeviceResult(label, backend, errors=(f"rank {r} did not finish: killed (a collective that hangs: no P2P between these GPUs?)",))
        except KeyboardInterrupt:
            _stop(ranks)
            raise Interrupted([DeviceResult(label, backend, errors=("interrupted (Ctrl-C) before the sweep finished",))]) from None
        outputs.append(out)
        if proc.returncode != 0:
            errors.append(f"rank {r} failed (exit code {proc.returncode}): {_tail(err)}")
        else:
            err.close()
    for line in outputs[0].splitlines() if outputs else ():
        if line.startswith(AR):
            return allreduce_result(label, backend, json.loads(line[len(AR):])["rows"], errors)
    return DeviceResult(label, backend, errors=tuple(errors) or ("rank 0 gave no answer",))


def _stop(procs: list) -> None:
    for p, e in procs:
        p.stop()
        e.close()


def p2p_matrix(visible: str, timeout: float = 60.0) -> tuple:
    """(matrix, error): peer access between the GPUs listed in `visible` (UUIDs or indices)."""
    proc, err = _spawn([sys.executable, "-m", "envcheck.bench.p2p"], {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": visible})
    data, timed_out = _answer(proc, err, P2P, timeout)
    if data is not None:
        return data["matrix"], ""
    if timed_out:
        return None, f"the peer-access query did not finish within {timeout:g} s"
    return None, f"the peer-access query failed: {_tail(err)}"
