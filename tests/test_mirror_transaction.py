"""`mirror set/unset` happen whole or not at all: a failure after any step leaves the user's pip.conf
and .condarc byte for byte as they were. pip runs for real, on a throw-away home; conda is a script."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envcheck.actions import mirror_record
from envcheck.probes.pip_config import read_pip_index

MINE = b"# my lab's index\n[global]\nindex-url=https://me:pw@private.example/simple\ntimeout = 60\n"
CONDARC = b"channels:\n  - defaults\n# keep me\n"
TUNA = "https://pypi.tuna.tsinghua.edu.cn/simple"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A throw-away home with the user's own pip.conf and .condarc in it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    for var in ("PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "XDG_STATE_HOME", "XDG_CONFIG_DIRS"):
        monkeypatch.delenv(var, raising=False)
    conf = tmp_path / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_bytes(MINE)
    (tmp_path / ".condarc").write_bytes(CONDARC)
    return tmp_path


def _conda(home, monkeypatch, body: str) -> None:
    """A `conda` on PATH: `config --show` answers; `body` is what `config --set` does."""
    bindir = home / "bin"
    bindir.mkdir()
    script = bindir / "conda"
    script.write_text(f'#!/bin/sh\nif [ "$2" = "--show" ]; then echo "show_channel_urls: False"; exit 0; fi\n{body}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def _unchanged(home) -> None:
    assert (home / ".config" / "pip" / "pip.conf").read_bytes() == MINE
    assert (home / ".condarc").read_bytes() == CONDARC
    assert not mirror_record.record_path().exists()


def _pip_index() -> str:
    return subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True).stdout.strip()


def test_conda_failing_after_pip_was_set_puts_both_files_back(home, monkeypatch, run_cli):
    """conda writes half its change, then fails: pip is set back through pip, each file to its bytes."""
    _conda(home, monkeypatch, f'echo "custom_channels: {{broken" >> "{home}/.condarc"; echo "CondaError: boom" >&2; exit 1')
    code, out, err = run_cli("mirror", "set", "tuna", "--conda")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "CondaError: boom" in err and "put back as it was" in err and "pip's index-url" in err
    _unchanged(home)


def test_a_condarc_conda_cannot_read_stops_before_pip_is_touched(home, monkeypatch, run_cli):
    bindir = home / "bin"
    bindir.mkdir()
    (bindir / "conda").write_text('#!/bin/sh\necho "CondaError: Unable to parse .condarc" >&2\nexit 1\n')
    (bindir / "conda").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    code, _, err = run_cli("mirror", "set", "tuna", "--conda")
    assert code == 2 and "conda cannot read its settings" in err and "nothing was changed" in err
    _unchanged(home)


def test_a_record_that_cannot_be_written_changes_nothing(home, monkeypatch, run_cli):
    (home / "not-a-dir").write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "not-a-dir"))
    code, _, err = run_cli("mirror", "set", "tuna")
    assert code == 2 and "cannot write envcheck's record" in err and "nothing was changed" in err
    assert (home / ".config" / "pip" / "pip.conf").read_bytes() == MINE


def test_the_last_record_write_failing_puts_everything_back(home, monkeypatch, run_cli):
    """The record is written before the first change and again after conda's; the second fails."""
    _conda(home, monkeypatch, f'echo "show_channel_urls: true" >> "{home}/.condarc"')
    real, calls = mirror_record.save, []

    def save_once(data):
        calls.append(data)
        if len(calls) > 1:
            raise OSError(28, "No space left on device", str(mirror_record.record_path()))
        real(data)

    monkeypatch.setattr(mirror_record, "save", save_once)
    code, _, err = run_cli("mirror", "set", "tuna", "--conda")
    assert code == 2 and "No space left on device" in err and ".condarc" in err
    _unchanged(home)


@pytest.mark.parametrize("bad", ["dir", "symlink-to-dir"])
def test_a_condarc_that_is_not_a_file_is_one_line_and_changes_nothing(home, run_cli, bad):
    (home / ".condarc").unlink()
    (home / "somewhere").mkdir()
    if bad == "dir":
        (home / ".condarc").mkdir()
    else:
        (home / ".condarc").symlink_to(home / "somewhere")
    code, _, err = run_cli("mirror", "set", "tuna", "--conda")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a directory" in err and "Traceback" not in err
    assert (home / ".config" / "pip" / "pip.conf").read_bytes() == MINE and not mirror_record.record_path().exists()


def test_set_then_unset_puts_back_pips_and_condas_files(home, monkeypatch, run_cli):
    _conda(home, monkeypatch, f'echo "show_channel_urls: true" >> "{home}/.condarc"')
    code, _, err = run_cli("mirror", "set", "tuna", "--conda")
    assert code == 0, err
    record = mirror_record.record_path()
    assert oct(record.stat().st_mode)[-3:] == "600" and oct(record.parent.stat().st_mode)[-3:] == "700"
    assert _pip_index() == TUNA and (home / ".condarc").read_bytes() != CONDARC
    code, out, err = run_cli("mirror", "unset")
    assert code == 0, err
    assert _pip_index() == "https://me:pw@private.example/simple" and "pw@" not in out
    assert (home / ".condarc").read_bytes() == CONDARC and not record.exists()


def test_unset_leaves_what_the_user_changed_since(home, monkeypatch, run_cli):
    _conda(home, monkeypatch, f'echo "show_channel_urls: true" >> "{home}/.condarc"')
    assert run_cli("mirror", "set", "tuna", "--conda")[0] == 0
    theirs = "https://new.example/simple"
    subprocess.run([sys.executable, "-m", "pip", "config", "--user", "set", "global.index-url", theirs], check=True, capture_output=True)
    (home / ".condarc").write_bytes(b"channels: [conda-forge]\n")
    code, out, err = run_cli("mirror", "unset")
    assert code == 0, err
    assert "left: pip's index-url" in out and "left: " + str(home / ".condarc") in out
    assert _pip_index() == theirs and (home / ".condarc").read_bytes() == b"channels: [conda-forge]\n"
    assert not mirror_record.record_path().exists()


def test_unset_with_no_record_changes_nothing(home, run_cli):
    code, out, _ = run_cli("mirror", "unset", "--conda")
    assert code == 0 and "nothing to undo: envcheck has not set a mirror here" in out
    _unchanged(home)


def test_a_set_refused_by_pip_config_file_changes_nothing(home, monkeypatch, run_cli):
    """pip cannot `config set` while PIP_CONFIG_FILE names a file ("Fatal Internal error"): say so first."""
    env_file = home / "env.conf"
    env_file.write_text("[global]\nindex-url = https://env.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(env_file))
    code, _, err = run_cli("mirror", "set", "tuna")
    assert code == 2 and "PIP_CONFIG_FILE names" in err and len(err.strip().splitlines()) == 1
    _unchanged(home)


# -- reading pip's configuration as pip does ------------------------------------------------------------


def test_a_bom_breaks_pip_and_mirror_show_says_so(home, run_cli):
    conf = home / ".config" / "pip" / "pip.conf"
    conf.write_bytes(b"\xef\xbb\xbf[global]\nindex-url = https://x.example/simple\n")
    pip = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    assert pip.returncode != 0 and "could not be loaded" in pip.stderr  # pip's real behaviour, not assumed
    code, out, _ = run_cli("mirror", "show")
    assert code == 2 and f"problem: {conf} starts with a UTF-8 byte order mark (BOM)" in out and "save it as UTF-8 without BOM" in out
    code, _, err = run_cli("mirror", "set", "tuna")
    assert code == 2 and "byte order mark" in err and conf.read_bytes().startswith(b"\xef\xbb\xbf")


def _files(root, **texts):
    for name, text in texts.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_pip_config_file_wins_over_site_and_hides_the_user_files(tmp_path):
    _files(tmp_path, **{"home/.config/pip/pip.conf": "[global]\nindex-url = https://user.example/simple\nextra-index-url = https://u2.example/simple\n",
                        "venv/pip.conf": "[global]\nindex-url = https://site.example/simple\n",
                        "env.conf": "[global]\nindex-url = https://envfile.example/simple\n"})
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "none"), "PIP_CONFIG_FILE": str(tmp_path / "env.conf")}
    got = read_pip_index(str(tmp_path / "venv"), env, "linux")
    assert got.index_url == "https://envfile.example/simple" and got.extra_index_urls == ()  # the user file is not read
    env["PIP_CONFIG_FILE"] = str(tmp_path / "missing.conf")  # a file that does not exist hides nothing
    got = read_pip_index(str(tmp_path / "venv"), env, "linux")
    assert got.index_url == "https://site.example/simple" and got.extra_index_urls == ("https://u2.example/simple",)


def test_the_xdg_config_dirs_load_in_the_order_given_and_install_beats_global(tmp_path):
    """pip (platformdirs) reads XDG_CONFIG_DIRS as given, a later directory winning; [install] from
    any file beats [global] from any file."""
    _files(tmp_path, **{"a/pip/pip.conf": "[install]\nindex-url = https://a.example/simple\n",
                        "b/pip/pip.conf": "[global]\nindex-url = https://b.example/simple\n"})
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"}
    assert read_pip_index(str(tmp_path / "venv"), env, "linux").index_url == "https://a.example/simple"
    _files(tmp_path, **{"a/pip/pip.conf": "[global]\nindex-url = https://a.example/simple\n"})
    assert read_pip_index(str(tmp_path / "venv"), env, "linux").index_url == "https://b.example/simple"


def test_a_set_that_pip_index_url_overrides_says_so_and_how_to_clear_it(home, monkeypatch, run_cli):
    monkeypatch.setenv("PIP_INDEX_URL", "https://other.example/simple")
    code, out, err = run_cli("mirror", "set", "tuna")
    assert code == 0 and _pip_index() == TUNA  # written, but PIP_INDEX_URL wins in `pip install`
    assert len(err.strip().splitlines()) == 1, err
    assert "pip will still use https://other.example/simple" in err and "PIP_INDEX_URL" in err and "`unset PIP_INDEX_URL`" in err


def test_a_set_that_an_install_section_overrides_names_the_file_and_the_line(home, run_cli):
    """`pip install` takes [install] over [global]: `pip config set global.index-url` leaves it winning."""
    conf = home / ".config" / "pip" / "pip.conf"
    conf.write_bytes(MINE + b"[install]\nindex-url = https://lab.example/simple\n")
    code, out, err = run_cli("mirror", "set", "tuna")
    assert code == 0 and _pip_index() == TUNA, err
    assert len(err.strip().splitlines()) == 1, err
    assert f"pip will still use https://lab.example/simple: index-url under [install] in {conf} wins" in err


def test_a_set_pip_then_uses_gives_no_warning(home, run_cli):
    code, out, err = run_cli("mirror", "set", "tuna")
    assert code == 0 and err == "" and read_pip_index().index_url == TUNA


def _fail_unset_at(step: str, home, monkeypatch) -> None:
    """Make one step of `mirror unset` fail: pip's own unset, putting ~/.condarc back, or deleting the record."""
    from envcheck.actions import mirror as action

    if step == "pip":
        real_run, failed = action.run, []

        def run(argv):  # unset's own pip command rewrites the file, then fails; the undo's goes through
            if not failed:
                failed.append(real_run(argv))
                raise action.UserError("`pip config --user set global.index-url ...` failed: boom")
            return real_run(argv)
        monkeypatch.setattr(action, "run", run)
    elif step == "conda":
        real_put_back, failed = action.put_back, []

        def put_back(path, data):
            if path == home / ".condarc" and not failed:
                failed.append(path)
                raise OSError(13, "Permission denied", str(path))
            real_put_back(path, data)
        monkeypatch.setattr(action, "put_back", put_back)
    else:
        real_record = mirror_record.put_back

        def put_back(data):
            if data is None:
                raise OSError(16, "Device or resource busy", str(mirror_record.record_path()))
            real_record(data)
        monkeypatch.setattr(mirror_record, "put_back", put_back)


@pytest.mark.parametrize("step", ["pip", "conda", "record"])
def test_unset_failing_at_any_step_leaves_both_files_as_before_the_unset(step, home, monkeypatch, run_cli):
    _conda(home, monkeypatch, f'echo "show_channel_urls: true" >> "{home}/.condarc"')
    assert run_cli("mirror", "set", "tuna", "--conda")[0] == 0
    conf, rc, record = home / ".config" / "pip" / "pip.conf", home / ".condarc", mirror_record.record_path()
    before = (conf.read_bytes(), rc.read_bytes(), record.read_bytes())
    _fail_unset_at(step, home, monkeypatch)
    code, out, err = run_cli("mirror", "unset")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert {"pip": "boom", "conda": "Permission denied", "record": "Device or resource busy"}[step] in err
    assert "could NOT put back" not in err
    assert (conf.read_bytes(), rc.read_bytes(), record.read_bytes()) == before  # unset can simply be run again
    monkeypatch.undo()
