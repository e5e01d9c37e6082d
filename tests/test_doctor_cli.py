"""`envcheck doctor` end to end: every finding code through the CLI, on a replayed machine (fake
NVML), with a fake torch in the real child process, a stand-in nvcc on PATH, and fake installed
packages (dist-info folders) where a check needs them."""

from __future__ import annotations

import ast
import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from tests.pythons import target_python

FAKES = Path(__file__).parent / "fakes" / "torch"
SPECS = Path(__file__).parent / "fixtures" / "torch"
EXPECTED = {
    "no-driver", "driver-library-mismatch", "driver-too-old", "cpu-only-build", "arch-unsupported",
    "cuda-hidden", "device-count-mismatch", "cuda-unavailable", "torch-import-failed", "torch-missing",
    "torchvision-mismatch", "torchaudio-mismatch", "python-unsupported", "onnxruntime-conflict",
    "onnxruntime-no-gpu", "nvcc-mismatch", "gpu-health", "mirror", "compat-table-stale", "library-shadowed",
    "nvml-bindings-broken", "torch-build-changed",
}


@pytest.fixture
def doctor(machine, run_cli, monkeypatch, tmp_path):
    """doctor(machine=..., torch=spec name or dict, nvcc="12.6", packages={...}, ort=[...], env={...},
    path=(more folders for the children's PYTHONPATH,))."""

    def run(machine_name, torch, nvcc=None, packages=None, ort=None, env=None, args=(), path=()):
        machine(machine_name)
        if isinstance(torch, dict):
            spec = tmp_path / "spec.json"
            spec.write_text(json.dumps(torch))
        else:
            spec = SPECS / f"{torch}.json"
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        for name, version in (packages or {}).items():
            info = site / f"{name.replace('-', '_')}-{version}.dist-info"  # the wheel spec's folder name
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        if ort is not None:
            (site / "onnxruntime").mkdir()
            (site / "onnxruntime" / "__init__.py").write_text(
                f"__version__ = '1.18.0'\ndef get_available_providers():\n    return {ort!r}\n"
            )
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        if nvcc:
            (bindir / "nvcc").write_text(f"#!/bin/sh\necho 'Cuda compilation tools, release {nvcc}, V{nvcc}.89'\n")
            (bindir / "nvcc").chmod(0o755)
        # The child interpreter runs without site-packages (-S): it sees the fakes on PYTHONPATH and
        # nothing the test runner happens to have installed (a real torch or onnxruntime). It is a
        # Python 3.11, the Python the torch specs describe, whichever Python runs the tests.
        isolated = bindir / "python-isolated"
        isolated.write_text(f'#!/bin/sh\nexec "{target_python()}" -S "$@"\n')
        isolated.chmod(0o755)
        if "--python" not in args:
            args = ("--python", str(isolated), *args)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}/bin")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(FAKES), *map(str, path)]))
        monkeypatch.setenv("FAKE_TORCH_SPEC", str(spec))
        for var in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "PIP_INDEX_URL", "CUDA_HOME", "CUDA_PATH"):
            monkeypatch.delenv(var, raising=False)
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        code, out, err = run_cli("doctor", "--json", *args)
        assert "Traceback" not in err, err
        return code, json.loads(out)

    return run


def findings(data, code):
    return [f for f in data["findings"] if f["code"] == code]


def test_healthy_h100_box_exits_0_without_warnings(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6")
    bad = [f for f in data["findings"] if f["severity"] in ("warn", "error")]
    assert bad == [] and code == 0
    torch = data["snapshot"]["torch"]
    assert torch["status"] == "ok" and torch["device_count"] == 8


def test_machine_without_nvidia_is_calm(doctor):
    code, data = doctor("no_driver", "cpu_build")
    assert findings(data, "no-driver")[0]["severity"] == "info"
    assert code == 0


def test_driver_library_mismatch(doctor):
    code, data = doctor("driver_mismatch", "cuda_h100x8")
    f = findings(data, "driver-library-mismatch")[0]
    assert f["fix"] == "sudo reboot" and code == 2


def test_driver_too_old_explains_cuda_unavailable(doctor):
    code, data = doctor("driver470_rtx3090", "cuda_unavailable")
    assert findings(data, "driver-too-old")[0]["severity"] == "error"
    assert not findings(data, "cuda-unavailable")  # already explained: no second error for one cause
    assert code == 2


def test_cuda_unavailable_for_another_reason_shows_torchs_words(doctor):
    spec = json.loads((SPECS / "cuda_unavailable.json").read_text())
    spec["warnings"] = ["CUDA initialization: CUDA unknown error - this may be due to an incorrectly set up environment, "
                        "e.g. changing env variable CUDA_VISIBLE_DEVICES after program start. Setting the available devices to be zero."]
    code, data = doctor("driver535_gtx1080ti", spec)
    f = findings(data, "cuda-unavailable")[0]
    assert "CUDA unknown error" in f["why"] and code == 2


def test_cpu_only_build_on_a_gpu_box(doctor):
    code, data = doctor("driver535_gtx1080ti", "cpu_build")
    f = findings(data, "cpu-only-build")[0]
    assert "whl/cu126" in f["fix"] and code == 2


def test_arch_unsupported(doctor):
    code, data = doctor("driver570_rtx5090", "arch_lacks_sm120", nvcc="12.6")
    f = findings(data, "arch-unsupported")[0]
    assert "sm_120" in f["summary"] and "cu128" in f["fix"]


def test_cuda_hidden_malformed(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6", env={"CUDA_VISIBLE_DEVICES": "0,9"})
    assert findings(data, "cuda-hidden")[0]["severity"] == "error"
    assert data["snapshot"]["torch"]["device_count"] == 1  # CUDA stopped at the bad entry, as the fake does


def test_cuda_hidden_subset_explains_torchs_count(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6", env={"CUDA_VISIBLE_DEVICES": "1,3"})
    assert findings(data, "cuda-hidden")[0]["severity"] == "info"
    assert not findings(data, "device-count-mismatch") and code == 0


def test_device_count_mismatch(doctor):
    spec = json.loads((SPECS / "rtx3090x4.json").read_text())
    spec["devices"] = spec["devices"][:2]
    code, data = doctor("rtx3090x4_throttled", spec, nvcc="12.1")
    assert findings(data, "device-count-mismatch")


def test_gpu_health_on_the_throttled_box(doctor):
    code, data = doctor("rtx3090x4_throttled", "rtx3090x4", nvcc="12.1")
    health = " | ".join(f["summary"] for f in findings(data, "gpu-health"))
    assert "GPU 2" in health and "thermal" in health and "in use by" in health
    assert code == 1


@pytest.mark.parametrize("spec,status", [("import_error_libcudnn", "import_failed"), ("abort", "crashed")])
def test_torch_import_failed(doctor, spec, status):
    code, data = doctor("driver535_gtx1080ti", spec)
    assert data["snapshot"]["torch"]["status"] == status
    assert findings(data, "torch-import-failed") and code == 2


def test_hanging_torch_costs_only_the_timeout(doctor):
    start = time.monotonic()
    code, data = doctor("driver535_gtx1080ti", "hang", args=("--timeout", "2"))
    assert time.monotonic() - start < 10
    assert data["snapshot"]["torch"]["status"] == "timeout" and findings(data, "torch-import-failed")


def test_torch_missing(doctor, tmp_path):
    code, data = doctor("driver535_gtx1080ti", {"mode": "missing"})
    f = findings(data, "torch-missing")[0]
    python = str(tmp_path / "bin" / "python-isolated")  # the --python the fixture inspects, not the one running envcheck
    assert f["fix"].startswith(f"{python} -m pip install torch==")


def test_a_fix_for_another_interpreter_names_it_quoted(doctor, tmp_path):
    """A bare `pip install` installs into whichever pip is first on PATH, not the environment doctor
    looked at: the fix and its check run that interpreter, quoted for the shell."""
    other = tmp_path / "my env" / "bin"
    other.mkdir(parents=True)
    python = other / "python"
    python.write_text(f'#!/bin/sh\nexec "{target_python()}" -S "$@"\n')
    python.chmod(0o755)
    code, data = doctor("driver535_gtx1080ti", {"mode": "missing"}, args=("--python", str(python)))
    f = findings(data, "torch-missing")[0]
    assert f["fix"].startswith(f"'{python}' -m pip install torch==")
    assert f["verify"].startswith(f"'{python}' -c ")


def test_torchvision_and_torchaudio_mismatch(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6", packages={"torchvision": "0.21.0+cu126", "torchaudio": "2.7.1+cu118"})
    assert "0.22.1" in findings(data, "torchvision-mismatch")[0]["summary"]
    assert findings(data, "torchaudio-mismatch")


def test_python_unsupported(doctor):
    spec = json.loads((SPECS / "rtx3090x4.json").read_text())
    spec["version"], spec["cuda"] = "1.12.1+cu113", "11.3"
    code, data = doctor("rtx3090x4_throttled", spec, nvcc="11.3")
    if sys.version_info[:2] <= (3, 10):
        pytest.skip("torch 1.12.1 supports this Python")
    assert findings(data, "python-unsupported")


def test_a_cuda_provider_that_is_listed_but_cannot_load_is_found(doctor, monkeypatch, tmp_path):
    """onnxruntime-gpu lists CUDA and TensorRT whether or not their libraries are installed; the
    fake here (tests/fakes/onnxruntime) cannot load either, as on a machine without CUDA 12."""
    from tests.fakes import fake_ort

    trt, cuda, cpu = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
    fake_ort.install(monkeypatch, tmp_path, {"version": "1.22.0", "providers": [trt, cuda, cpu], "load": {trt: "missing", cuda: "missing"},
                                             "raises": [trt]})
    isolated = tmp_path / "python-isolated"  # this Python: the fake wraps its own onnxruntime build
    isolated.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    isolated.chmod(0o755)
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6", packages={"onnxruntime-gpu": "1.22.0"},
                        args=("--python", str(isolated)), path=(fake_ort.FAKE,))
    f = findings(data, "onnxruntime-no-gpu")[0]
    assert code == 1 and f["severity"] == "warn"
    assert f["summary"] == ("ONNX Runtime lists CUDAExecutionProvider but cannot load it (libcublasLt.so.12 not found): "
                            "every session runs on the CPU")
    assert f["fix"] == f"{isolated} -m pip install 'onnxruntime-gpu[cuda,cudnn]==1.22.0'"  # the --python inspected
    loads = {x["provider"]: x for x in data["snapshot"]["onnxruntime"]["loads"]}
    assert loads[cuda]["loads"] is False and loads[cuda]["after_preload"] is False and loads[trt]["loads"] is None


def test_onnxruntime_conflict_and_no_gpu(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6",
                        packages={"onnxruntime": "1.18.0", "onnxruntime-gpu": "1.18.0"}, ort=["CPUExecutionProvider"])
    assert findings(data, "onnxruntime-conflict") and findings(data, "onnxruntime-no-gpu")


def test_nvcc_mismatch(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="11.8")
    assert findings(data, "nvcc-mismatch")[0]["severity"] == "warn"


def test_mirror_is_reported(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6", env={"PIP_INDEX_URL": "https://pypi.tuna.tsinghua.edu.cn/simple"})
    assert "tuna" in findings(data, "mirror")[0]["summary"]


def test_compat_table_stale(doctor):
    spec = json.loads((SPECS / "cuda_h100x8.json").read_text())
    spec["version"] = "2.99.0+cu126"
    code, data = doctor("driver580_h100x8", spec, nvcc="12.6")
    assert findings(data, "compat-table-stale")


def test_text_report_groups_facts_and_fixes(machine, run_cli, monkeypatch):
    machine("driver535_gtx1080ti")
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(SPECS / "cpu_build.json"))
    python = target_python()
    code, out, err = run_cli("doctor", "--python", python)  # the plan is for its Python
    assert code == 2
    # another interpreter than the one running envcheck (the CI's 3.9 and 3.13 passes): the fixes name it
    other = os.path.abspath(python) != os.path.abspath(sys.executable)
    pip, py = (f"{shlex.quote(python)} -m pip", shlex.quote(python)) if other else ("pip", "python")
    for title in ("System", "Python", "Driver & GPUs", "CUDA toolkit", "PyTorch", "ONNX Runtime"):
        assert f"\n{title}\n" in f"\n{out}"
    assert "✗ error cpu-only-build" in out and f"fix: {pip} install torch==" in out
    # torch 2.13.0+cpu: the fix keeps the release, names the newest beside it and says how to check.
    assert f"fix: {pip} install torch==2.13.0+cu126 torchvision==0.28.0+cu126 --index-url https://download.pytorch.org/whl/cu126" in out
    assert f"      or: {pip} install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126" in out
    assert f"      check: {py} -c " in out and "minor-version compatibility" in out
    assert "the three CUDA versions: driver supports ≤ 12.2" in out


def test_markdown_leaves_out_uuids_and_host_name(machine, run_cli, monkeypatch):
    import socket

    machine("driver580_h100x8")
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(SPECS / "cuda_h100x8.json"))
    code, out, _ = run_cli("doctor", "--format", "markdown")
    assert "GPU-" not in out and socket.gethostname() not in out and "## envcheck doctor" in out
    code, out, _ = run_cli("doctor", "--format", "markdown", "--no-redact")
    assert "GPU-" in out


def test_save_round_trips(machine, run_cli, monkeypatch, tmp_path):
    from envcheck.snapshot.json_io import dump, load

    machine("rtx3090x4_throttled")
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(SPECS / "rtx3090x4.json"))
    path = tmp_path / "snap.json"
    code, out, _ = run_cli("doctor", "--save", str(path), "--json")
    saved = json.loads(path.read_text())
    snap = load(saved)
    assert dump(snap) == saved == json.loads(out)["snapshot"]
    assert snap.driver.gpus[2].clocks_event_reasons and snap.torch.devices[0].capability == "8.6"


def test_save_says_where_and_the_report_read_back_names_its_file_and_time(machine, run_cli, tmp_path):
    machine("no_driver")
    path = tmp_path / "snap.json"
    code, out, err = run_cli("doctor", "--no-torch", "--save", str(path))
    assert f"saved the snapshot to {path}" in err and f"envcheck doctor --from {path}" in err
    taken = json.loads(path.read_text())["taken_at"]
    assert time.strptime(taken, "%Y-%m-%dT%H:%M:%SZ")
    code, out, _ = run_cli("doctor", "--from", str(path))
    assert out.splitlines()[0] == f"Report read from {path} (snapshot taken {taken[:10]} {taken[11:16]} UTC)"
    _, md, _ = run_cli("doctor", "--from", str(path), "--format", "markdown")
    assert f"Report read from {path}" in md
    _, live, _ = run_cli("doctor", "--no-torch")
    assert not live.startswith("Report read from")


def _venv(where: Path) -> Path:
    """A second venv on the interpreter running the tests: its python is a symlink to the same base file."""
    import venv

    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(where)
    return where


@pytest.mark.parametrize("form", ["path", "directory", "command"])
def test_python_names_another_venv_on_the_same_base(machine, run_cli, monkeypatch, tmp_path, form):
    machine("no_driver")
    env = _venv(tmp_path / "other")
    bindir = env / ("Scripts" if os.name == "nt" else "bin")
    arg = {"path": str(bindir / "python"), "directory": str(env), "command": "python3"}[form]
    if form == "command":
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    code, out, err = run_cli("doctor", "--no-torch", "--python", arg, "--json")
    py = json.loads(out)["snapshot"]["python"]
    assert py["venv"] == str(env) and py["executable"].startswith(str(bindir)), (py, err)


def test_nvidia_ml_py_that_scrambles_process_ids_is_named(machine, run_cli, monkeypatch, tmp_path):
    """The nvidia-ml-py envcheck itself imports (its dist-info first on sys.path) is 12.535.77, on a
    driver 580 box: a warning with the upgrade as its fix."""
    machine("driver580_h100x8")
    (tmp_path / "nvidia_ml_py-12.535.77.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, err = run_cli("doctor", "--no-torch", "--json")
    data = json.loads(out)
    f = findings(data, "nvml-bindings-broken")[0]
    assert f["severity"] == "warn" and f["fix"] == "pip install -U nvidia-ml-py" and "driver 580.65.06" in f["summary"]
    assert data["snapshot"]["driver"]["bindings_version"] == "12.535.77" and code == 1


def test_no_torch_skips_the_child(machine, run_cli):
    machine("no_driver")
    code, out, _ = run_cli("doctor", "--no-torch", "--json")
    assert json.loads(out)["snapshot"]["torch"] == {"unavailable": "skipped", "reason": "--no-torch"}


@pytest.mark.parametrize("args,needle", [(["--python", "/nonexistent/python3"], "no such file"), (["--python", "no-such-python9"], "no such command on PATH"),
                                         (["--python", "/proc"], "no Python interpreter in it"), (["--timeout", "0"], "above 0"),
                                         (["--save", "/nonexistent/dir/x.json", "--no-torch"], "--save")])
def test_bad_doctor_input_is_one_line(machine, run_cli, args, needle):
    machine("no_driver")
    code, out, err = run_cli("doctor", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_cudnn_shadowed_through_ld_library_path_is_caught(doctor, tmp_path):
    shadow = tmp_path / "cuda-11.8" / "lib64"
    shadow.mkdir(parents=True)
    lib = shadow / "libcudnn.so.8"
    lib.write_bytes(b"\0" * 4096)
    spec = json.loads((SPECS / "cuda_h100x8.json").read_text())
    spec["map_files"] = [str(lib)]
    code, data = doctor("driver580_h100x8", spec, nvcc="12.6", env={"LD_LIBRARY_PATH": str(shadow)})
    f = findings(data, "library-shadowed")[0]
    assert str(lib) in f["summary"] and f["fix"] == "unset LD_LIBRARY_PATH" and code == 1


def test_pip_check_when_asked(machine, run_cli, tmp_path):
    machine("no_driver")
    code, out, _ = run_cli("doctor", "--no-torch", "--pip-check", "--json")
    check = json.loads(out)["snapshot"]["python"]["pip_check"]
    assert isinstance(check, list)  # [] when nothing is broken, else pip's lines
    code, out, _ = run_cli("doctor", "--no-torch", "--json")
    assert json.loads(out)["snapshot"]["python"]["pip_check"] is None


def test_mig_a100_is_named(doctor):
    spec = json.loads((SPECS / "cuda_h100x8.json").read_text())
    spec["devices"] = [{"name": "NVIDIA A100-SXM4-80GB MIG 3g.40gb", "capability": [8, 0]}]
    spec["visible_from_env"] = False
    code, data = doctor("a100_mig", spec, nvcc="12.6")
    assert any("MIG enabled" in f["summary"] for f in findings(data, "gpu-health"))


def test_laptop_gpu_report(doctor):
    spec = json.loads((SPECS / "cuda_h100x8.json").read_text())
    spec["devices"] = [{"name": "NVIDIA GeForce RTX 4060 Laptop GPU", "capability": [8, 9]}]
    spec["visible_from_env"] = False
    code, data = doctor("laptop_rtx4060", spec, nvcc="12.6")
    gpu = data["snapshot"]["driver"]["gpus"][0]
    assert gpu["name"] == "NVIDIA GeForce RTX 4060 Laptop GPU" and gpu["compute_capability"] == "8.9"
    assert not [f for f in data["findings"] if f["severity"] == "error"]


OLD_PYTHON = next(iter(sorted(Path("/root/.pyenv/versions").glob("3.8*/bin/python"))), None) if Path("/root/.pyenv/versions").is_dir() else None


@pytest.mark.skipif(OLD_PYTHON is None, reason="no Python 3.8 interpreter on this machine")
def test_another_interpreter_with_old_python(doctor):
    """--python PATH: an old env (Python 3.8, torch 1.12) is probed by its own interpreter."""
    spec = json.loads((SPECS / "rtx3090x4.json").read_text())
    spec["version"], spec["cuda"] = "1.12.1+cu113", "11.3"
    code, data = doctor("rtx3090x4_throttled", spec, nvcc="11.3", args=("--python", str(OLD_PYTHON)))
    assert data["snapshot"]["python"]["version"].startswith("3.8")
    assert data["snapshot"]["torch"]["status"] == "ok" and data["snapshot"]["torch"]["version"] == "1.12.1+cu113"
    assert not findings(data, "python-unsupported")


def test_every_finding_code_has_an_end_to_end_test():
    """Each code is asserted present, `findings(data, code)` outside a `not`, by a test of this module
    that runs the CLI; read from the source, so the answer does not depend on which tests ran."""
    tests = [f for f in ast.parse(Path(__file__).read_text()).body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    negated = {id(n.operand) for t in tests for n in ast.walk(t) if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not)}
    asserted = {
        node.args[1].value
        for test in tests
        for node in ast.walk(test)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "findings" and id(node) not in negated
        and len(node.args) == 2 and isinstance(node.args[1], ast.Constant)
    }
    assert EXPECTED - asserted == set(), f"no end-to-end test asserts: {sorted(EXPECTED - asserted)}"


def test_another_free_threaded_interpreter_is_named_so(machine, run_cli, tmp_path):
    machine("no_driver")
    fake = tmp_path / "python3.13t"
    facts = {"version": "3.13.1", "executable": str(fake), "prefix": str(tmp_path), "base_prefix": str(tmp_path),
             "conda_env": None, "free_threaded": True}
    fake.write_text(f"#!/bin/sh\necho '{json.dumps(facts)}'\n")
    fake.chmod(0o755)
    code, out, err = run_cli("doctor", "--no-torch", "--python", str(fake), "--json")
    assert json.loads(out)["snapshot"]["python"]["free_threaded"] is True, err
    code, out, err = run_cli("doctor", "--no-torch", "--python", str(fake))
    assert "Python 3.13.1 (free-threaded)" in out


def test_mig_devices_are_listed_saved_and_read_back_and_left_out_of_markdown(machine, run_cli, tmp_path):
    from envcheck.snapshot.json_io import load

    machine("a100_mig")
    code, out, _ = run_cli("doctor", "--no-torch")
    assert "MIG device 2  NVIDIA A100-SXM4-80GB MIG 1g.10gb  14 SMs  10 GiB  MIG-00000001-0002" in out
    _, md, _ = run_cli("doctor", "--no-torch", "--format", "markdown")
    assert "MIG device 2" in md and "MIG-0000" not in md
    path = tmp_path / "snap.json"
    run_cli("doctor", "--no-torch", "--save", str(path))
    snap = load(json.loads(path.read_text()))
    assert [d.sm_count for d in snap.driver.gpus[1].mig_devices] == [56, 28, 14]
    assert snap.driver.gpus[0].mig_devices[0].processes[0].pid == 39123


def test_a_cuda_build_replaced_by_a_cpu_build_since_the_last_healthy_run(doctor):
    code, data = doctor("driver580_h100x8", "cuda_h100x8", nvcc="12.6")  # healthy: remembered
    assert code == 0
    code, data = doctor("driver580_h100x8", "cpu_build")
    f = findings(data, "torch-build-changed")[0]
    assert f["severity"] == "error" and f["facts"]["before"] == "2.7.1+cu126"
    assert "install torch==2.7.1 " in f["fix"] and "whl/cu126 && envcheck pin --python " in f["fix"]
