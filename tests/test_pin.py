"""`envcheck pin` on a fake installed stack: the constraints file's lines, where each build comes
from, and the commands printed, quoted for the shell; a working torch only; no overwriting."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from envcheck.compat import Tables
from envcheck.install.pin import pin_file, usage
from envcheck.snapshot.facts import Installed
from tests.pythons import target_python

FAKES = Path(__file__).parent / "fakes" / "torch"
SPECS = Path(__file__).parent / "fixtures" / "torch"
T = Tables()


@pytest.fixture
def stack(monkeypatch, tmp_path):
    """stack(spec) puts a fake installed stack (dist-info folders, the fake torch) before an
    isolated Python 3.11 and returns that interpreter for --python."""

    def make(spec="cuda_h100x8", packages=None):
        site = tmp_path / "site"
        site.mkdir()
        for name, version in (packages or {}).items():
            info = site / f"{name.replace('-', '_')}-{version}.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
            (info / "INSTALLER").write_text("pip\n")
        (site / "onnxruntime").mkdir()
        (site / "onnxruntime" / "__init__.py").write_text("__version__ = '1.22.0'\ndef get_available_providers():\n    return ['CPUExecutionProvider']\n")
        isolated = tmp_path / "python-isolated"
        isolated.write_text(f'#!/bin/sh\nexec "{target_python()}" -S "$@"\n')
        isolated.chmod(0o755)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(FAKES)]))
        monkeypatch.setenv("FAKE_TORCH_SPEC", str(SPECS / f"{spec}.json"))
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        monkeypatch.delenv("PIP_INDEX_URL", raising=False)
        monkeypatch.chdir(tmp_path)
        return str(isolated)

    return make


CUDA_STACK = {"torch": "2.7.1+cu126", "torchvision": "0.22.1+cu126", "torchaudio": "2.7.1+cu126", "onnxruntime-gpu": "1.22.0"}


@pytest.mark.skipif(sys.platform == "win32", reason="the isolated interpreter is a POSIX shell script")
def test_pin_writes_the_working_stack_with_its_index_and_prints_how_to_use_it(stack, run_cli, tmp_path):
    python = stack(packages=CUDA_STACK)
    code, out, err = run_cli("pin", "--python", python)
    assert code == 0, err
    lines = (tmp_path / "envcheck-constraints.txt").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == [
        "torch==2.7.1+cu126", "torchvision==0.22.1+cu126", "torchaudio==2.7.1+cu126", "onnxruntime-gpu==1.22.0"]
    assert "# torch 2.7.1+cu126: from PyTorch's own index, https://download.pytorch.org/whl/cu126" in lines
    assert "# onnxruntime-gpu 1.22.0: from the default index" in lines
    printed = [line.strip() for line in out.splitlines()]
    absolute = str(tmp_path / "envcheck-constraints.txt")
    assert (f"{python} -m pip install -c envcheck-constraints.txt -r requirements.txt "
            "--extra-index-url https://download.pytorch.org/whl/cu126") in printed
    assert f"export PIP_CONSTRAINT={absolute}" in printed
    assert "export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cu126" in printed
    assert (f"uv pip install --python {python} --constraint envcheck-constraints.txt -r requirements.txt "
            "--extra-index-url https://download.pytorch.org/whl/cu126") in printed
    assert f"export UV_CONSTRAINT={absolute}" in printed
    code, out, err = run_cli("pin", "--python", python)  # the same stack again: nothing to refuse
    assert code == 0 and "Already up to date" in out


@pytest.mark.skipif(sys.platform == "win32", reason="the isolated interpreter is a POSIX shell script")
def test_pin_routes_the_build_through_the_mirrors_copy_and_refuses_to_overwrite(stack, run_cli, tmp_path, monkeypatch):
    python = stack(packages=CUDA_STACK)
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.tuna.tsinghua.edu.cn/simple")
    (tmp_path / "mine.txt").write_text("numpy<2\n")
    code, out, err = run_cli("pin", "--python", python, "--output", "mine.txt")
    assert code == 2 and err.count("\n") == 1 and "--force" in err
    assert (tmp_path / "mine.txt").read_text() == "numpy<2\n"
    code, out, err = run_cli("pin", "--python", python, "--output", "mine.txt", "--force", "--json")
    assert code == 0, err
    pins = {p["name"]: p for p in json.loads(out)["pins"]}
    assert pins["torch"]["url"] == "https://mirror.sjtu.edu.cn/pytorch-wheels/cu126"  # tuna has no copy: install-cmd's route
    uv = next(u for u in json.loads(out)["usage"] if u["title"] == "uv")
    assert "--index-url https://pypi.tuna.tsinghua.edu.cn/simple" in uv["lines"][0]  # uv reads no pip configuration


@pytest.mark.skipif(sys.platform == "win32", reason="the isolated interpreter is a POSIX shell script")
def test_pin_refuses_a_torch_that_does_not_import(stack, run_cli, tmp_path):
    python = stack("import_error_libcudnn", packages={"torch": "2.7.1+cu126"})
    code, out, err = run_cli("pin", "--python", python)
    assert code == 2 and err.count("\n") == 1 and "torch does not import" in err
    assert not (tmp_path / "envcheck-constraints.txt").exists()


def test_windows_lines_are_quoted_for_cmd_and_conda_torch_is_pinned_in_conda_meta():
    pinned = pin_file(T, Installed("2.5.1", "0.20.1", None, "conda"), "12.1", "windows", None, None, r"C:\envs\lab")
    got = usage(pinned, "envcheck-constraints.txt", r"C:\work\my files\envcheck-constraints.txt", "windows", None,
                conda_prefix=r"C:\envs\lab", conda_torch=True)
    lines = {u.title: u.lines for u in got}
    assert lines["pip, for every install in this window"] == (r'set "PIP_CONSTRAINT=C:\work\my files\envcheck-constraints.txt"',)
    conda = next(u for u in got if u.title.startswith("conda"))
    assert conda.title == r"conda: add these lines to C:\envs\lab\conda-meta\pinned"  # Windows' style, on any host
    assert conda.lines == ("pytorch==2.5.1=*cuda*", "torchvision==0.20.1")


def test_a_find_links_copy_is_named_with_the_flags_of_each_installer_and_conda_keeps_pips_variables():
    aliyun = next(m for m in T.mirrors if m.name == "aliyun")  # its copy of PyTorch's index is a find-links folder
    pinned = pin_file(T, Installed("2.7.1+cu126", "0.22.1+cu126", None, "pip"), "12.6", "linux", aliyun, None, "/opt/env")
    folder = aliyun.wheel_url("cu126")
    assert [(p.line, p.source.flag, p.source.url) for p in pinned.pins] == [
        ("torch==2.7.1+cu126", "-f", folder), ("torchvision==0.22.1+cu126", "-f", folder)]
    got = {u.title: u.lines for u in usage(pinned, "c.txt", "/w/c.txt", "linux", aliyun, "/opt/env/bin/python", "/opt/env", False)}
    assert got["pip, for one install"] == (f"/opt/env/bin/python -m pip install -c c.txt -r requirements.txt -f {folder}",)
    assert got["pip, for every install in this window"] == ("export PIP_CONSTRAINT=/w/c.txt", f"export PIP_FIND_LINKS={folder}")
    assert got["uv"][0] == ("uv pip install --python /opt/env/bin/python --constraint c.txt -r requirements.txt "
                            f"--index-url {aliyun.pypi} --find-links {folder}")  # uv has no -f
    # torch came from pip into a conda environment: conda keeps pip's variables, not a conda pin
    assert got["conda: torch came from pip here, so pip is what must keep it"] == (
        f"conda env config vars set -p /opt/env PIP_CONSTRAINT=/w/c.txt PIP_FIND_LINKS={folder}",)
