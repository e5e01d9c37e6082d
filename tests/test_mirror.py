"""`envcheck mirror` against the real pip, pointed at a throw-away config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from envcheck.probes.pip_config import read_pip_index
from envcheck.redact import redact_url


@pytest.fixture
def pip_conf(tmp_path, monkeypatch):
    """pip's user config lives in a throw-away home; the user's own config stays untouched."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    for var in ("PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "XDG_STATE_HOME", "XDG_CONFIG_DIRS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / ".config" / "pip" / "pip.conf"


def _pip_index() -> str:
    out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True)
    return out.stdout.strip()


def test_set_then_show_then_unset(pip_conf, run_cli):
    code, out, err = run_cli("mirror", "set", "tuna")
    assert code == 0, err
    assert "ran:" in out and "global.index-url https://pypi.tuna.tsinghua.edu.cn/simple" in out
    assert _pip_index() == "https://pypi.tuna.tsinghua.edu.cn/simple"

    code, out, _ = run_cli("mirror", "show", "--json")
    data = json.loads(out)
    assert (data["index_url"], data["mirror"]) == ("https://pypi.tuna.tsinghua.edu.cn/simple", "tuna")

    code, out, _ = run_cli("mirror", "unset")
    assert code == 0
    assert _pip_index() == ""
    code, out, _ = run_cli("mirror", "show")
    assert "default index" in out


def test_unset_when_nothing_is_set_is_not_an_error(pip_conf, run_cli):
    code, out, _ = run_cli("mirror", "unset")
    assert code == 0 and "nothing to undo" in out


def test_dry_run_changes_nothing(pip_conf, run_cli):
    code, out, _ = run_cli("mirror", "set", "ustc", "--dry-run")
    assert code == 0
    assert "would run:" in out and "https://mirrors.ustc.edu.cn/pypi/simple" in out
    assert _pip_index() == ""


def test_conda_dry_run_lists_the_channel_commands(pip_conf, run_cli):
    code, out, _ = run_cli("mirror", "set", "tuna", "--conda", "--dry-run")
    assert code == 0
    assert "conda config --set custom_channels.pytorch https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud" in out


def test_conda_without_conda_is_one_clear_line(pip_conf, run_cli, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    if any(os.access(os.path.join(p, "conda"), os.X_OK) for p in os.environ["PATH"].split(os.pathsep)):
        pytest.skip("conda is installed here")
    code, _, err = run_cli("mirror", "set", "tuna", "--conda")
    assert code == 2 and "conda is not on PATH" in err


def test_show_redacts_credentials(pip_conf, run_cli):
    subprocess.run([sys.executable, "-m", "pip", "config", "set", "global.index-url", "https://alice:s3cret@pypi.example.com/simple"], check=True, capture_output=True)
    code, out, _ = run_cli("mirror", "show")
    assert code == 0
    assert "s3cret" not in out and "alice" not in out
    assert "https://****@pypi.example.com/simple" in out


def test_list_names_what_each_mirror_carries(run_cli):
    code, out, _ = run_cli("mirror", "list", "--json")
    data = {m["name"]: m for m in json.loads(out)["mirrors"]}
    assert data["aliyun"]["wheels_form"] == "find-links"
    assert data["tuna"]["wheels_form"] == "none"


def _files(tmp_path, **texts):
    for name, text in texts.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_later_files_win_and_environment_beats_files(tmp_path):
    _files(tmp_path, **{"etc/xdg/pip/pip.conf": "[global]\nindex-url = https://global.example/simple\n",
                        "home/.pip/pip.conf": "[global]\nindex-url = https://legacy.example/simple\n",
                        "home/.config/pip/pip.conf": "[global]\nindex-url = https://user.example/simple\n"})
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "etc/xdg")}
    assert read_pip_index(str(tmp_path / "venv"), env, "linux").index_url == "https://user.example/simple"
    _files(tmp_path, **{"venv/pip.conf": "[install]\nindex_url = https://site.example/simple\n"})
    assert read_pip_index(str(tmp_path / "venv"), env, "linux").index_url == "https://site.example/simple"
    env["PIP_INDEX_URL"] = "https://env.example/simple"
    got = read_pip_index(str(tmp_path / "venv"), env, "linux")
    assert got.index_url == "https://env.example/simple" and got.origin["index-url"] == "environment"


def test_pip_config_file_devnull_disables_every_file(tmp_path):
    _files(tmp_path, **{"home/.config/pip/pip.conf": "[global]\nindex-url = https://user.example/simple\n"})
    env = {"HOME": str(tmp_path / "home"), "PIP_CONFIG_FILE": os.devnull}
    assert read_pip_index(str(tmp_path), env, "linux").index_url is None


def test_broken_file_is_skipped_not_fatal(tmp_path):
    _files(tmp_path, **{"home/.config/pip/pip.conf": "index-url = no section header\n"})
    assert read_pip_index(str(tmp_path), {"HOME": str(tmp_path / "home")}, "linux").index_url is None


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://user:token@host/simple", "https://****@host/simple"),
        ("https://token@host/simple", "https://****@host/simple"),
        ("https://host/simple", "https://host/simple"),
        ("a https://u:p@h/x and http://v:q@i/y", "a https://****@h/x and http://****@i/y"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


@pytest.fixture
def fake_conda(tmp_path, monkeypatch):
    """A stand-in `conda` on PATH that records its arguments, as conda config would be called."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "conda.log"
    script = bindir / "conda"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_conda_set_backs_up_condarc_then_runs_conda_config(pip_conf, fake_conda, tmp_path, run_cli):
    (tmp_path / ".condarc").write_text("channels:\n  - defaults\n")
    code, out, err = run_cli("mirror", "set", "tuna", "--conda")
    assert code == 0, err
    backups = list(tmp_path.glob(".condarc.envcheck-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == "channels:\n  - defaults\n"
    calls = fake_conda.read_text().splitlines()
    assert "config --set custom_channels.pytorch https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud" in calls
    assert "config --set show_channel_urls yes" in calls
    assert _pip_index() == "https://pypi.tuna.tsinghua.edu.cn/simple"


def test_conda_mirror_without_a_conda_tree_is_refused(pip_conf, fake_conda, run_cli):
    code, _, err = run_cli("mirror", "set", "huawei", "--conda")
    assert code == 2 and "has no conda mirror" in err
    assert not fake_conda.exists()


def test_unset_restores_the_index_that_set_replaced(pip_conf, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    mine = "https://me:p@ss@my.private.example/simple"
    subprocess.run([sys.executable, "-m", "pip", "config", "set", "global.index-url", mine], check=True, capture_output=True)
    assert run_cli("mirror", "set", "tuna")[0] == 0
    state = tmp_path / "state" / "envcheck" / "mirror.json"
    assert oct(state.stat().st_mode)[-3:] == "600", "the record may hold credentials"
    assert run_cli("mirror", "set", "ustc")[0] == 0  # a second set keeps the first one's record
    code, out, err = run_cli("mirror", "unset")
    assert code == 0, err
    assert _pip_index() == mine
    assert "p@ss" not in out and "me:" not in out  # the restored URL is shown redacted
    code, out, _ = run_cli("mirror", "unset")  # nothing envcheck set is left: the user's own index stays
    assert code == 0 and "nothing to undo" in out and _pip_index() == mine


def test_two_conda_backups_in_one_second_are_both_kept(tmp_path, monkeypatch):
    from envcheck.actions import condarc

    monkeypatch.setenv("HOME", str(tmp_path))
    first = condarc.backup(b"channels: [a]\n", now=1_700_000_000)
    second = condarc.backup(b"channels: [b]\n", now=1_700_000_000)
    assert first != second and first.read_text() == "channels: [a]\n" and second.read_text() == "channels: [b]\n"
    assert oct(first.stat().st_mode)[-3:] == "600", "a .condarc may hold channel tokens"


@pytest.mark.parametrize("said", ["tuna", "TUNA", "tsinghua", "清华", "https://pypi.tuna.tsinghua.edu.cn/simple"])
def test_a_mirror_is_found_by_every_name_people_use(run_cli, said):
    code, out, err = run_cli("install-cmd", "--cpu", "--mirror", said, "-q")
    assert code == 0, err
    assert "https://pypi.tuna.tsinghua.edu.cn/simple" in out


def test_a_misspelt_mirror_gets_the_nearest_names(run_cli):
    code, out, err = run_cli("mirror", "set", "tsinghau", "--dry-run")
    assert code == 2 and "did you mean tsinghua" in err and len(err.strip().splitlines()) == 1
