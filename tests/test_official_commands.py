"""envcheck's commands against PyTorch's official ones, token by token.

tests/fixtures/official_commands.toml holds every line of PyTorch's previous-versions page, verbatim
(and the install selector's lines the page leaves out), each with its source and commit; each must
come out of envcheck's builder unchanged. Then every (release, build) pair of the tables goes through
the whole solver: against the recorded line where PyTorch published one in a stored copy, else
against the form of the newest recorded line for that build (the tables are never their own oracle).
The curated cases pin the mirror, conda and uv forms.
"""

from __future__ import annotations

import shlex
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from envcheck.compat import Tables
from envcheck.install import Machine, Request, conda_install, official_pip_lines, solve
from envcheck.versions import cuda_of_variant, vtuple

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

T = Tables()
OFFICIAL = tomllib.loads((Path(__file__).parent / "fixtures" / "official_commands.toml").read_text())["command"]


def _groups():
    g = defaultdict(list)
    for c in OFFICIAL:
        g[(c["torch"], c["variant"], c["manager"], c["os"])].append(shlex.split(c["text"]))
    return g


GROUPS = _groups()


def test_fixture_covers_the_releases_on_the_page():
    releases = {k[0] for k in GROUPS}
    assert len(OFFICIAL) >= 300
    assert {"1.8.0", "1.8.2", "1.10.2", "1.12.1", "2.0.1", "2.2.1", "2.5.1", "2.7.1", "2.12.1"} <= releases
    assert ("1.10.1", "cu113", "pip", "linux") in GROUPS  # the selector's line the page leaves out


# Where envcheck knowingly prints another line than the recorded one, and why. Strict: once envcheck
# prints the recorded line, the mark must go.
DEVIATIONS = {
    ("1.10.2", "cpu", "pip", "linux"): "envcheck writes the previous-versions page's 1.10.x cpu form (torchaudio unlabelled, as the "
                                       "page's 1.10.0 and 1.10.1 lines); PyTorch's selector labels torchaudio +cpu",
}


def _deviation(key):
    if key in DEVIATIONS:
        return pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=DEVIATIONS[key]))
    return key


@pytest.mark.parametrize("key", [_deviation(k) for k in sorted(GROUPS)], ids=lambda k: "-".join(k))
def test_official_line_reproduced(key):
    torch, variant, manager, os = key
    release = T.releases.get(torch)
    assert release is not None, f"torch {torch} missing from compat/torch.toml"
    got = official_pip_lines(release, variant, os) if manager == "pip" else [conda_install(release, variant, os)]
    assert got == GROUPS[key]


def _pairs():
    for r in T.releases:
        for v in r.variants["linux"]:
            if v == "cpu" or cuda_of_variant(v):
                yield r, v


def _pair_params():
    for release, variant in _pairs():
        key = (release.torch, variant, "pip", "linux")
        marks = [pytest.mark.xfail(strict=True, reason=DEVIATIONS[key])] if key in DEVIATIONS else []
        yield pytest.param(release, variant, marks=marks)


@pytest.mark.parametrize("release,variant", list(_pair_params()), ids=lambda x: getattr(x, "torch", x))
def test_every_release_and_build_through_the_solver(release, variant):
    """--torch X --cuda Y (or --cpu) on Linux gives the official versions and wheel index."""
    py = release.python["linux"][-1]
    cuda = cuda_of_variant(variant)
    req = Request(torch=release.torch, cuda=cuda, cpu=cuda is None, python=py)
    plan = solve(T, Machine("linux", "x86_64", py, local=False), req)
    install = [s for s in plan.steps if s.purpose == "install"]
    assert len(install) == 1
    argv = list(install[0].argv)
    assert (plan.torch, plan.variant) == (release.torch, variant)
    key = (release.torch, variant, "pip", "linux")
    official = GROUPS.get(key)
    if official:
        assert [argv] == official
    else:  # no recorded line (2.13+; 1.10.2 but for cpu and cu113): the form of the newest recorded line
        # for this build, with torch pinned to this release. The other pins' versions have no
        # primary record here: tests/test_compat_tables.py checks the tables' own sources.
        form = _newest_recorded_form(release, variant)
        assert form is not None, f"no recorded line for {variant} at or before torch {release.torch}"
        assert _form(argv) == form, (argv, form)
        assert argv[2].partition("+")[0] == f"torch=={release.torch}", argv


def _form(argv: list[str]) -> list[str]:
    """A command with the versions of its pins masked: torch==2.12.1+cu113 -> torch==V+cu113."""
    out = []
    for token in argv:
        name, eq, version = token.partition("==")
        out.append(f"{name}==V" + (f"+{version.partition('+')[2]}" if "+" in version else "") if eq and not token.startswith("-") else token)
    return out


def _newest_recorded_form(release, variant: str) -> list[str] | None:
    """The masked form of PyTorch's newest recorded Linux pip line for this build, from releases
    no newer than this one."""
    recorded = sorted(((vtuple(t), lines) for (t, v, m, o), lines in GROUPS.items() if (v, m, o) == (variant, "pip", "linux")
                       and vtuple(t) <= vtuple(release.torch) and (t, v, m, o) not in DEVIATIONS), key=lambda x: x[0])
    if not recorded:
        return None
    lines = recorded[-1][1]
    assert len(lines) == 1, lines
    return _form(lines[0])


LINUX = Machine("linux", "x86_64", "3.11", local=False)
WINDOWS = Machine("windows", "x86_64", "3.11", local=False)

# (request, machine, expected commands in order). Official lines are from the page; the mirror forms
# follow each mirror's documented use (compat/mirrors.toml), with the mirror named on each command
# unless --persist (`pip config set`) asks for pip's configuration to change.
CASES = [
    (Request(torch="2.2.1", cuda=(12, 1)), LINUX, [
        "pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1 --index-url https://download.pytorch.org/whl/cu121"]),
    (Request(torch="1.12.1", cuda=(11, 3), python="3.10"), LINUX, [
        "pip install torch==1.12.1+cu113 torchvision==0.13.1+cu113 torchaudio==0.12.1 --extra-index-url https://download.pytorch.org/whl/cu113"]),
    (Request(torch="1.8.0", cuda=(11, 1), python="3.9"), LINUX, [
        "pip install torch==1.8.0+cu111 torchvision==0.9.0+cu111 torchaudio==0.8.0 -f https://download.pytorch.org/whl/torch_stable.html"]),
    (Request(torch="1.8.0", cuda=(10, 2), python="3.9"), LINUX, ["pip install torch==1.8.0 torchvision==0.9.0 torchaudio==0.8.0"]),
    (Request(torch="1.10.1", cuda=(11, 1), python="3.9"), LINUX, [
        "pip install torch==1.10.1+cu111 torchvision==0.11.2+cu111 torchaudio==0.10.1 -f https://download.pytorch.org/whl/cu111/torch_stable.html"]),
    (Request(torch="2.0.1", cuda=(11, 7)), LINUX, ["pip install torch==2.0.1 torchvision==0.15.2 torchaudio==2.0.2"]),
    (Request(torch="2.0.1", cuda=(11, 8)), LINUX, [
        "pip install torch==2.0.1 torchvision==0.15.2 torchaudio==2.0.2 --index-url https://download.pytorch.org/whl/cu118"]),
    (Request(torch="2.7.1", cuda=(12, 8)), LINUX, [
        "pip install torch==2.7.1 torchvision==0.22.1 torchaudio==2.7.1 --index-url https://download.pytorch.org/whl/cu128"]),
    (Request(torch="2.12.1", cuda=(13, 0)), LINUX, [
        "pip install torch==2.12.1 torchvision==0.27.1 --index-url https://download.pytorch.org/whl/cu130"]),
    (Request(torch="2.5.1", cpu=True), LINUX, [
        "pip install torch==2.5.1 torchvision==0.20.1 torchaudio==2.5.1 --index-url https://download.pytorch.org/whl/cpu"]),
    # mirrors: the default index's own build straight from the PyPI mirror, named on the command;
    # pip's configuration is left alone ...
    (Request(torch="2.2.1", cuda=(12, 1), mirror="tuna"), LINUX, [
        "pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1 --index-url https://pypi.tuna.tsinghua.edu.cn/simple"]),
    # ... unless --persist: then the mirror becomes pip's index first
    (Request(torch="2.2.1", cuda=(12, 1), mirror="tuna", persist=True), LINUX, [
        "pip config set global.index-url https://pypi.tuna.tsinghua.edu.cn/simple",
        "pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1"]),
    # another build from the first copy of PyTorch's index in compat/mirrors.toml's order (SJTU's),
    # the PyPI mirror kept for the dependencies
    (Request(torch="2.2.1", cuda=(11, 8), mirror="tuna"), LINUX, [
        "pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1 --index-url https://mirror.sjtu.edu.cn/pytorch-wheels/cu118 --extra-index-url https://pypi.tuna.tsinghua.edu.cn/simple"]),
    # --torch-mirror pytorch: PyTorch's own index, as before
    (Request(torch="2.2.1", cuda=(11, 8), mirror="tuna", torch_mirror="pytorch"), LINUX, [
        "pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1 --index-url https://download.pytorch.org/whl/cu118 --extra-index-url https://pypi.tuna.tsinghua.edu.cn/simple"]),
    (Request(torch="1.12.1", cuda=(11, 3), python="3.10", mirror="ustc"), LINUX, [
        "pip install torch==1.12.1+cu113 torchvision==0.13.1+cu113 torchaudio==0.12.1 --index-url https://mirror.sjtu.edu.cn/pytorch-wheels/cu113 --extra-index-url https://mirrors.ustc.edu.cn/pypi/simple"]),
    (Request(torch="1.12.1", cuda=(11, 3), python="3.10", mirror="ustc", torch_mirror="pytorch"), LINUX, [
        "pip install torch==1.12.1+cu113 torchvision==0.13.1+cu113 torchaudio==0.12.1 --index-url https://mirrors.ustc.edu.cn/pypi/simple --extra-index-url https://download.pytorch.org/whl/cu113"]),
    (Request(torch="1.12.1", cuda=(11, 3), python="3.10", mirror="ustc", torch_mirror="pytorch", persist=True), LINUX, [
        "pip config set global.index-url https://mirrors.ustc.edu.cn/pypi/simple",
        "pip install torch==1.12.1+cu113 torchvision==0.13.1+cu113 torchaudio==0.12.1 --extra-index-url https://download.pytorch.org/whl/cu113"]),
    # a flat wheel folder needs -f and the local version pinned
    (Request(torch="2.4.1", cuda=(12, 1), mirror="aliyun"), WINDOWS, [
        "pip install torch==2.4.1+cu121 torchvision==0.19.1+cu121 torchaudio==2.4.1 -f https://mirrors.aliyun.com/pytorch-wheels/cu121/ --index-url https://mirrors.aliyun.com/pypi/simple/"]),
    (Request(torch="2.4.1", cuda=(11, 8), mirror="aliyun", persist=True), LINUX, [
        "pip config set global.index-url https://mirrors.aliyun.com/pypi/simple/",
        "pip install torch==2.4.1+cu118 torchvision==0.19.1+cu118 torchaudio==2.4.1 -f https://mirrors.aliyun.com/pytorch-wheels/cu118/"]),
    (Request(torch="2.4.1", cuda=(11, 8), mirror="tuna", torch_mirror="aliyun"), LINUX, [
        "pip install torch==2.4.1+cu118 torchvision==0.19.1+cu118 torchaudio==2.4.1 -f https://mirrors.aliyun.com/pytorch-wheels/cu118/ --index-url https://pypi.tuna.tsinghua.edu.cn/simple"]),
    # a PEP 503 copy of PyTorch's index is used as the index
    (Request(torch="2.7.1", cuda=(12, 8), mirror="sjtu"), LINUX, [
        "pip install torch==2.7.1 torchvision==0.22.1 torchaudio==2.7.1 --index-url https://mirror.sjtu.edu.cn/pytorch-wheels/cu128 --extra-index-url https://mirror.sjtu.edu.cn/pypi/web/simple"]),
    (Request(torch="2.9.1", cuda=(13, 0), mirror="nju"), LINUX, [
        "pip install torch==2.9.1 torchvision==0.24.1 torchaudio==2.9.1 --index-url https://mirrors.nju.edu.cn/pytorch/whl/cu130 --extra-index-url https://mirrors.nju.edu.cn/pypi/web/simple"]),
    (Request(torch="2.9.1", cuda=(13, 0), torch_mirror="nju"), LINUX, [
        "pip install torch==2.9.1 torchvision==0.24.1 torchaudio==2.9.1 --index-url https://mirrors.nju.edu.cn/pytorch/whl/cu130"]),
    # Windows: the default index serves the CPU build, so a CUDA build always needs a copy of PyTorch's index
    (Request(torch="2.5.1", cuda=(12, 4), mirror="tuna"), WINDOWS, [
        "pip install torch==2.5.1 torchvision==0.20.1 torchaudio==2.5.1 --index-url https://mirror.sjtu.edu.cn/pytorch-wheels/cu124 --extra-index-url https://pypi.tuna.tsinghua.edu.cn/simple"]),
    (Request(torch="2.5.1", cpu=True, mirror="huawei"), WINDOWS, [
        "pip install torch==2.5.1 torchvision==0.20.1 torchaudio==2.5.1 --index-url https://repo.huaweicloud.com/repository/pypi/simple"]),
    # conda, where the pytorch channel has the release
    (Request(torch="2.3.1", cuda=(12, 1), manager="conda", env="dl", python="3.10"), LINUX, [
        "conda create -n dl python=3.10 -y", "conda activate dl",
        "conda install pytorch==2.3.1 torchvision==0.18.1 torchaudio==2.3.1 pytorch-cuda=12.1 -c pytorch -c nvidia"]),
    (Request(torch="1.12.1", cuda=(11, 3), manager="conda", python="3.9"), LINUX, [
        "conda create -n torch python=3.9 -y", "conda activate torch",
        "conda install pytorch==1.12.1 torchvision==0.13.1 torchaudio==0.12.1 cudatoolkit=11.3 -c pytorch"]),
    (Request(torch="1.12.1", cuda=(11, 6), manager="conda", python="3.9"), LINUX, [
        "conda create -n torch python=3.9 -y", "conda activate torch",
        "conda install pytorch==1.12.1 torchvision==0.13.1 torchaudio==0.12.1 cudatoolkit=11.6 -c pytorch -c conda-forge"]),
    (Request(torch="2.5.1", cpu=True, manager="conda", python="3.12"), LINUX, [
        "conda create -n torch python=3.12 -y", "conda activate torch",
        "conda install pytorch==2.5.1 torchvision==0.20.1 torchaudio==2.5.1 cpuonly -c pytorch"]),
    # conda with a mirror: the channel mirror first, then the same command
    (Request(torch="2.3.1", cuda=(11, 8), manager="conda", python="3.11", mirror="tuna"), LINUX, [
        "conda config --set show_channel_urls yes",
        "conda config --set custom_channels.conda-forge https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud",
        "conda config --set custom_channels.pytorch https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud",
        "conda create -n torch python=3.11 -y", "conda activate torch",
        "conda install pytorch==2.3.1 torchvision==0.18.1 torchaudio==2.3.1 pytorch-cuda=11.8 -c pytorch -c nvidia"]),
    # conda after the channel ended: pip inside the conda environment
    (Request(torch="2.7.1", cuda=(12, 6), manager="conda", python="3.12"), LINUX, [
        "conda create -n torch python=3.12 -y", "conda activate torch",
        "pip install torch==2.7.1 torchvision==0.22.1 torchaudio==2.7.1 --index-url https://download.pytorch.org/whl/cu126"]),
    # uv
    (Request(torch="2.2.1", cuda=(12, 1), manager="uv"), LINUX, [
        "uv pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1 --index-url https://download.pytorch.org/whl/cu121"]),
    (Request(torch="1.13.1", cuda=(11, 7), manager="uv", python="3.10"), LINUX, [
        "uv pip install torch==1.13.1+cu117 torchvision==0.14.1+cu117 torchaudio==0.13.1 --extra-index-url https://download.pytorch.org/whl/cu117"]),
    (Request(torch="1.13.1", cuda=(11, 6), manager="uv", python="3.10", env=".venv"), LINUX, [
        "uv venv .venv --python 3.10", "source .venv/bin/activate",
        "uv pip install torch==1.13.1+cu116 torchvision==0.14.1+cu116 torchaudio==0.13.1 --extra-index-url https://download.pytorch.org/whl/cu116"]),
    # uv searches extra indexes first: PyTorch's index goes there, the mirror is the default index. Every
    # line names its indexes in one order (-f, --index-url, --extra-index-url): uv and pip read them by kind.
    (Request(torch="2.6.0", cuda=(12, 6), manager="uv", mirror="tuna"), LINUX, [
        "uv pip install torch==2.6.0 torchvision==0.21.0 torchaudio==2.6.0 --index-url https://pypi.tuna.tsinghua.edu.cn/simple --extra-index-url https://mirror.sjtu.edu.cn/pytorch-wheels/cu126"]),
    (Request(torch="2.6.0", cuda=(12, 6), manager="uv", mirror="tuna", torch_mirror="pytorch", persist=True), LINUX, [
        "uv pip install torch==2.6.0 torchvision==0.21.0 torchaudio==2.6.0 --index-url https://pypi.tuna.tsinghua.edu.cn/simple --extra-index-url https://download.pytorch.org/whl/cu126"]),
    (Request(torch="2.6.0", cuda=(12, 6), manager="uv", mirror="tuna", torch_mirror="aliyun"), LINUX, [
        "uv pip install torch==2.6.0+cu126 torchvision==0.21.0+cu126 torchaudio==2.6.0 -f https://mirrors.aliyun.com/pytorch-wheels/cu126/ --index-url https://pypi.tuna.tsinghua.edu.cn/simple"]),
    (Request(torch="2.6.0", cuda=(12, 4), manager="uv", mirror="tuna"), LINUX, [
        "uv pip install torch==2.6.0 torchvision==0.21.0 torchaudio==2.6.0 --index-url https://pypi.tuna.tsinghua.edu.cn/simple"]),
    # pip into a fresh venv on Windows
    (Request(torch="2.6.0", cuda=(12, 6), env="venv"), WINDOWS, [
        "python -m venv venv", "venv\\Scripts\\activate",
        "pip install torch==2.6.0 torchvision==0.21.0 torchaudio==2.6.0 --index-url https://download.pytorch.org/whl/cu126"]),
]


@pytest.mark.parametrize("request_,machine,expected", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_curated_commands(request_, machine, expected):
    plan = solve(T, machine, request_)
    commands = [s for s in plan.steps if s.purpose != "verify"]
    assert [list(s.argv) for s in commands] == [shlex.split(e, posix=machine.os != "windows") for e in expected]
    verify = plan.steps[-1]
    assert verify.purpose == "verify"
    cuda = cuda_of_variant(plan.variant)
    assert (f'torch.version.cuda == "{cuda[0]}.{cuda[1]}"' if cuda else "torch.version.cuda is None") in verify.argv[-1]


def test_at_least_25_curated_combinations():
    assert len(CASES) >= 25
