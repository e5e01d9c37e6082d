"""Every file envcheck writes goes through one atomic writer: whole or not at all, never through a
planted symlink; and envcheck's own directories follow the XDG rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envcheck.compat import data_dir, index_cache, loading
from envcheck.compat.paths import cache_dir, state_dir
from envcheck.files import write_atomic


def _fail(*_a, **_k):
    raise OSError(28, "No space left on device")


def test_a_new_file_gets_the_data_and_the_mode_asked(tmp_path):
    path = tmp_path / "record.json"
    write_atomic(path, "{}", mode=0o600)
    assert path.read_bytes() == b"{}" and oct(path.stat().st_mode)[-3:] == "600"
    assert os.listdir(tmp_path) == ["record.json"]


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new" and oct(path.stat().st_mode)[-3:] == "640"


@pytest.mark.parametrize("where", ["replace", "fsync", "write"])
def test_a_failure_mid_write_leaves_the_old_file_byte_for_byte(tmp_path, monkeypatch, where):
    path = tmp_path / "report.json"
    path.write_bytes(b"the old report\n")
    if where == "write":
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _Broken(fd))
    else:
        monkeypatch.setattr(os, where, _fail)
    with pytest.raises(OSError):
        write_atomic(path, "the new one, half written")
    assert path.read_bytes() == b"the old report\n"
    assert os.listdir(tmp_path) == ["report.json"], "the temporary file is removed"


class _Broken:
    """A file whose write fails after the file was made: a full disk."""

    def __init__(self, fd):
        os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, data):
        raise OSError(28, "No space left on device")


def _victim(tmp_path) -> Path:
    victim = tmp_path / "victim"
    victim.write_text("not envcheck's")
    return victim


def test_the_index_cache_never_follows_a_symlink_at_its_old_temporary_name(tmp_path):
    path = tmp_path / "index.json"
    victim = _victim(tmp_path)
    path.with_suffix(f".{os.getpid()}.tmp").symlink_to(victim)
    k = index_cache.Knowledge("2026-12-01", "x", ("cu126",), {"2.15.0": {"linux": {"cu126": ["3.12"]}}})
    assert index_cache.save(k, path) == ""
    assert victim.read_text() == "not envcheck's" and not path.is_symlink()
    assert index_cache.load(path) == k


def test_the_table_cache_never_follows_a_symlink_at_its_old_temporary_name(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = loading._cache_path(data_dir() / "mirrors.toml")
    cache.parent.mkdir(parents=True)
    victim = _victim(tmp_path)
    cache.with_suffix(f".{os.getpid()}.tmp").symlink_to(victim)
    data = loading.load("mirrors.toml")
    assert victim.read_text() == "not envcheck's"
    assert cache.is_file() and not cache.is_symlink() and loading._cached(cache, "mirrors.toml") == data


@pytest.mark.parametrize("var", ["XDG_CACHE_HOME", "XDG_STATE_HOME"])
@pytest.mark.parametrize("value", ["relative/dir", "./here", ""])
def test_a_relative_xdg_directory_is_ignored(var, value, tmp_path, monkeypatch):
    """The XDG Base Directory spec: a relative path in these variables is invalid and ignored."""
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {var: value}
    if var == "XDG_CACHE_HOME":
        assert cache_dir(env, "linux") == tmp_path / ".cache" / "envcheck"
    else:
        assert state_dir(env) == tmp_path / ".local" / "state" / "envcheck"


def test_an_absolute_xdg_directory_is_used(tmp_path):
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}, "linux") == tmp_path / "envcheck"
    assert state_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "envcheck"


def test_save_over_an_earlier_report_that_fails_leaves_it_whole(machine, run_cli, tmp_path, monkeypatch):
    machine("no_driver")
    path = tmp_path / "snap.json"
    path.write_bytes(b'{"an": "earlier report"}\n')
    monkeypatch.setattr(os, "fsync", _fail)
    code, _, err = run_cli("doctor", "--no-torch", "--save", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"--save {path}: No space left on device" in err
    assert path.read_bytes() == b'{"an": "earlier report"}\n'
    assert os.listdir(tmp_path) == ["snap.json"]
