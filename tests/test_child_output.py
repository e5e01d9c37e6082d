"""A probe's child that floods its output, prints without a newline, or leaves a grandchild holding
its pipes: envcheck's memory stays bounded, the answer is still read, the deadline holds, and what
the child started is killed with its group (envcheck/probes/child_output.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from envcheck.probes.child_output import Capped
from envcheck.probes.torch_probe import read_torch
from tests.test_torch_probe import FAKES, SPECS, fake_env, write_spec

posix_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_capped_keeps_both_ends_and_counts_what_it_left_out():
    box = Capped(cap=4)
    for chunk in (b"ab", b"cdef", b"ghij", b"kl"):
        box.add(chunk)
    assert (bytes(box.head), bytes(box.tail), box.dropped) == (b"abcd", b"ijkl", 4)
    assert box.text() == "abcd\n[envcheck left out 4 bytes of this output here]\nijkl"
    small = Capped(cap=4)
    small.add(b"abcdef")
    assert small.text() == "abcdef"


def _kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


@posix_only
def test_a_child_flooding_stderr_costs_little_memory_and_its_answer_is_read(tmp_path):
    with open("/proc/self/clear_refs", "w") as fh:  # resets VmHWM, the peak resident size
        fh.write("5")
    before = _kib("VmRSS")
    spec = write_spec(tmp_path, **{**_spec("cpu_build"), "stderr_flood": 200 * 1024 * 1024})
    torch = read_torch(env=fake_env(spec), timeout=60)
    grown_mib = (_kib("VmHWM") - before) / 1024
    assert torch.status == "ok" and torch.version
    assert grown_mib < 50, f"reading 200 MB of stderr grew envcheck by {grown_mib:.0f} MiB"


def test_an_import_that_prints_without_a_newline_is_not_a_crash(tmp_path):
    spec = write_spec(tmp_path, **{**_spec("cpu_build"), "print_no_newline": "loading CUDA kernels..."})
    torch = read_torch(env=fake_env(spec), timeout=60)
    assert torch.status == "ok", torch.error


@posix_only
def test_a_grandchild_holding_the_pipes_neither_delays_the_answer_nor_outlives_the_probe(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    spec = write_spec(tmp_path, **{**_spec("cpu_build"), "orphan_grandchild": str(pid_file)})
    start = time.monotonic()
    try:
        torch = read_torch(env=fake_env(spec), timeout=30)
        took = time.monotonic() - start
        assert torch.status == "ok", torch.error
        assert took < 10, f"the probe waited {took:.1f} s for a pipe the grandchild held"
        assert _gone(int(pid_file.read_text())), "the grandchild outlived the probe"
    finally:
        _kill_if_left(pid_file)


@posix_only
def test_a_grandchild_of_nvidia_smi_neither_delays_it_nor_outlives_it(machine, tmp_path, monkeypatch):
    from envcheck.probes.nvml import read_driver

    machine("no_driver")
    csv = tmp_path / "out.csv"
    csv.write_text("index, name, uuid, pci.bus_id, driver_version, memory.total [MiB], compute_cap\n"
                   "0, Tesla T4, GPU-1, 00000000:00:1E.0, 535.104.05, 15109 MiB, 7.5\n")
    pid_file = tmp_path / "grandchild.pid"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {pid_file}\ncat {csv}\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/bin{os.pathsep}/usr/bin")
    start = time.monotonic()
    try:
        info = read_driver()
        took = time.monotonic() - start
        assert info.source == "nvidia-smi" and info.driver_version == "535.104.05"
        assert took < 5, f"nvidia-smi's probe waited {took:.1f} s for a pipe its grandchild held"
        assert _gone(int(pid_file.read_text())), "nvidia-smi's grandchild outlived the probe"
    finally:
        _kill_if_left(pid_file)


@posix_only
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_envcheck_kills_what_torch_started(tmp_path, signum):
    pid_file = tmp_path / "grandchild.pid"
    spec = write_spec(tmp_path, **{"mode": "hang", "orphan_grandchild": str(pid_file)})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FAKES), os.getcwd()]), "FAKE_TORCH_SPEC": str(spec)}
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "doctor", "--timeout", "60"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):  # the probe's import has started the grandchild
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.05)
        assert pid_file.exists(), "the fake torch never started its grandchild"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 128 + signum, err
        assert len(err.strip().splitlines()) == 1, err
        assert _gone(int(pid_file.read_text())), "torch's own child outlived envcheck"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_if_left(pid_file)


def _spec(name: str) -> dict:
    import json

    return json.loads((SPECS / f"{name}.json").read_text())


def _gone(pid: int, wait: float = 5.0) -> bool:
    """Whether `pid` has ended (a zombie waiting for init counts as ended)."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def _kill_if_left(pid_file) -> None:
    """Stop the grandchild this test started, should the code under test have left it running."""
    try:
        pid = int(pid_file.read_text())
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"sleep" not in fh.read():
                return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass
