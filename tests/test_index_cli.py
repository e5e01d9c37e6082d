"""`envcheck compat refresh` and `install-cmd --check-index` through the real entry point, against
indexes on 127.0.0.1: PyTorch's index and its SJTU / NJU / Aliyun copies each on a server of its own,
reached through a copy of compat/ whose URLs name those servers."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

import envcheck.compat as compat
from envcheck.compat import Tables, data_dir
from tests.index_pages import Answer, IndexServer, pep503, pep691, wheel

HOSTS = {"pytorch": "https://download.pytorch.org", "sjtu": "https://mirror.sjtu.edu.cn",
         "nju": "https://mirrors.nju.edu.cn", "aliyun": "https://mirrors.aliyun.com"}
X86 = "manylinux_2_28_x86_64"
ARM = "manylinux_2_28_aarch64"


@pytest.fixture
def sites(tmp_path, monkeypatch):
    """name -> IndexServer; envcheck's tables point at them, its caches live in tmp_path."""
    servers = {name: IndexServer().start() for name in HOSTS}
    tables_dir = tmp_path / "compat"
    shutil.copytree(data_dir(), tables_dir)
    for toml in tables_dir.glob("*.toml"):
        text = toml.read_text(encoding="utf-8")
        for name, host in HOSTS.items():
            text = text.replace(host, servers[name].base)
        toml.write_text(text, encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for var in ("PIP_INDEX_URL", "PIP_PROXY", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(compat, "_TABLES", Tables(tables_dir, live=True))
    yield servers
    for s in servers.values():
        s.close()


def _serve(server, prefix, variant, files, form=pep691, projects=("torch", "torchvision", "torchaudio")):
    for project in projects:
        mine = [f for f in files if f.filename.startswith(project + "-")]
        server.pages[f"{prefix}/{variant}/{project}/"] = form(project, mine)


def _stack(python: str, platform: str) -> list:
    return [wheel("torch", "2.6.0+cu126", python, platform), wheel("torchvision", "0.21.0+cu126", python, platform),
            wheel("torchaudio", "2.6.0+cu126", python, platform)]


PLAN = ("install-cmd", "--torch", "2.6.0", "--cuda", "12.6", "--mirror", "sjtu", "--os", "linux", "--check-index")


def test_check_index_confirms_each_file_of_the_plan(sites, run_cli):
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", _stack("cp312", X86))
    code, out, err = run_cli(*PLAN, "--arch", "x86_64", "--python", "3.12")
    assert code == 0, err
    assert "index: sjtu has torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl" in err
    assert "index: sjtu has torchaudio-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl" in err
    assert f"--index-url {sites['sjtu'].base}/pytorch-wheels/cu126" in out


def test_a_missing_file_names_where_it_exists(sites, run_cli):
    sjtu = [f for f in _stack("cp313", ARM) if not f.filename.startswith("torch-")]
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", sjtu)
    _serve(sites["nju"], "/pytorch/whl", "cu126", _stack("cp313", ARM), form=pep503)
    code, out, err = run_cli(*PLAN, "--arch", "aarch64", "--python", "3.13")
    assert code == 2
    assert (f"sjtu lacks torch 2.6.0+cu126 for cp313 manylinux aarch64; nju has it "
            f"(--mirror nju: {sites['nju'].base}/pytorch/whl/cu126)") in err
    assert "pip install torch==2.6.0" in out  # the plan is still printed


def test_a_mirror_whose_links_lead_upstream_is_named(sites, run_cli):
    files = _stack("cp312", X86)
    for project in ("torch", "torchvision", "torchaudio"):
        mine = [f for f in files if f.filename.startswith(project + "-")]
        sites["sjtu"].pages[f"/pytorch-wheels/cu126/{project}/"] = pep503(project, mine, prefix=sites["pytorch"].url("/whl/cu126/"))
    code, out, err = run_cli(*PLAN, "--arch", "x86_64", "--python", "3.12")
    assert code == 1
    upstream = sites["pytorch"].base.split("//")[1]
    assert f"warning: sjtu's torch links lead to {upstream}: pip would download from there, not from sjtu" in err


def test_network_failure_is_one_line_and_the_plan_is_printed(sites, run_cli):
    sites["sjtu"].close()
    code, out, err = run_cli(*PLAN, "--arch", "x86_64", "--python", "3.12")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("envcheck: warning: could not check the index:")
    assert "cannot connect" in lines[0] and "unconfirmed" in lines[0]
    assert "pip install torch==2.6.0" in out


def test_check_index_stops_at_its_budget_and_names_what_it_did_not_check(sites, run_cli):
    """A mirror that takes 5 s per listing holds --check-index for the budget, not for minutes:
    what was read is reported, the rest named in one line, exit 1 as for a check that could not run."""
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", _stack("cp312", X86))
    for project in ("torchvision", "torchaudio"):
        slow = sites["sjtu"].pages[f"/pytorch-wheels/cu126/{project}/"]
        sites["sjtu"].pages[f"/pytorch-wheels/cu126/{project}/"] = slow._replace(delay=5)
    start = time.monotonic()
    code, out, err = run_cli(*PLAN, "--arch", "x86_64", "--python", "3.12", "--budget", "1")
    assert time.monotonic() - start < 4
    assert code == 1, err
    assert "index: sjtu has torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl" in err
    lines = [x for x in err.splitlines() if "--budget" in x]
    assert lines == ["envcheck: warning: stopped after 1 s (--budget): not checked: torchvision 0.21.0+cu126, torchaudio 2.6.0+cu126; "
                     "the commands are printed, these files unconfirmed; to wait longer for a slow mirror, give --budget more seconds"]
    assert "could not check the index" not in err  # the budget, not a broken server
    assert "pip install torch==2.6.0" in out


def test_check_index_budget_covers_the_search_for_a_missing_file_elsewhere(sites, run_cli):
    """A file missing from the plan's mirror is looked for on the other copies within the same
    budget; a copy too slow to answer in time is not taken for one that lacks the file."""
    sjtu = [f for f in _stack("cp312", X86) if not f.filename.startswith("torch-")]
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", sjtu)
    sites["nju"].pages["/pytorch/whl/cu126/torch/"] = pep503("torch", _stack("cp312", X86)[:1])._replace(delay=5)
    start = time.monotonic()
    code, out, err = run_cli(*PLAN, "--arch", "x86_64", "--python", "3.12", "--budget", "1")
    assert time.monotonic() - start < 4
    assert code == 2, err
    assert ("sjtu lacks torch 2.6.0+cu126 for cp312 manylinux x86_64; the other copies of PyTorch's index were not all read "
            "within 1 s (--budget), so it may exist elsewhere") in err
    assert "pip install torch==2.6.0" in out


def test_check_index_in_json(sites, run_cli):
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", _stack("cp312", X86))
    code, out, _ = run_cli(*PLAN, "--arch", "x86_64", "--python", "3.12", "--json")
    assert code == 0
    check = json.loads(out)["index_check"]
    assert check["target"] == "cp312 manylinux x86_64"
    assert [f["file"] for f in check["files"]][0] == "torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl"


def test_offline_and_check_index_contradict(run_cli):
    code, _, err = run_cli("install-cmd", "--check-index", "--offline")
    assert code == 2 and "--offline forbids" in err


# -- compat refresh -------------------------------------------------------------------------------


def _cache(tmp_path) -> Path:
    return tmp_path / "cache" / "envcheck" / "index.json"


def test_refresh_adds_what_the_index_has_and_every_command_uses_it(sites, run_cli, tmp_path):
    ask = ("install-cmd", "--torch", "2.15.0", "--cuda", "12.6", "--os", "linux", "--arch", "x86_64", "--python", "3.12")
    code, _, err = run_cli(*ask)
    assert code == 2 and "has no cu126 build" in err  # the shipped table: 2.15 dropped CUDA 12.6
    files = [*_stack("cp312", X86), wheel("torch", "2.15.0+cu126", "cp312", X86, ">=3.11"),
             wheel("torch", "2.15.0+cu126", "cp314t", X86, ">=3.11"), wheel("torch", "2.99.0+cu126", "cp312", X86)]
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", files)
    code, out, err = run_cli("compat", "refresh", "--mirror", "sjtu", "--variants", "cu126")
    assert code == 0, err
    assert "torch 2.15.0 linux: builds cu126" in out
    assert "do not know (upgrade envcheck): 2.99.0" in out
    assert "torchvision 0.29.2 (with torch 2.15.0): no cu126 wheel for linux" in out  # the pairing pip could not install
    assert "(with torch 2.6.0)" not in out
    cached = json.loads(_cache(tmp_path).read_text())
    assert cached["builds"]["2.15.0"]["linux"]["cu126"] == ["3.12", "3.14t"]
    assert cached["fetched"] and cached["source"].endswith("/pytorch-wheels/{variant}")
    compat._TABLES = Tables(compat._TABLES.directory, live=True)  # a new process would read it afresh
    code, out, err = run_cli(*ask)
    assert code == 0, err
    assert "pip install torch==2.15.0 torchvision==0.29.2 --index-url" in out and "/whl/cu126" in out


def test_a_corrupt_cache_is_ignored_and_rebuilt(sites, run_cli, tmp_path):
    cache = _cache(tmp_path)
    cache.parent.mkdir(parents=True)
    cache.write_text('{"schema": 1, "fetched": "2999-01-01", "builds": {"2.2.1": {"linux": {"cu126": [3', encoding="utf-8")
    code, out, err = run_cli("compat", "--torch", "2.2.1")
    assert code == 0 and err == "" and "cu126" not in out
    _serve(sites["pytorch"], "/whl", "cpu", [wheel("torch", "2.2.1+cpu", "cp311", "linux_x86_64")])
    code, out, err = run_cli("compat", "refresh", "--variants", "cpu")
    assert code == 0, err
    assert json.loads(cache.read_text())["builds"]["2.2.1"]["linux"]["cpu"] == ["3.11"]


def test_refresh_that_reads_nothing_is_one_line_and_keeps_the_tables(sites, run_cli, tmp_path):
    sites["sjtu"].close()
    code, out, err = run_cli("compat", "refresh", "--mirror", "sjtu", "--variants", "cu126,cpu")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "could not read sjtu" in err and "keeps using its shipped tables" in err
    assert not _cache(tmp_path).exists()


def test_refresh_through_a_mirror_without_a_copy_reads_the_copy_install_cmd_uses(sites, run_cli, tmp_path):
    """--mirror takes install-cmd's names: tuna copies only the default index, so refresh reads the
    copy install-cmd sends tuna's torch wheels through (sjtu, first in the torch_route), and says so."""
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", _stack("cp312", X86))
    code, out, err = run_cli("compat", "refresh", "--mirror", "tuna", "--variants", "cu126")
    assert code == 0, err
    assert err.strip().splitlines() == ["envcheck: tuna copies only the default index, not PyTorch's wheel index: reading sjtu's "
                                        "copy, as install-cmd --mirror tuna does (compat/mirrors.toml's torch_route; "
                                        "--torch-mirror chooses another)"]
    assert json.loads(_cache(tmp_path).read_text())["source"] == sites["sjtu"].base + "/pytorch-wheels/{variant}"


def test_refresh_torch_mirror_names_the_copy_as_install_cmd_does(sites, run_cli, tmp_path):
    _serve(sites["nju"], "/pytorch/whl", "cu126", _stack("cp312", X86), form=pep503)
    code, out, err = run_cli("compat", "refresh", "--mirror", "tuna", "--torch-mirror", "nju", "--variants", "cu126")
    assert code == 0 and err == "", err
    assert json.loads(_cache(tmp_path).read_text())["source"] == sites["nju"].base + "/pytorch/whl/{variant}"
    _serve(sites["pytorch"], "/whl", "cu126", _stack("cp312", X86))
    code, out, err = run_cli("compat", "refresh", "--torch-mirror", "pytorch", "--variants", "cu126", "--json")
    assert code == 0, err
    assert json.loads(out)["source"] == "PyTorch's index"


@pytest.mark.parametrize(("args", "message"), [
    (("--torch-mirror", "tuna"), "--torch-mirror tuna: tuna copies only the default index, not PyTorch's wheels: choose sjtu, nju, aliyun, pytorch"),
    (("--torch-mirror", "ftp://127.0.0.1/whl"), "is not an http(s) URL"),
    (("--mirror", "http://127.0.0.1:9/whl"), "is not a mirror envcheck knows: for a copy of PyTorch's wheel index give --torch-mirror"),
    (("--mirror", "nowhere"), "not a mirror envcheck knows"),
    (("--variants", "cu999"), "cu999 not a build envcheck knows"),
    (("--offline",), "--offline forbids that"),
])
def test_refresh_bad_input(run_cli, args, message, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code, out, err = run_cli("compat", "refresh", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_refresh_through_the_replicas_finds_what_the_tables_say(run_cli, tmp_path, monkeypatch):
    """The replicas of tests/replicas/ serve PyTorch's index as the tables describe it (PEP 503,
    real names): reading them back adds nothing."""
    from tests.replicas import Replicas

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with Replicas() as replicas:
        code, out, err = run_cli("compat", "refresh", "--torch-mirror", replicas.base + "/pytorch/whl", "--variants", "cu118,cu126,cpu")
    assert code == 0, err
    assert "the shipped tables already list every build and Python version read" in out
    builds = json.loads((tmp_path / "envcheck" / "index.json").read_text())["builds"]
    assert "cu126" in builds["2.6.0"]["linux_aarch64"] and "cpu" in builds["2.6.0"]["macos"]


def test_refresh_in_json(sites, run_cli):
    _serve(sites["pytorch"], "/whl", "cu126", _stack("cp312", X86))
    code, out, err = run_cli("compat", "refresh", "--variants", "cu126", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["source"] == "PyTorch's index" and data["variants_read"] == ["cu126"]
    assert data["releases"]["2.6.0"]["linux"]["cu126"] == ["3.12"]
    assert data["errors"] == [] and data["offsite"] == []


def test_refresh_names_listings_it_could_not_read(sites, run_cli):
    _serve(sites["pytorch"], "/whl", "cu126", _stack("cp312", X86), projects=("torch",))
    code, out, err = run_cli("compat", "refresh", "--variants", "cu126")
    assert code == 1
    assert "envcheck: warning: " in err and "/whl/cu126/torchvision/: HTTP 404" in err
    assert "cached in" in out


def test_a_conda_plan_says_what_was_not_checked(sites, run_cli):
    code, out, err = run_cli("install-cmd", "--torch", "2.2.1", "--cpu", "--manager", "conda", "--os", "linux",
                             "--arch", "x86_64", "--python", "3.10", "--check-index")
    assert code == 1 and "conda install" in out
    assert "conda's channels, which were not checked" in err


def test_a_find_links_folder_is_checked_as_one_flat_page(sites, run_cli):
    """Aliyun's copy is a web server's folder listing (-f): every project's wheels on one page."""
    links = "\n".join(f'<a href="{f.filename.replace("+", "%2B")}">{f.filename}</a>' for f in _stack("cp311", X86))
    sites["aliyun"].pages["/pytorch-wheels/cu126/"] = Answer(
        f"<html><head><title>Index of /pytorch-wheels/cu126/</title></head><body><a href=\"../\">../</a>\n{links}</body></html>".encode())
    code, out, err = run_cli("install-cmd", "--torch", "2.6.0", "--cuda", "12.6", "--mirror", "aliyun", "--os", "linux",
                             "--arch", "x86_64", "--python", "3.11", "--check-index")
    assert code == 0, err
    assert "-f " + sites["aliyun"].url("/pytorch-wheels/cu126/") in out
    assert "index: aliyun has torchvision-0.21.0+cu126-cp311-cp311-manylinux_2_28_x86_64.whl" in err
