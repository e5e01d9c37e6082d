"""The compat package's shared rules: one cache directory, one platform key, table objects that
answer for their own table, and the choice of which copy of PyTorch's index `compat refresh` reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from envcheck.compat import PLATFORMS, Tables, data_dir, tables
from envcheck.compat.index_cache import cache_file
from envcheck.compat.loading import _cache_path
from envcheck.compat.mirrors import Mirrors, listing_url
from envcheck.compat.paths import cache_dir
from envcheck.compat.platforms import platform_key, platform_of
from envcheck.compat.sources import choose_source
from envcheck.errors import UserError

T = Tables()
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("platform", "env", "want"), [
    ("win32", {"LOCALAPPDATA": "/la"}, "/la/envcheck/Cache"),
    ("win32", {}, "{home}/AppData/Local/envcheck/Cache"),
    ("darwin", {"XDG_CACHE_HOME": "/xdg"}, "{home}/Library/Caches/envcheck"),
    ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/envcheck"),
    ("linux", {}, "{home}/.cache/envcheck"),
])
def test_the_cache_directory_on_each_platform(platform, env, want, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir(env, platform) == Path(want.format(home=tmp_path))


def test_both_caches_live_in_the_one_directory_on_windows_too(monkeypatch, tmp_path):
    """The parsed-table copies and the wheel-index cache once disagreed on Windows."""
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    where = tmp_path / "envcheck" / "Cache"
    assert _cache_path(data_dir() / "torch.toml").parent == where
    assert cache_file() == where / "index.json"


@pytest.mark.parametrize(("os", "arch", "tag"), [
    ("linux", "x86_64", "manylinux_2_28_x86_64"),
    ("linux", "aarch64", "manylinux_2_28_aarch64"),
    ("linux", "arm64", "manylinux2014_aarch64"),
    ("windows", "x86_64", "win_amd64"),
    ("macos", "arm64", "macosx_11_0_arm64"),
    ("macos", "x86_64", "macosx_10_9_x86_64"),
])
def test_a_machine_and_its_wheels_have_the_same_platform_key(os, arch, tag):
    assert platform_key(os, arch) == platform_of(tag) and platform_of(tag) in PLATFORMS


def test_the_platform_key_is_defined_once():
    from envcheck import install
    from envcheck.compat import index_cache, releases

    assert install.platform_key is platform_key
    assert index_cache.PLATFORMS is PLATFORMS and releases.PLATFORMS is PLATFORMS


def test_no_wheels_for_windows_on_arm_is_an_error_for_a_plan_and_no_arch_list_for_a_check():
    with pytest.raises(UserError, match="no wheels for Windows on arm64"):
        platform_key("windows", "arm64")
    release = T.releases.get("2.6.0")
    assert T.archs.find(release, "cu126", "windows", "arm64") is None
    assert T.archs.find(release, "cu126", "windows", "x86_64") is not None


def test_each_table_is_its_own_object_read_on_first_use():
    t = Tables()
    assert t.releases.get("2.2.1").torch == "2.2.1"
    assert {r.torch for r in t.releases.matching("2.2")} >= {"2.2.0", "2.2.1", "2.2.2"}
    assert "gpus" not in vars(t) and "signatures" not in vars(t)  # install-cmd never reads them
    assert t.releases[0] is next(iter(t.releases)) and list(reversed(t.releases))[0] is t.releases[-1]
    assert t.releases[:2] == (t.releases[0], t.releases[1])
    assert t.drivers.support((12, 1), "linux", "535.104.05").level == "full"
    assert t.gpus.find("3090").cc == "8.6" and t.mirrors.get("清华").name == "tuna"
    assert tables() is tables()


def test_the_mirror_form_rule():
    assert listing_url("https://h/whl/cu126", "index", "torch") == "https://h/whl/cu126/torch/"
    assert listing_url("https://h/wheels/cu126", "find-links", "torch") == "https://h/wheels/cu126/"
    assert {m.name for m in T.mirrors if m.copies_wheels} == {c.name for c in T.mirrors.carriers} == {"sjtu", "nju", "aliyun"}
    with pytest.raises(UserError, match="tuna copies only the default index"):
        T.mirrors.carrier("tuna")


def _mirrors(sjtu_variants: list) -> SimpleNamespace:
    row = {"title": "t", "status": "s", "source": "s"}
    raw = {"torch_route": {"order": ["sjtu", "nju"]}, "mirror": [
        {**row, "name": "tuna", "pypi": "https://t/simple", "torch_wheels": {"form": "none"}},
        {**row, "name": "sjtu", "pypi": "https://s/simple", "torch_wheels": {"form": "index", "url": "https://s/{variant}", "variants": sjtu_variants}},
        {**row, "name": "nju", "pypi": "https://n/simple", "torch_wheels": {"form": "index", "url": "https://n/{variant}"}},
    ]}
    return SimpleNamespace(mirrors=Mirrors(raw), releases=T.releases)


def test_refresh_through_a_mirror_without_a_copy_takes_the_first_copy_with_every_build():
    assert choose_source(_mirrors([]), "tuna", variants=("cu126",)).source.name == "sjtu"
    chosen = choose_source(_mirrors(["cpu"]), "tuna", variants=("cu126", "cpu"))
    assert chosen.source.name == "nju" and "reading nju's copy" in chosen.note
    assert choose_source(_mirrors([]), "sjtu", torch_mirror="nju").source.name == "nju"
    assert choose_source(_mirrors([]), "none").source.name == "PyTorch's index"
    assert choose_source(_mirrors([]), configured_index="https://s/simple/").source.name == "sjtu"
    assert choose_source(_mirrors([]), configured_index="https://t/simple").source.name == "PyTorch's index"


def test_importing_the_tables_stays_light():
    """install-cmd imports envcheck.compat on its start-up path: no CLI, renderer, solver or parser libraries."""
    code = ("import sys, envcheck.compat; heavy = ('rich', 'typer', 'packaging', 'tomllib', 'envcheck.install', "
            "'envcheck.probes', 'envcheck.cli'); print([m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.stdout.strip() == "[]", done.stderr
