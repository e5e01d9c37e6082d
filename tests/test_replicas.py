"""Tests of the replica harness itself (tests/replicas): listings, stub wheels, URL rewriting,
the sandbox's isolation, and the real pip/uv behaviours the install-command scenarios rely on.

Behaviours observed here with pip 23.2.1 and uv 0.13.9 (each is asserted below):
- Local versions: `torch==2.14.1` matches 2.14.1+cu126 when nothing is installed (pip and uv);
  with 2.14.1+cpu installed both call the pin satisfied and keep +cpu; only
  `torch==2.14.1+cu126` replaces it.
- `--extra-index-url`: pip merges both indexes and takes the highest version, and
  2.14.1+cu126 sorts above 2.14.1; uv's default index strategy (first-index) takes a project only
  from the first index that has it, the extra index first, so `torch==2.15.0` with the cu126
  index as extra fails under uv (torch is there, 2.15.0 is not) and installs under pip.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import io
import urllib.error
import urllib.request
import zipfile

import pytest

from envcheck.compat import Tables
from envcheck.versions import cuda_of_variant
from tests.replicas import (
    CommandFailed,
    NotRunnable,
    ReplicaModel,
    Replicas,
    Sandbox,
    WheelSpec,
    build_wheel,
    find_uv,
    torch_wheel,
)

CPU = "https://download.pytorch.org/whl/cpu"
CU126 = "https://download.pytorch.org/whl/cu126"
ALIYUN_CU121 = "https://mirrors.aliyun.com/pytorch-wheels/cu121/"
INSTALLERS = {"pip": ["pip"], "uv": ["uv", "pip"]}
UV = find_uv()


@pytest.fixture(scope="module")
def replicas():
    with Replicas() as r:
        yield r


@pytest.fixture
def sandbox(tmp_path, replicas):
    return Sandbox(tmp_path / "sb", replicas)


@pytest.fixture(params=sorted(INSTALLERS))
def installer(request):
    if request.param == "uv" and UV is None:
        pytest.skip("uv is not installed (pip install uv)")
    return request.param


def get(replicas: Replicas, path: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(replicas.base + path, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def wheel_paths(replicas: Replicas, mark: int) -> list[str]:
    return [s.path for s in replicas.requests_since(mark) if s.path.endswith(".whl") and s.status == 200]


def default_cuda(version: str, platform: str = "linux") -> str:
    cuda = cuda_of_variant(Tables().releases.get(version).default[platform])
    assert cuda, f"{version}'s default build on {platform} is not a CUDA build"
    return f"{cuda[0]}.{cuda[1]}"


# -- listings and stub wheels ----------------------------------------------------------------


def test_cu126_listing_holds_local_cu126_builds_only(replicas):
    status, body = get(replicas, "/pytorch/whl/cu126/torch/")
    page = body.decode()
    assert status == 200
    assert 'href="/pytorch/whl/cu126/torch-2.14.1%2Bcu126-cp311-cp311-manylinux_2_28_x86_64.whl"' in page
    assert "%2Bcpu" not in page and "+cpu" not in page
    # Every torch file of the variant carries the label, except macOS's (none in cu126).
    hrefs = [line for line in page.splitlines() if "<a href=" in line]
    assert hrefs and all("%2Bcu126" in h for h in hrefs)
    # The variant root lists torch's dependency, as the real index does.
    status, root = get(replicas, "/pytorch/whl/cu126/")
    assert status == 200 and b'href="filelock/"' in root
    status, wheel = get(replicas, "/pytorch/whl/cu126/torch-2.14.1%2Bcu126-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert status == 200 and b"cuda = '12.6'" in zipfile.ZipFile(io.BytesIO(wheel)).read("torch/version.py")


def test_default_replica_holds_plain_versions_whose_stub_answers_the_default_cuda(replicas):
    status, body = get(replicas, "/pypi/simple/torch/")
    page = body.decode()
    assert status == 200
    assert "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl" in page
    assert 'data-requires-python="&gt;=3.10"' in page
    assert "%2B" not in page  # no local label anywhere on the default index
    status, wheel = get(replicas, "/pypi/packages/torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert status == 200
    ns: dict = {}
    exec(zipfile.ZipFile(io.BytesIO(wheel)).read("torch/version.py").decode(), ns)
    assert ns["__version__"] == "2.14.1"
    assert ns["cuda"] == default_cuda("2.14.1") == "13.0"


def test_platform_tags_and_labels_follow_the_tables(replicas):
    model = ReplicaModel()
    cpu = {s.filename for s in model.pytorch("cpu")["torch"]}
    assert "torch-2.2.2-cp311-cp311-macosx_10_9_x86_64.whl" in cpu  # <= macos_x86_64_last
    assert "torch-2.3.0-cp311-cp311-macosx_11_0_arm64.whl" in cpu
    assert "torch-2.3.0-cp311-cp311-macosx_10_9_x86_64.whl" not in cpu
    assert "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl" in cpu  # before 2.6
    assert "torch-2.6.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl" in cpu
    assert "torch-2.6.0+cpu-cp311-cp311-win_amd64.whl" in cpu
    assert "torch-2.6.0+cpu-cp311-cp311-manylinux_2_28_aarch64.whl" in cpu
    rocm = model.pytorch("rocm6.0")
    assert "torch-2.3.1+rocm6.0-cp311-cp311-linux_x86_64.whl" in {s.filename for s in rocm["torch"]}
    assert all(s.requires_dist == ("torch==2.3.1",) for s in rocm["torchvision"] if s.version.startswith("0.18.1"))
    # A release without torchaudio has no torchaudio file.
    assert not [s for s in model.pytorch("cu126").get("torchaudio", ()) if s.version.startswith("2.14")]
    # The flat all-variant page: hrefs relative to /whl/, served where they point.
    status, body = get(replicas, "/pytorch/whl/torch_stable.html")
    href = "cu113/torch-1.12.1%2Bcu113-cp310-cp310-linux_x86_64.whl"
    assert status == 200 and f'href="{href}"'.encode() in body
    assert get(replicas, "/pytorch/whl/" + href)[0] == 200


def test_stub_wheel_is_a_valid_wheel():
    spec = torch_wheel("2.14.1+rocm6.0", "cp311-cp311-manylinux_2_28_x86_64", cuda=None, hip="6.0", requires_python=">=3.10")
    assert spec.filename == "torch-2.14.1+rocm6.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    data = build_wheel(spec)
    assert build_wheel(spec) == data  # deterministic
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = "torch-2.14.1+rocm6.0.dist-info"
    meta = zf.read(f"{info}/METADATA").decode()
    for line in ("Metadata-Version: 2.1", "Name: torch", "Version: 2.14.1+rocm6.0", "Requires-Python: >=3.10", "Requires-Dist: filelock"):
        assert line in meta.splitlines()
    wheel = zf.read(f"{info}/WHEEL").decode().splitlines()
    assert "Root-Is-Purelib: false" in wheel and "Tag: cp311-cp311-manylinux_2_28_x86_64" in wheel
    record = zf.read(f"{info}/RECORD").decode().splitlines()
    assert f"{info}/RECORD,," in record
    assert {r.split(",")[0] for r in record} == set(zf.namelist())
    for row in record:
        path, digest, size = row.split(",")
        if path.endswith("RECORD"):
            continue
        content = zf.read(path)
        expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(content)
    assert "hip = '6.0'" in zf.read("torch/version.py").decode()
    assert WheelSpec("Some.Project", "1.0", "py3-none-any").filename == "some_project-1.0-py3-none-any.whl"


def test_wheels_are_built_once(replicas):
    spec = ReplicaModel().pytorch("cu126")["torch"][0]
    assert replicas.wheel(spec) is replicas.wheel(spec)


# -- URL rewriting ---------------------------------------------------------------------------


def test_rewrite_maps_every_known_index_and_refuses_the_rest(replicas):
    base = replicas.base
    assert replicas.rewrite(["pip", "install", "torch", "--index-url", CU126]) == [
        "pip", "install", "torch", "--index-url", f"{base}/pytorch/whl/cu126/"
    ]
    assert replicas.rewrite([f"--index-url={CU126}/"]) == [f"--index-url={base}/pytorch/whl/cu126/"]
    assert replicas.rewrite(["-f", "https://download.pytorch.org/whl/torch_stable.html"]) == [
        "-f", f"{base}/pytorch/whl/torch_stable.html"
    ]
    for m in Tables().mirrors:
        assert replicas.rewrite([m.pypi]) == [f"{base}/mirror/{m.name}/pypi/simple/"]
        if m.wheels_form != "none":
            for url in (m.wheel_url("cu121"), m.wheel_url("cu121").rstrip("/"), m.wheel_url("cu121").rstrip("/") + "/"):
                assert replicas.rewrite([url]) == [f"{base}/mirror/{m.name}/wheels/cu121/"]
    # A mirror's copy of the default index serves the default index's content.
    assert get(replicas, "/mirror/tuna/pypi/simple/torch/")[1].replace(b"/mirror/tuna", b"") == get(replicas, "/pypi/simple/torch/")[1]
    # Local URLs pass; nothing else may leave 127.0.0.1.
    assert replicas.rewrite([f"{base}/pypi/simple/", "torch==2.4.1+cu121"]) == [f"{base}/pypi/simple/", "torch==2.4.1+cu121"]
    for bad in (
        "https://example.com/simple",
        "http://download.pytorch.org/whl/cu126",  # right host, wrong scheme
        "https://download.pytorch.org/whlx/cu126",
        "git+https://github.com/pytorch/vision.git@v0.9.0",
        "--extra-index-url=https://pypi.nvidia.cn",
    ):
        with pytest.raises(ValueError):
            replicas.rewrite(["pip", "install", bad])


def test_index_form_mirror_is_pep503_but_find_links_form_is_one_flat_page(replicas):
    status, body = get(replicas, "/mirror/sjtu/wheels/cu121/torch/")
    assert status == 200 and b"torch-2.4.1%2Bcu121-cp311-cp311-linux_x86_64.whl" in body
    assert get(replicas, "/mirror/nju/wheels/cu121/filelock/")[0] == 200
    # Aliyun: the folder lists the wheels, a project folder does not exist.
    status, body = get(replicas, "/mirror/aliyun/wheels/cu121/")
    assert status == 200 and b'href="torch-2.4.1%2Bcu121-cp311-cp311-linux_x86_64.whl"' in body
    assert b"filelock" not in body
    assert get(replicas, "/mirror/aliyun/wheels/cu121/torch/")[0] == 404
    assert get(replicas, "/mirror/tuna/wheels/cu121/")[0] == 404  # TUNA mirrors no wheel index
    assert get(replicas, "/nowhere/")[0] == 404


# -- the sandbox ---------------------------------------------------------------------------------


def test_the_venv_runs_this_pythons_pip_and_sees_nothing_else_of_it(sandbox):
    """pip comes into the venv through a folder holding pip alone: pytest, installed beside it
    here, stays out of reach, and pip's prefix (its install target and site config) is the venv's."""
    assert sandbox.run(["python", "-c", "import pytest"], check=False).returncode != 0
    out = sandbox.run(["pip", "--version"]).stdout
    assert out.startswith("pip ") and f"(python {sandbox.python_eval('import sys; print(*sys.version_info[:2], sep=chr(46))')})" in out
    assert sandbox.python_eval("import sys; print(sys.prefix)") == str(sandbox.venv)
    assert "torch" not in sandbox.run(["pip", "list", "--format", "freeze"]).stdout.lower()


def test_sandbox_maps_programs_and_refuses_the_rest(sandbox, replicas):
    cmd = sandbox.command(["python", "-m", "pip", "install", "torch", "-f", ALIYUN_CU121])
    assert cmd[:3] == [sandbox.python, "-m", "pip"]
    assert cmd[-1] == f"{replicas.base}/mirror/aliyun/wheels/cu121/"
    assert sandbox.command(["python3", "-c", "pass"]) == [sandbox.python, "-c", "pass"]
    for argv in (
        ["conda", "install", "pytorch", "-c", "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/pytorch"],
        ["source", ".venv/bin/activate"],
        [],
    ):
        with pytest.raises(NotRunnable):
            sandbox.command(argv)


def test_install_from_the_cu126_index(sandbox, replicas, installer):
    mark = replicas.mark()
    sandbox.run([*INSTALLERS[installer], "install", "torch==2.14.1", "--index-url", CU126])
    torch = sandbox.installed()["torch"]
    assert torch.version == "2.14.1+cu126" and torch.installer == installer
    assert sandbox.torch_cuda() == "12.6"
    assert all(p.startswith("/pytorch/whl/cu126/") for p in wheel_paths(replicas, mark))


def test_torchvision_pin_pulls_its_exact_torch(sandbox, installer):
    # 0.28.0 goes with torch 2.13.0 though the cu126 index has a newer 2.14.1.
    sandbox.run([*INSTALLERS[installer], "install", "torchvision==0.28.0", "--index-url", CU126])
    have = sandbox.installed()
    assert have["torchvision"].version == "0.28.0+cu126"
    assert have["torch"].version == "2.13.0+cu126"


def test_plain_pin_keeps_an_installed_cpu_build_and_a_local_pin_replaces_it(sandbox, installer):
    """The reality this harness exists to catch: `torch==2.14.1` is satisfied by 2.14.1+cpu
    (PEP 440: a local label is ignored by a specifier without one), so pip says "Requirement
    already satisfied" and uv "Checked 1 package": the GPU index is never asked, +cpu stays.
    Only the local pin `torch==2.14.1+cu126` makes either replace it. Same for pip and uv.
    """
    sandbox.install_state(["torch==2.14.1+cpu", "torchvision==0.29.1+cpu"], CPU)
    assert sandbox.installed()["torch"].version == "2.14.1+cpu"
    sandbox.run([*INSTALLERS[installer], "install", "torch==2.14.1", "--index-url", CU126])
    assert sandbox.installed()["torch"].version == "2.14.1+cpu"
    assert sandbox.torch_cuda() is None
    sandbox.run([*INSTALLERS[installer], "install", "torch==2.14.1+cu126", "--index-url", CU126])
    torch = sandbox.installed()["torch"]
    assert torch.version == "2.14.1+cu126" and torch.installer == installer
    assert sandbox.torch_cuda() == "12.6"


def test_extra_index_url_pip_merges_uv_takes_the_first_index(sandbox, replicas, installer):
    """pip merges the default and the extra index and takes the highest version; uv's default
    index strategy ("first-index") takes torch only from the first index that has it, the
    --extra-index-url one, so a version only the default index has is not found."""
    cmd = [*INSTALLERS[installer], "install", "torch==2.15.0", "--extra-index-url", CU126]
    if installer == "pip":
        sandbox.run(cmd)
        assert sandbox.installed()["torch"].version == "2.15.0"
        assert sandbox.torch_cuda() == default_cuda("2.15.0")
    else:
        with pytest.raises(CommandFailed) as exc:
            sandbox.run(cmd)
        assert "unsafe-best-match" in exc.value.output
        sandbox.run([*cmd, "--index-strategy", "unsafe-best-match"])
        assert sandbox.installed()["torch"].version == "2.15.0"
    # Both indexes have 2.14.1: the local build sorts higher (pip) or comes first (uv).
    mark = replicas.mark()
    sandbox.run([*INSTALLERS[installer], "install", "torch==2.14.1", "--extra-index-url", CU126])
    assert sandbox.installed()["torch"].version == "2.14.1+cu126"
    assert any(p.startswith("/pytorch/whl/cu126/torch-") for p in wheel_paths(replicas, mark))


def test_find_links_form_needs_a_default_index_and_is_no_index(tmp_path, replicas, installer):
    cmd = [*INSTALLERS[installer], "install", "torch==2.4.1+cu121"]
    # -f alone: torch from the flat folder, its dependency from the default index.
    sb = Sandbox(tmp_path / "ok", replicas)
    mark = replicas.mark()
    sb.run([*cmd, "-f", ALIYUN_CU121])
    assert sb.installed()["torch"].version == "2.4.1+cu121" and sb.torch_cuda() == "12.1"
    got = wheel_paths(replicas, mark)
    assert "/mirror/aliyun/wheels/cu121/torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl" in got
    assert "/pypi/packages/filelock-3.13.1-py3-none-any.whl" in got
    # Without a default index the folder's wheels lack their dependencies.
    sb = Sandbox(tmp_path / "no-index", replicas)
    with pytest.raises(CommandFailed) as exc:
        sb.run([*cmd, "--no-index", "-f", ALIYUN_CU121])
    assert "filelock" in exc.value.output and "torch" not in sb.installed()
    # As an index the folder has no project pages: "from versions: none".
    mark = replicas.mark()
    with pytest.raises(CommandFailed) as exc:
        sb.run([*cmd, "--index-url", ALIYUN_CU121])
    assert ("/mirror/aliyun/wheels/cu121/torch/", 404) in [(s.path, s.status) for s in replicas.requests_since(mark)]
    assert "torch" not in sb.installed()


def test_sandbox_ignores_the_machines_pip_and_uv_configuration(tmp_path, replicas, monkeypatch, installer):
    """Decoys in every place pip or uv would look outside the sandbox: a find-links folder with a
    filelock 99.0, environment variables, a user pip.conf, a PIP_CONFIG_FILE. (This machine
    also has a user pip.conf with find-links and PIP_FIND_LINKS set for real.)"""
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    spec = WheelSpec("filelock", "99.0", "py3-none-any", modules=(("filelock/__init__.py", ""),), purelib=True)
    (decoy / spec.filename).write_bytes(build_wheel(spec))
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    conf = f"[global]\nfind-links = {decoy}\nindex-url = http://127.0.0.1:9/decoy/\n"
    (home / ".config" / "pip" / "pip.conf").write_text(conf)
    (tmp_path / "pip-config-file.conf").write_text(conf)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "pip-config-file.conf"))
    monkeypatch.setenv("PIP_FIND_LINKS", str(decoy))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/decoy/")
    monkeypatch.setenv("UV_FIND_LINKS", str(decoy))
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/decoy/")
    monkeypatch.setenv("UV_EXTRA_INDEX_URL", "http://127.0.0.1:9/decoy/")

    sb = Sandbox(tmp_path / "sb", replicas)
    assert "PIP_FIND_LINKS" not in sb.env and "PIP_CONFIG_FILE" not in sb.env
    assert sb.env["UV_INDEX_URL"] == replicas.default_index
    listed = sb.run(["pip", "config", "list"]).stdout
    assert "decoy" not in listed and "/opt/wheels" not in listed
    assert f"global.index-url='{replicas.default_index}'" in listed  # the venv's site pip.conf
    mark = replicas.mark()
    sb.run([*INSTALLERS[installer], "install", "filelock"])
    assert sb.installed()["filelock"].version == "3.13.1"
    assert "/pypi/simple/filelock/" in [s.path for s in replicas.requests_since(mark)]


def test_pip_config_set_mirror_changes_where_later_installs_fetch(sandbox, replicas):
    sandbox.run(["pip", "config", "set", "global.index-url", "https://pypi.tuna.tsinghua.edu.cn/simple"])
    site = configparser.ConfigParser()
    site.read(sandbox.pip_conf)
    assert site["global"]["index-url"] == f"{replicas.base}/mirror/tuna/pypi/simple/"
    mark = replicas.mark()
    sandbox.run(["pip", "install", "torch==2.14.1"])
    served = [s.path for s in replicas.requests_since(mark)]
    assert "/mirror/tuna/pypi/packages/torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl" in served
    assert all(p.startswith("/mirror/tuna/pypi/") for p in served)
    assert sandbox.installed()["torch"].version == "2.14.1"
    assert sandbox.torch_cuda() == default_cuda("2.14.1")
    sandbox.run(["pip", "uninstall", "-y", "torch"])
    assert "torch" not in sandbox.installed()


def test_command_failed_shows_the_tail_of_the_output(sandbox):
    with pytest.raises(CommandFailed) as exc:
        sandbox.run(["pip", "install", "torch==0.0.1"])
    assert exc.value.returncode == 1
    assert "No matching distribution found for torch==0.0.1" in str(exc.value)
    assert sandbox.run(["pip", "install", "torch==0.0.1"], check=False).returncode == 1


# -- free-threaded CPython ---------------------------------------------------------------------


def test_free_threaded_plan_resolves_to_cp314t_wheels_on_the_replica(sandbox, replicas, tmp_path):
    """`install-cmd --python 3.14t` plans a build whose cp314t files exist where the plan sends pip.

    The sandbox interpreter is not free-threaded, so pip cannot install them here; `pip download`
    with the target's tags (--python-version 3.14 --abi cp314t) resolves the printed line instead.
    """
    from envcheck.install import Machine, Request, solve

    plan = solve(Tables(), Machine("linux", "x86_64", "3.11", local=False), Request(python="3.14t", cuda=(13, 0)))
    argv = next(s.argv for s in plan.steps if s.purpose == "install")
    assert argv[:2] == ("pip", "install")
    dest = tmp_path / "dl"
    sandbox.run(["pip", "download", *argv[2:], "--no-deps", "--only-binary=:all:", "--python-version", "3.14",
                 "--abi", "cp314t", "--platform", "manylinux_2_28_x86_64", "-d", str(dest)])
    got = sorted(p.name for p in dest.iterdir())
    assert got and all("-cp314-cp314t-manylinux_2_28_x86_64.whl" in n for n in got), got
    assert any(n.startswith(f"torch-{plan.torch}+cu130-") for n in got), got
