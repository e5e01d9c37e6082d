"""The real child-process torch probe against fake torch packages (tests/fakes/torch).

Each test runs the real probe: a child interpreter imports the fake `torch` from PYTHONPATH,
which behaves as a spec in tests/fixtures/torch/ says: a CUDA build on 8 H100s, a CPU build, an
import that raises, aborts, segfaults or hangs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

from envcheck.errors import UserError
from envcheck.probes.torch_probe import read_torch, read_torch_and_packages
from envcheck.snapshot.model import TorchDevice, Unavailable

FAKES = Path(__file__).resolve().parent / "fakes" / "torch"
SPECS = Path(__file__).resolve().parent / "fixtures" / "torch"


def fake_env(spec: str | Path, *paths: Path, **extra: str) -> dict:
    """The test's own environment, with the fake torch first on PYTHONPATH and no GPU selection."""
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(FAKES)])
    env["FAKE_TORCH_SPEC"] = str(spec if isinstance(spec, Path) else SPECS / f"{spec}.json")
    env.update(extra)
    return env


def write_spec(tmp_path: Path, **spec) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_cuda_build_on_eight_h100s():
    torch = read_torch(env=fake_env("cuda_h100x8"))
    assert torch.status == "ok" and torch.error == ""
    assert (torch.version, torch.cuda, torch.cudnn, torch.nccl) == ("2.7.1+cu126", "12.6", 90501, "2.26.2")
    assert torch.cuda_available is True and torch.device_count == 8
    assert torch.devices[7] == TorchDevice(7, "NVIDIA H100 80GB HBM3", "9.0")
    assert torch.arch_list[-1] == "sm_90"
    assert torch.warnings == () and torch.seconds > 0


def test_cpu_build():
    torch = read_torch(env=fake_env("cpu_build"))
    assert torch.status == "ok"
    assert torch.version == "2.13.0+cpu"
    assert torch.cuda is None and torch.cudnn is None and torch.nccl is None
    assert torch.cuda_available is False and torch.device_count == 0 and torch.devices == ()


def test_four_rtx3090s():
    torch = read_torch(env=fake_env("rtx3090x4"))
    assert torch.cuda == "12.1" and torch.nccl == "2.19.3"
    assert [d.capability for d in torch.devices] == ["8.6"] * 4


@pytest.mark.parametrize(("visible", "count"), [("1,3", 2), ("", 0), ("2,7,0", 1)])
def test_cuda_visible_devices_reaches_the_child(visible, count):
    torch = read_torch(env=fake_env("rtx3090x4", CUDA_VISIBLE_DEVICES=visible))
    assert torch.device_count == count
    assert [d.index for d in torch.devices] == list(range(count))  # torch renumbers from 0
    assert torch.cuda_available is (count > 0)


def test_arch_list_without_sm120_and_torch_s_warning():
    torch = read_torch(env=fake_env("arch_lacks_sm120"))
    assert torch.status == "ok" and torch.cuda_available is True
    assert torch.devices == (TorchDevice(0, "NVIDIA GeForce RTX 5090", "12.0"),)
    assert "sm_120" not in torch.arch_list and "sm_90" in torch.arch_list
    assert any("sm_120 is not compatible with the current PyTorch installation" in w for w in torch.warnings)


def test_cuda_unavailable_keeps_torch_s_reason():
    torch = read_torch(env=fake_env("cuda_unavailable"))
    assert torch.status == "ok" and torch.cuda == "12.1"
    assert torch.cuda_available is False and torch.device_count == 0
    assert torch.warnings[0].startswith(
        "CUDA initialization: The NVIDIA driver on your system is too old (found version 11040)"
    )


def test_import_error_names_the_missing_library():
    torch = read_torch(env=fake_env("import_error_libcudnn"))
    assert torch.status == "import_failed"
    assert torch.error.startswith("ImportError: libcudnn.so.9: cannot open shared object file")
    assert torch.version is None


def test_missing_torch(tmp_path):
    torch = read_torch(env=fake_env(write_spec(tmp_path, mode="missing")))
    assert torch.status == "missing"
    assert "No module named 'torch'" in torch.error


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
@pytest.mark.parametrize(("spec", "signal_name"), [("abort", "SIGABRT"), ("segfault", "SIGSEGV")])
def test_crash_names_the_signal(spec, signal_name):
    torch, packages, ort = read_torch_and_packages(env=fake_env(spec))
    assert torch.status == "crashed"
    assert signal_name in torch.error
    assert packages == () and isinstance(ort.providers, Unavailable)


def test_hang_costs_only_the_timeout():
    start = time.monotonic()
    torch = read_torch(timeout=2, env=fake_env("hang"))
    assert torch.status == "timeout"
    assert "import torch did not finish within 2 s" in torch.error
    assert time.monotonic() - start < 2 + 5


def test_one_failing_device_leaves_a_partial_answer(tmp_path):
    devices = [
        {"name": "NVIDIA A100-SXM4-80GB", "capability": [8, 0]},
        {"name": "NVIDIA A100-SXM4-80GB", "fail": "CUDA error: uncorrectable ECC error encountered"},
    ]
    spec = write_spec(tmp_path, version="2.4.0+cu124", cuda="12.4", cuda_available=True, devices=devices)
    torch = read_torch(env=fake_env(spec))
    assert torch.status == "ok" and torch.device_count == 2
    assert torch.devices[0] == TorchDevice(0, "NVIDIA A100-SXM4-80GB", "8.0")
    assert "uncorrectable ECC error" in torch.error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps is Linux")
def test_loaded_libraries_come_from_the_child_s_own_maps(tmp_path):
    shadow = tmp_path / "old-cuda" / "lib64"
    shadow.mkdir(parents=True)
    for name in ("libcudnn.so.8", "libcudart-9335f6a2.so.12", "libfoo.so.1", "libcusparseLt.so.0"):
        (shadow / name).write_bytes(b"\0" * 4096)
    spec = write_spec(tmp_path, version="2.2.1+cu121", cuda="12.1", map_files=[str(p) for p in shadow.iterdir()])
    torch = read_torch(env=fake_env(spec))
    assert torch.loaded_libraries == (str(shadow / "libcudart-9335f6a2.so.12"), str(shadow / "libcudnn.so.8"))


def _dist_info(site: Path, name: str, version: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_packages_and_both_onnxruntimes_without_importing_them(tmp_path):
    site = tmp_path / "site"
    _dist_info(site, "torchvision", "0.22.1")
    _dist_info(site, "onnxruntime", "1.20.1")
    _dist_info(site, "onnxruntime-gpu", "1.20.1")
    (site / "torchvision").mkdir()
    (site / "torchvision" / "__init__.py").write_text("raise SystemExit('torchvision must not be imported')\n")
    (site / "onnxruntime").mkdir()
    (site / "onnxruntime" / "__init__.py").write_text(
        "__version__ = '1.20.1'\n"
        "def get_available_providers():\n"
        "    return ['CUDAExecutionProvider', 'CPUExecutionProvider']\n"
    )
    torch, packages, ort = read_torch_and_packages(env=fake_env("cuda_h100x8", site))
    assert torch.status == "ok"
    versions = {p.name: p.version for p in packages}
    assert versions["torchvision"] == "0.22.1" and versions["torchaudio"] is None
    assert ort.installed == ("onnxruntime", "onnxruntime-gpu")
    assert ort.version == "1.20.1"
    assert ort.providers == ("CUDAExecutionProvider", "CPUExecutionProvider")


@pytest.mark.skipif(os.name != "posix", reason="shell script as interpreter")
def test_no_onnxruntime_is_a_reason(tmp_path):
    # -S: no site-packages, so an onnxruntime installed beside the test runner stays out of sight
    isolated = tmp_path / "python-isolated"
    isolated.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    isolated.chmod(0o755)
    _, _, ort = read_torch_and_packages(str(isolated), env=fake_env("cpu_build"))
    assert ort.installed == ()
    assert isinstance(ort.providers, Unavailable) and ort.providers.code == "not_installed"


@pytest.mark.skipif(os.name != "posix", reason="shell script as interpreter")
def test_exit_without_answer_is_a_crash_with_its_stderr(tmp_path):
    shim = tmp_path / "python3.7"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.7: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    torch = read_torch(python=str(shim), env=fake_env("cpu_build"))
    assert torch.status == "crashed"
    assert "code 127" in torch.error and "pyenv: python3.7: command not found" in torch.error


def _not_executable(tmp_path: Path) -> str:
    path = tmp_path / "python"
    path.write_text("not a program\n")
    path.chmod(0o644)
    return str(path)


@pytest.mark.parametrize(
    "python",
    [
        lambda tmp: str(tmp / "no-such-python"),
        lambda tmp: str(tmp),
        _not_executable,
        lambda tmp: "envcheck-no-such-interpreter",
    ],
    ids=["missing", "directory", "not-executable", "not-on-path"],
)
def test_bad_python_is_a_user_error(tmp_path, python):
    path = python(tmp_path)
    with pytest.raises(UserError, match="not an executable Python interpreter") as exc:
        read_torch(python=path, env=fake_env("cpu_build"))
    assert str(exc.value).startswith(f"--python {path}: ")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="real torch is not installed")
def test_real_cpu_torch():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FAKE_TORCH_SPEC")}
    torch = read_torch(env=env)
    assert torch.status == "ok", torch.error
    assert torch.version.startswith("2.13")
    assert torch.cuda is None and torch.cuda_available is False


def test_ctrl_c_in_doctor_leaves_no_torch_child_behind():
    """The probe runs in a thread and in a session of its own: the terminal's SIGINT reaches neither,
    so envcheck itself must stop the child (envcheck/probes/children.py)."""
    import signal
    import subprocess
    import time

    env = {**os.environ, "PYTHONPATH": str(FAKES), "FAKE_TORCH_SPEC": str(SPECS / "hang.json")}
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "doctor", "--timeout", "120"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    children = []
    for _ in range(100):  # wait for the probe child to start
        time.sleep(0.1)
        children = [int(p) for p in os.listdir("/proc") if p.isdecimal() and _child_of(int(p), proc.pid)]
        if children:
            break
    assert children, "the torch probe child never started"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err
    for _ in range(50):  # the kernel's SIGKILL and the reaping take a moment
        if not any(_alive(pid) for pid in children):
            break
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "the torch child outlived envcheck"


def _child_of(pid: int, parent: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read()
    except OSError:
        return False
    return int(fields[1]) == parent and b"torch_child" in cmd


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_an_onnxruntime_that_kills_the_interpreter_loses_only_its_own_part(tmp_path):
    """onnxruntime is read in a child of its own, beside the torch child: its crash costs only its providers."""
    from envcheck.probes.torch_probe import read_torch_and_packages

    fake = tmp_path / "onnxruntime"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n")
    (tmp_path / "onnxruntime-1.20.0.dist-info").mkdir()
    (tmp_path / "onnxruntime-1.20.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: onnxruntime\nVersion: 1.20.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(FAKES)]), "FAKE_TORCH_SPEC": str(SPECS / "cpu_build.json")}
    torch, _, ort = read_torch_and_packages(sys.executable, timeout=60, env=env)
    assert torch.status == "ok" and torch.version == "2.13.0+cpu"
    assert ort.providers.code == "crashed" and "SIGABRT" in ort.providers.reason and "onnxruntime" in ort.providers.reason


def test_which_providers_load_is_tried_in_the_onnxruntime_child_without_torch(tmp_path, monkeypatch):
    """get_available_providers() names CUDA and TensorRT though neither loads: the onnxruntime child
    tries a session on each (the fake onnxruntime-gpu in tests/fakes/onnxruntime), where TensorRT's
    failure makes ORT print its fallback banner to stdout, and still answers in one line."""
    from tests.fakes import fake_ort

    trt, cuda = "TensorrtExecutionProvider", "CUDAExecutionProvider"
    fake_ort.install(monkeypatch, tmp_path, {"providers": [trt, cuda, "CPUExecutionProvider"], "raises": [trt],
                                             "load": {trt: "missing", cuda: "needs_preload"}})
    env = fake_env("cpu_build", fake_ort.FAKE, **{k: os.environ[k] for k in ("FAKE_ORT_SPEC", "FAKE_ORT_SITE")})
    _, _, ort = read_torch_and_packages(sys.executable, env=env, tensorrt=True)
    loads = {x.provider: x for x in ort.loads}
    assert loads[trt].loads is False and loads[trt].missing == ("libnvinfer.so.10",) and loads[trt].after_preload is None
    assert "Failed to load library libonnxruntime_providers_tensorrt.so" in loads[trt].error
    assert (loads[cuda].loads, loads[cuda].missing, loads[cuda].after_preload) == (False, ("libcublasLt.so.12",), True)
    assert not loads[cuda].torch_imported


def test_a_session_that_kills_the_interpreter_costs_only_the_providers_loads(tmp_path):
    site = tmp_path / "site"
    _dist_info(site, "onnxruntime-gpu", "1.22.0")
    (site / "onnxruntime").mkdir()
    (site / "onnxruntime" / "__init__.py").write_text(
        "import os, signal\n__version__ = '1.22.0'\n"
        "def get_available_providers():\n    return ['CUDAExecutionProvider', 'CPUExecutionProvider']\n"
        "class SessionOptions:\n    log_severity_level = 2\n"
        "def InferenceSession(*args, **kwargs):\n    os.kill(os.getpid(), signal.SIGABRT)\n"
    )
    _, _, ort = read_torch_and_packages(env=fake_env("cpu_build", site))
    assert ort.providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert ort.loads.code == "crashed" and "SIGABRT" in ort.loads.reason and "creating a session" in ort.loads.reason
