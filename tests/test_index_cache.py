"""What the cache of `compat refresh` may change in the shipped tables: it adds builds and Python
versions to releases the tables know, when it is at least as new as the tables, and nothing else."""

from __future__ import annotations

from envcheck.compat import Tables, data_dir
from envcheck.compat.index_cache import Knowledge, load, overlay, save

SHIPPED = Tables(data_dir())


def _knowledge(fetched: str, builds: dict) -> Knowledge:
    return Knowledge(fetched, "http://127.0.0.1:1/whl/{variant}", ("cu126",), builds)


def test_a_newer_cache_adds_builds_and_pythons_with_their_provenance():
    r = SHIPPED.releases.get("2.15.0")
    assert "cu126" not in r.variants["linux"]
    k = _knowledge("2999-01-01", {"2.15.0": {"linux": {"cu126": ["3.12", "3.16", "3.14t"]}}})
    got = {x.torch: x for x in overlay(list(SHIPPED.releases), "2026-11-22", k)}["2.15.0"]
    assert got.variants["linux"] == ("cu126", *r.variants["linux"])  # CUDA builds first, as the table writes them
    assert got.python["linux"][-1] == "3.16" and "3.14t" not in got.python["linux"]  # free-threaded: cache only
    assert got.variants["windows"] == r.variants["windows"]
    assert "envcheck compat refresh" in got.source and "linux: cu126" in got.source


def test_a_cache_older_than_the_tables_is_not_used():
    k = _knowledge("2000-01-01", {"2.15.0": {"linux": {"cu126": ["3.12"]}}})
    assert overlay(list(SHIPPED.releases), "2026-11-22", k) == list(SHIPPED.releases)


def test_the_cache_never_removes_a_build_nor_adds_a_release():
    k = _knowledge("2999-01-01", {"2.6.0": {"linux": {"cpu": ["3.12"]}}, "9.9.9": {"linux": {"cu126": ["3.12"]}}})
    got = overlay(list(SHIPPED.releases), "2026-11-22", k)
    assert [r.torch for r in got] == [r.torch for r in SHIPPED.releases]
    six = next(r for r in got if r.torch == "2.6.0")
    assert six.variants == SHIPPED.releases.get("2.6.0").variants and six.python == SHIPPED.releases.get("2.6.0").python


def test_the_cache_round_trips_and_a_foreign_file_is_ignored(tmp_path):
    path = tmp_path / "index.json"
    k = _knowledge("2026-12-01", {"2.15.0": {"linux": {"cu126": ["3.12"]}}})
    assert save(k, path) == ""
    assert load(path) == k
    for junk in ("", "[]", '{"schema": 2}', '{"schema": 1, "fetched": "2026-12-01", "builds": {"2.15.0": {"beos": {}}}}', "\x00\xff"):
        path.write_text(junk, encoding="latin-1")
        assert load(path) is None


def test_which_wheels_fit_a_target():
    from envcheck.index_check import file_fits
    from envcheck.probes.wheel_index import _wheel

    def fits(filename: str, python: str, os: str = "linux", arch: str = "x86_64", requires: str = "") -> bool:
        return file_fits(_wheel(filename, "", requires), python, os, arch)

    assert fits("torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl", "3.12")
    assert not fits("torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl", "3.13")
    assert not fits("torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl", "3.12", arch="aarch64")
    assert fits("torch-2.6.0+cu126-cp313-cp313t-manylinux_2_28_x86_64.whl", "3.13t")
    assert not fits("torch-2.6.0+cu126-cp313-cp313t-manylinux_2_28_x86_64.whl", "3.13")
    assert fits("torchvision-0.29.2-py3-none-any.whl", "3.14", os="windows")
    assert not fits("torchvision-0.29.2-py3-none-any.whl", "3.10", requires=">=3.11")
    assert fits("torch-1.10.0+cu113-cp39-cp39-linux_x86_64.whl", "3.9")
    assert fits("torch-2.6.0-cp312-none-macosx_11_0_arm64.whl", "3.12", os="macos", arch="arm64")
    assert fits("torch-2.6.0+cpu-cp312-cp312-win_amd64.whl", "3.12", os="windows")
    assert fits("torchaudio-2.6.0-cp39-abi3-manylinux_2_28_x86_64.whl", "3.12")
