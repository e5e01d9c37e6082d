"""`envcheck pin`'s file and printed commands, run for real: they keep a CUDA build in place.

A sandbox (tests/replicas) is seeded with torch, torchvision and torchaudio 2.7.1+cu126 from the
replica of PyTorch's cu126 index (stub wheels whose torch imports and answers torch.version.cuda,
so pin's "torch imports" probe accepts the stack as it would a real one). `envcheck pin --python
<the sandbox's python>` runs through the CLI. Then a plugin's requirements, `torch` and
`plugin-needs-torch` (a stub wheel built here, `Requires-Dist: torch`, served from a find-links
folder), are installed with `-U` (the usual `pip install -U -r requirements.txt`) while the
default index replica holds newer plain torch releases: with the command pin printed, the pinned
build stays; the same command without the constraint swaps it, so the test can fail.

By hand: `envcheck pin`, then `pip install -c envcheck-constraints.txt -U -r requirements.txt
--extra-index-url <PyTorch's cu126 index>` and `pip show torch`.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from envcheck.compat import Tables
from tests.replicas import PYTORCH_URL, Replicas, Sandbox, WheelSpec, build_wheel, find_uv

STACK = {"torch": "2.7.1+cu126", "torchvision": "0.22.1+cu126", "torchaudio": "2.7.1+cu126"}
PLUGIN = WheelSpec(
    name="plugin-needs-torch",
    version="1.0",
    tag="py3-none-any",
    requires_dist=("torch",),  # plain torch, as most packages built on torch ask for it
    modules=(("plugin_needs_torch/__init__.py", ""),),
    purelib=True,
)

NEWEST = next(iter(Tables().releases)).torch  # the default index replica's newest plain torch
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the sandbox is a POSIX virtual environment")


@pytest.fixture(scope="module")
def replicas():
    with Replicas() as r:
        yield r


def pinned_sandbox(tmp_path: Path, replicas: Replicas, run_cli, monkeypatch) -> tuple[Sandbox, dict]:
    """A sandbox holding STACK, `envcheck pin`'s JSON for it (run in the sandbox's work folder, with
    the sandbox's environment), and the plugin's wheel in work/wheels with a requirements file."""
    sb = Sandbox(tmp_path / "sb", replicas)
    sb.install_state([f"{name}=={version}" for name, version in STACK.items()], PYTORCH_URL + "cu126")
    assert {name: sb.installed()[name].version for name in STACK} == STACK
    work = sb.root / "work"
    (work / "wheels").mkdir()
    (work / "wheels" / PLUGIN.filename).write_bytes(build_wheel(PLUGIN))
    (work / "requirements.txt").write_text("torch\nplugin-needs-torch\n", encoding="utf-8")
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in sb.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(work)
    code, out, err = run_cli("pin", "--python", sb.python, "--json")
    assert code == 0, err
    assert (work / "envcheck-constraints.txt").read_text().count("==2.7.1+cu126") == 2
    return sb, json.loads(out)


def printed(pin: dict, title: str) -> list[str]:
    (line, *_) = next(u["lines"] for u in pin["usage"] if u["title"] == title)
    return shlex.split(line)


def without(argv: list[str], flag: str) -> list[str]:
    """argv less `flag FILE`: the same command as the user ran it before pinning."""
    i = argv.index(flag)
    return argv[:i] + argv[i + 2:]


def kept_then_swapped(sb: Sandbox, command: list[str], flag: str, extra: list[str]) -> str:
    """Run the printed command (plus `extra`): the pinned build must stay. Then the same without
    `flag FILE`; returns the torch version that run left."""
    assert flag in command and "--extra-index-url" in command
    sb.run([*command, *extra])
    installed = sb.installed()
    assert installed["torch"].version == "2.7.1+cu126" and sb.torch_cuda() == "12.6"
    assert sb.python_eval("import plugin_needs_torch, importlib.metadata as m; print(m.version('plugin-needs-torch'))") == "1.0"

    sb.run([*without(command, flag), *extra])  # without the constraint, the upgrade replaces the build
    return sb.installed()["torch"].version


def test_pip_with_the_printed_constraint_keeps_the_cuda_build(tmp_path, replicas, run_cli, monkeypatch):
    sb, pin = pinned_sandbox(tmp_path, replicas, run_cli, monkeypatch)
    command = printed(pin, "pip, for one install")
    assert command[:5] == [sb.python, "-m", "pip", "install", "-c"]
    swapped = kept_then_swapped(sb, command, "-c", ["-U", "--find-links", "wheels"])
    assert swapped == NEWEST  # pip takes the highest version of both indexes: the default index's plain torch


@pytest.mark.skipif(find_uv() is None, reason="uv is not installed (pip install uv)")
def test_uv_with_the_printed_constraint_keeps_the_cuda_build(tmp_path, replicas, run_cli, monkeypatch):
    sb, pin = pinned_sandbox(tmp_path, replicas, run_cli, monkeypatch)
    command = printed(pin, "uv")
    assert command[:5] == ["uv", "pip", "install", "--python", sb.python]
    swapped = kept_then_swapped(sb, command, "--constraint", ["-U", "--find-links", "wheels"])
    # uv takes torch from the first index that has it, the extra one: its newest cu126 build.
    assert swapped.endswith("+cu126") and swapped != STACK["torch"]
