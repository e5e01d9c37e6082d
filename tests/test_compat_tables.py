"""Schema and invariants of every compat table: the solver is only as right as these files."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.compat import PLATFORMS, Tables, in_range, parse_range
from envcheck.versions import cc_tuple, cuda_of_variant, driver_tuple, vtuple

T = Tables()
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/[^\s]*)?$")
VARIANT = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(\.\d+){1,2}|xpu)$")
PY = re.compile(r"^3\.\d{1,2}$")
DRIVER = re.compile(r"^\d{3}(\.\d{1,3}){0,2}$")


@pytest.mark.parametrize("name", ["torch.toml", "cuda.toml", "wheel_archs.toml", "gpus.toml", "mirrors.toml"])
def test_every_table_has_an_as_of_date(name):
    assert DATE.match(T.raw(name)["as_of"])


# -- torch releases ------------------------------------------------------------------------------


def test_releases_cover_1_8_to_2_15_without_gaps():
    versions = [vtuple(r.torch) for r in T.releases]
    assert len(versions) == len(set(versions)), "duplicate release"
    assert min(versions) == (1, 8, 0)
    assert max(versions) >= (2, 15, 0)
    by_minor = defaultdict(list)
    for v in versions:
        by_minor[v[:2]].append(v[2])
    for minor, patches in by_minor.items():
        assert sorted(patches) == list(range(max(patches) + 1)), f"gap in the patch releases of {minor}"
    minors = sorted(by_minor)
    for major in {m[0] for m in minors}:
        mins = [m[1] for m in minors if m[0] == major]
        assert mins == list(range(mins[0], mins[-1] + 1)), f"gap in the {major}.x minor releases"


def test_table_rows_are_written_oldest_first():
    rows = [Version(r["torch"]) for r in T.raw("torch.toml")["release"]]
    assert rows == sorted(rows)


@pytest.mark.parametrize("release", T.releases, ids=lambda r: r.torch)
def test_release_row(release):
    assert release.source.strip()
    assert release.torchvision and re.match(r"^0\.\d+\.\d+$", release.torchvision)
    if release.torchaudio:
        assert re.match(r"^\d+\.\d+\.\d+$", release.torchaudio)
    assert release.pip.flag in ("--index-url", "--extra-index-url", "-f")
    assert URL.match(release.pip.url.replace("{variant}", "cu121"))
    for plat in PLATFORMS:
        pys = release.python[plat]
        assert all(PY.match(p) for p in pys)
        assert list(pys) == sorted(pys, key=lambda p: vtuple(p)), f"{plat} Python versions unsorted"
        for v in release.variants[plat]:
            assert VARIANT.match(v), v
        if plat in release.default:
            assert release.default[plat] in release.variants[plat] or plat == "macos", f"{plat} default not among its variants"
    assert release.variants["linux"], "every release has Linux x86_64 wheels"
    assert "cpu" in release.variants["linux"]
    if release.conda:
        assert release.conda.package in ("cudatoolkit", "pytorch-cuda")
        assert all(re.match(r"^\d+\.\d$", c) for c in release.conda.cuda)


def test_python_support_moves_forward():
    """A newer release never drops a Python that a later release still supports (no holes)."""
    for r in T.releases:
        pys = [vtuple(p) for p in r.python["linux"]]
        assert pys == [(3, m) for m in range(pys[0][1], pys[-1][1] + 1)], f"{r.torch}: hole in Python versions"


def test_free_threaded_pythons_have_a_gil_build_beside_them():
    """'3.13t' rows are free-threaded builds of a CPython the release also supports with the GIL."""
    for r in T.releases:
        for plat, fts in r.free_threaded.items():
            assert r.variants[plat], f"{r.torch}: free-threaded Pythons on {plat}, which has no builds"
            assert all(re.match(r"^3\.\d{1,2}t$", p) for p in fts), fts
            assert list(fts) == sorted(fts, key=lambda p: vtuple(p[:-1]))
            assert {p[:-1] for p in fts} <= set(r.python[plat]), f"{r.torch} {plat}: {fts} without the GIL build"


def test_companion_rows_declare_a_torch_range_from_a_known_release():
    rows = T.raw("torch.toml").get("companion", [])
    assert rows, "the declared ranges of torchvision 0.29.1/0.29.2 are modelled"
    for c in rows:
        assert c["package"] in ("torchvision", "torchaudio") and c["source"].strip()
        assert re.match(r"^\d+\.\d+\.\d+$", c["version"]), c
        lower = [b for op, b in parse_range(c["torch"]) if op in (">=", "==")]
        assert lower and T.releases.get(".".join(map(str, lower[0]))), c
        assert any(getattr(r, c["package"]) == c["version"] for r in T.releases), f"{c['version']} is no release's"


def test_every_cuda_variant_has_a_driver_minimum():
    for r in T.releases:
        for plat in ("linux", "windows"):
            for v in r.cuda_variants(plat):
                cuda = cuda_of_variant(v)
                assert T.drivers.min_driver(cuda, plat) or T.drivers.mvc_driver(cuda[0], plat), f"{r.torch} {v}: no driver minimum"


def test_every_linux_cuda_build_has_an_arch_list():
    missing = [f"{r.torch} {v}" for r in T.releases for v in r.cuda_variants("linux") if T.archs.find(r, v, "linux") is None]
    assert not missing, f"no wheel_arch row for: {missing}"


def test_macos_x86_64_cutoff_is_a_release():
    assert T.releases.get(T.releases.macos_x86_64_last) is not None


# -- CUDA toolkits and drivers ------------------------------------------------------------------


def test_toolkit_rows():
    seen = set()
    for t in T.drivers.toolkits:
        assert t.version not in seen, t.label
        seen.add(t.version)
        assert t.label.startswith("CUDA ")
        assert t.source.strip()
        assert t.linux == "" or DRIVER.match(t.linux), (t.label, t.linux)
        assert t.windows in ("", "none") or DRIVER.match(t.windows), (t.label, t.windows)
        if t.windows == "none":  # NVIDIA's "N/A": no Windows driver bundled from CUDA 13.x on
            assert t.version[0] >= 13, t.label


@pytest.mark.parametrize("os", ["linux", "windows"])
def test_driver_minimum_never_falls_as_cuda_rises(os):
    last = ()
    for cuda in T.drivers.known_cuda():
        need = T.drivers.min_driver(cuda, os)
        if need:
            assert driver_tuple(need) >= last, f"CUDA {cuda} needs less than an older CUDA"
            last = driver_tuple(need)


def test_known_driver_minimums():
    """Spot checks against NVIDIA's release-notes table (Table 3) and the MVC table (Table 2)."""
    assert T.drivers.min_driver((12, 1), "linux") == "530.30.02"
    assert T.drivers.min_driver((11, 8), "linux") == "520.61.05"
    assert T.drivers.mvc_driver(12, "linux") == "525.60.13"
    assert T.drivers.mvc_driver(11, "linux") == "450.80.02"
    assert T.drivers.max_cuda("470.82.01", "linux") == (11, 4)
    assert T.drivers.max_cuda("535.104.05", "linux") == (12, 2)


# -- wheel architectures -----------------------------------------------------------------------


def test_wheel_arch_rows_do_not_overlap():
    releases = [r.torch for r in T.releases]
    by_key = defaultdict(list)
    for w in T.archs:
        assert VARIANT.match(w.variant) and w.os in ("linux", "linux_aarch64", "windows", "any")
        assert w.source.strip()
        for sm in (*w.sm, *w.ptx):
            cc_tuple(sm)
        assert list(w.sm) == sorted(w.sm, key=cc_tuple)
        by_key[w.variant].append(w)
    for variant, rows in by_key.items():
        for v in releases:
            for os in ("linux", "linux_aarch64", "windows"):
                hits = [w for w in rows if w.os in (os, "any") and in_range(vtuple(v), w.torch)]
                assert len(hits) <= 1, f"{variant} {os} torch {v}: {len(hits)} rows"


# -- GPUs ----------------------------------------------------------------------------------------


def test_gpu_rows():
    names = set()
    ids = set()
    for g in T.gpus:
        assert g.id not in ids, g.id
        ids.add(g.id)
        for n in (g.name, *g.aliases):
            assert n not in names, n
            names.add(n)
        cc_tuple(g.cc)
        assert g.sms > 0 and g.mem_bw_gbs > 0 and g.peaks["fp32"] > 0
        assert g.status.split(":")[0] in ("confirmed", "partial", "unconfirmed")
        assert g.source.strip()
    assert len(T.gpus) >= 30


def test_gpu_lookup_by_nvml_name():
    assert T.gpus.get("NVIDIA H100 80GB HBM3").cc == "9.0"
    assert T.gpus.get("NVIDIA GeForce GTX 1080 Ti").cc == "6.1"
    assert T.gpus.get("NVIDIA GeForce RTX 5090").cc == "12.0"


# -- mirrors -------------------------------------------------------------------------------------


def test_mirror_rows():
    names = [m.name for m in T.mirrors]
    assert len(names) == len(set(names))
    for required in ("tuna", "aliyun", "ustc", "sjtu", "bfsu", "tencent", "huawei"):
        assert required in names
    for m in T.mirrors:
        assert URL.match(m.pypi) and re.search(r"/simple/?$", m.pypi), m.pypi
        assert m.wheels_form in ("none", "index", "find-links")
        if m.wheels_form != "none":
            assert "{variant}" in m.wheels_url and URL.match(m.wheel_url("cu121"))
        if m.conda:
            assert URL.match(m.conda)
        assert m.source.strip() and m.status.strip()


def test_the_torch_route_orders_every_copy_of_pytorchs_index_once():
    route = T.mirrors.route
    copies = {m.name for m in T.mirrors if m.wheels_form != "none"}
    assert len(route.order) == len(set(route.order)) and set(route.order) == copies
    assert [m.name for m in T.mirrors.carriers] == list(route.order)
    assert route.status.strip() and route.source.strip()
    for m in T.mirrors.carriers:  # a copy that holds only some builds lists real ones
        assert all(VARIANT.match(v) for v in m.wheels_variants), m.name


def test_range_reading_agrees_with_packaging():
    """envcheck reads the arch table's ranges itself (start-up cost); packaging is the reference."""
    rows = T.raw("wheel_archs.toml")["wheel_arch"]
    assert len(rows) == len(T.archs)
    for row, parsed in zip(rows, T.archs):
        spec = SpecifierSet(row["torch"])
        for r in T.releases:
            assert in_range(r.key, parsed.torch) == spec.contains(r.torch, prereleases=True), (row["torch"], r.torch)
