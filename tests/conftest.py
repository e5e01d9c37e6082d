from __future__ import annotations

import os

import pytest
from hypothesis import settings

from envcheck.probes.stack_memory import memory_file
from tests.fakes.fake_nvml import install_machine
from tests.fakes.fake_proc import install_proc

# CI runs the same generated examples every time (a fuzz test must not fail a landing by chance);
# runs by hand explore new ones, and the failures they find are kept in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def machine(monkeypatch, tmp_path_factory):
    """machine("driver535_gtx1080ti") makes NVML answer as that recorded machine, and /proc show
    the processes the recording saw (tests/fakes/fake_proc.py); a replayed hang (wedged_driver)
    ends when the test does."""
    fakes = []

    def use(name: str) -> dict:
        fakes.append(install_machine(monkeypatch, name))
        install_proc(monkeypatch, fakes[-1].m, tmp_path_factory.mktemp("proc"))
        return fakes[-1].m

    yield use
    for fake in fakes:
        fake.release()


@pytest.fixture
def run_cli(capsys):
    """Run envcheck's real entry point; returns (exit code, stdout, stderr)."""
    from envcheck.cli.app import main

    def run(*args: str):
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        captured = capsys.readouterr()
        return exc.value.code, captured.out, captured.err

    return run


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch):
    """Prose folds at COLUMNS when it is set; tests see unfolded lines unless they set it (test_golden)."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch, tmp_path_factory):
    """doctor remembers the healthy torch stack in envcheck's state directory: each test has its
    own, so no test reads another's memory or writes the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


def _file_state(path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@pytest.fixture(scope="session", autouse=True)
def _users_stack_memory_untouched():
    """_own_state_dir covers each test and the children that inherit its environment; a child
    started with a hand-built environment, or a fixture set up before it, would write doctor's
    memory into the user's own state directory. The file (as this session's environment names it,
    before any test changes it) must be as it was when the session ends."""
    path = memory_file(dict(os.environ))
    before = _file_state(path)
    yield
    assert _file_state(path) == before, (
        f"the test session wrote {path}, the user's own memory of healthy torch stacks: a test started doctor "
        "without XDG_STATE_HOME pointing at its own folder (or doctor ran outside the tests meanwhile)")
