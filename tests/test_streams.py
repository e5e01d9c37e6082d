"""A stdout that is full, closed or a pipe nobody reads, and a closed stdin: one line or a quiet exit,
never "internal error" (envcheck/cli/streams.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX redirections")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _envcheck(redirect: str, *args: str, **kw) -> subprocess.CompletedProcess:
    """envcheck run by the shell with `redirect` applied (">/dev/full", ">&-", "<&-")."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    script = f'exec "$0" -m envcheck "$@" {redirect}'
    return subprocess.run(["/bin/sh", "-c", script, sys.executable, *args], env=env, stderr=subprocess.PIPE, text=True,
                          timeout=60, **kw)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in lines[0] and lines[0].startswith("envcheck: error: ")
    return lines[0]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [["doctor", "--no-torch"], ["--help"]], ids=["doctor", "help"])
def test_a_full_stdout_is_one_line_and_exit_2(args):
    done = _envcheck(">/dev/full", *args)
    assert done.returncode == 2
    assert "cannot write the output: No space left on device" in _one_line(done.stderr)


def test_a_closed_stdout_is_one_line_and_exit_2():
    done = _envcheck(">&-", "doctor", "--no-torch")
    assert done.returncode == 2
    assert "standard output is closed" in _one_line(done.stderr)


def test_a_closed_stdin_for_from_dash_is_one_line_and_exit_2():
    done = _envcheck("<&-", "doctor", "--from", "-", stdout=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "standard input, and it is closed" in _one_line(done.stderr)


@pytest.mark.parametrize("args", [["gpus"], ["--help"]], ids=["gpus", "help"])
def test_a_pipe_whose_reader_has_gone_ends_quietly_with_141(args):
    """As `envcheck gpus | head -0`: the reader closes before envcheck writes."""
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", *args], env={**os.environ, "PYTHONPATH": ROOT},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141 and err == ""
