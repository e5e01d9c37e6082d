"""What the plan takes in beyond the request: the installed stack, a machine the user only
described, a Python without wheels, and the one driver-support answer everything shares."""

from __future__ import annotations

import pytest

from envcheck.checks import run_all
from envcheck.compat import Tables
from envcheck.facts import Installed
from envcheck.install import Machine, Request, SolveError, TargetGpu, solve
from tests.pythons import RUNNER
from tests.snapshots import cpu_torch, cuda_torch, gpu, pkgs, replace, snapshot

T = Tables()
GTX1080TI = TargetGpu("NVIDIA GeForce GTX 1080 Ti", "6.1")
H100 = TargetGpu("NVIDIA H100 80GB HBM3", "9.0")


def box(driver="535.104.05", *gpus, installed=Installed(), **kw):
    return Machine("linux", "x86_64", "3.11", driver=driver, gpus=gpus or (GTX1080TI,), installed=installed, **kw)


def install_line(plan) -> str:
    return plan.commands("install")[0]


# -- the installed stack ------------------------------------------------------------------------


def test_nothing_installed_gives_the_official_line():
    plan = solve(T, box(), Request())
    assert plan.commands("remove", "install") == ["pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126"]


@pytest.mark.parametrize("manager", ["pip", "uv"])
def test_a_cpu_build_of_the_same_release_is_replaced_by_pinning_the_local_label(manager):
    plan = solve(T, box(installed=Installed("2.14.1+cpu", "0.29.1+cpu", None, "pip")), Request(manager=manager))
    line = install_line(plan)
    assert "torch==2.14.1+cu126" in line and "torchvision==0.29.1+cu126" in line
    assert not plan.commands("remove")
    assert any("PEP 440" in n for n in plan.notes)


def test_an_older_release_needs_nothing_removed():
    plan = solve(T, box(installed=Installed("2.13.0+cpu", "0.28.0+cpu", None, "pip")), Request())
    assert plan.commands("remove", "install") == ["pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126"]


@pytest.mark.parametrize("manager, remove", [("pip", "pip uninstall -y torch torchvision"), ("uv", "uv pip uninstall torch torchvision")])
def test_the_default_index_build_from_a_mirror_removes_the_cpu_build_first(manager, remove):
    # H100 + driver 580: the default index's own build (cu130) is the one, so the TUNA mirror serves
    # it as plain 2.14.1, which no pin can tell from 2.14.1+cpu.
    machine = box("580.65.06", H100, installed=Installed("2.14.1+cpu", "0.29.1+cpu", None, "pip"))
    plan = solve(T, machine, Request(manager=manager, mirror="tuna", torch="2.14.1"))
    assert plan.variant == "cu130"
    assert plan.commands("remove") == [remove]
    assert "torch==2.14.1 " in install_line(plan) + " "


def test_the_same_build_installed_changes_nothing():
    machine = box("580.65.06", H100, installed=Installed("2.14.1", "0.29.1", None, "pip"))  # from the default index: cu130
    plan = solve(T, machine, Request(mirror="tuna", torch="2.14.1"))
    assert not plan.commands("remove") and "+" not in install_line(plan)


def test_a_torch_from_conda_is_removed_with_conda_before_pip():
    plan = solve(T, box(installed=Installed("2.4.1", "0.19.1", "2.4.1", "conda")), Request())
    assert plan.commands("remove") == ["conda remove -y pytorch torchvision torchaudio"]
    assert plan.commands("install")[0].startswith("pip install torch==2.14.1 ")


def test_a_torchaudio_with_no_release_for_the_planned_torch_is_removed():
    plan = solve(T, box(installed=Installed("2.11.0+cu126", "0.26.0+cu126", "2.11.0+cu126", "pip")), Request())
    assert plan.torchaudio is None
    assert plan.commands("remove") == ["pip uninstall -y torchaudio"]


def test_a_new_environment_ignores_what_is_installed():
    plan = solve(T, box(installed=Installed("2.14.1+cpu", "0.29.1+cpu", None, "pip")), Request(env="fresh"))
    assert not plan.commands("remove") and "+cu126" not in install_line(plan)


# -- what the user described -----------------------------------------------------------------


def test_a_driver_alone_plans_a_cuda_build():
    plan = solve(T, Machine("linux", "x86_64", "3.11", driver="560.94", described=True), Request())
    assert plan.variant == "cu126"


def test_a_gpu_alone_plans_its_best_cuda_build_and_names_the_driver():
    plan = solve(T, Machine("linux", "x86_64", "3.11", gpus=(TargetGpu("RTX 4060 Laptop GPU", "8.9"),), described=True), Request())
    assert plan.variant != "cpu" and plan.cuda
    assert any("needs an NVIDIA Linux driver ≥" in n for n in plan.notes)


def test_a_pascal_gpu_alone_gets_a_build_that_still_carries_sm_61():
    plan = solve(T, Machine("linux", "x86_64", "3.11", gpus=(GTX1080TI,), described=True), Request())
    assert plan.variant == "cu126" and plan.torch == "2.14.1"


# -- Python -----------------------------------------------------------------------------------


def test_a_python_without_wheels_gets_a_new_environment_with_one_that_has_them():
    plan = solve(T, box(), Request(torch="1.12.1"))
    assert plan.python == "3.10"
    assert plan.commands("env") == ["python3.10 -m venv torch-env", "source torch-env/bin/activate"]
    assert any("Python 3.11 has no wheels" in n for n in plan.notes)


@pytest.mark.parametrize("manager, create", [("uv", "uv venv torch-env --python 3.10"), ("conda", "conda create -n torch python=3.10 -y")])
def test_the_new_environment_is_made_by_the_chosen_manager(manager, create):
    plan = solve(T, box(), Request(torch="1.12.1", manager=manager))
    assert plan.commands("env")[0] == create


def test_an_explicit_python_without_wheels_is_an_error_that_lists_the_rejections():
    with pytest.raises(SolveError) as exc:
        solve(T, box(), Request(torch="1.12.1", python="3.11"))
    assert "--python 3.10" in str(exc.value)
    assert exc.value.rejected and all(r.kind == "python" for r in exc.value.rejected)


def test_explain_on_a_failure_prints_each_rejected_build(run_cli):
    code, out, err = run_cli("install-cmd", "--torch", "1.12.1", "--python", "3.11", "--explain")
    assert code == 2 and out == ""
    assert "cu113 (torch 1.12.1): no wheels for Python 3.11" in err
    assert err.strip().splitlines()[-1].startswith("envcheck: error: torch 1.12.1 has no wheels for Python 3.11")


# -- one answer to "can this driver run this CUDA build" ----------------------------------------


@pytest.mark.parametrize(
    "cuda, driver, driver_cuda, level",
    [
        ((12, 1), "535.104.05", None, "full"),
        ((12, 6), "535.104.05", None, "minor-version"),
        ((12, 6), "470.82.01", None, "none"),
        ((11, 8), "470.82.01", None, "minor-version"),
        ((12, 6), None, (12, 2), "minor-version"),
        ((12, 1), None, (12, 4), "full"),
        ((13, 0), None, (12, 8), "none"),
        ((12, 1), None, None, "unknown"),
    ],
)
def test_driver_support(cuda, driver, driver_cuda, level):
    assert T.driver_support(cuda, "linux", driver, driver_cuda).level == level


def test_checks_install_and_compat_agree_on_driver_support():
    from envcheck.compat_query import answer_driver

    answer = answer_driver(T, "535.104.05")
    assert "12.2" in answer.full and "12.6" not in answer.full
    plan = solve(T, box(), Request(cuda=(12, 6)))
    assert any("minor-version compatibility" in n for n in plan.notes)
    s = snapshot(driver="535.104.05", gpus=(gpu(cc="8.6"),), torch=cuda_torch("2.14.1+cu126", "12.6"))
    f = next(f for f in run_all(s, T) if f.code == "driver-too-old")
    assert f.severity == "info"


# -- doctor: one plan for the torch stack ---------------------------------------------------------


def stack_findings(s):
    return [f for f in run_all(s, T) if f.area in ("torch", "python") or f.code == "driver-too-old" and f.fix]


def test_doctor_keeps_the_users_release_and_offers_the_newest_beside_it():
    s = snapshot(gpus=(gpu(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1"),), torch=cpu_torch("2.13.0+cpu"),
                 packages=pkgs(torchvision="0.28.0+cpu"))
    f = next(f for f in run_all(s, T) if f.code == "cpu-only-build")
    assert f.fix == "pip install torch==2.13.0+cu126 torchvision==0.28.0+cu126 --index-url https://download.pytorch.org/whl/cu126"
    assert f.alternative == "pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126"
    assert f.verify and 'torch.version.cuda == "12.6"' in f.verify
    assert any("minor-version compatibility" in n for n in f.fix_notes), "the plan's notes travel with the fix"


def test_doctor_torch_and_torchvision_findings_share_one_fix():
    # A CPU torch and a torchvision from another release: both findings send the same way.
    s = snapshot(gpus=(gpu(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1"),), torch=cpu_torch("2.14.1+cpu"),
                 packages=pkgs(torchvision="0.28.0+cpu"))
    found = {f.code: f for f in run_all(s, T)}
    assert found["cpu-only-build"].fix == found["torchvision-mismatch"].fix
    assert "torch==2.14.1+cu126" in found["cpu-only-build"].fix


def test_doctor_fixes_a_companion_without_touching_a_torch_that_runs():
    s = snapshot(gpus=(gpu(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1"),), torch=cuda_torch("2.14.1+cu126", "12.6", cc="6.1"),
                 packages=pkgs(torchvision="0.28.0+cu126"))
    f = next(f for f in run_all(s, T) if f.code == "torchvision-mismatch")
    assert f.fix == "pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126"


def test_doctor_python_finding_and_its_fix_agree():
    # torch 2.15.0 has no wheels for Python 3.10: the fix is a release that has them, never 2.15.0.
    s = snapshot(driver=None, torch=cpu_torch("2.15.0+cpu"), python="3.10.14")
    found = {f.code: f for f in run_all(s, T)}
    assert found["python-unsupported"].fix == "pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu"


def test_doctor_on_a_conda_torch_removes_it_with_conda():
    t = replace(cpu_torch("2.14.1"), installer="conda")
    s = snapshot(gpus=(gpu(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1"),), torch=t)
    f = next(f for f in run_all(s, T) if f.code == "cpu-only-build")
    assert f.fix.startswith("conda remove -y pytorch && pip install torch==2.14.1 ")


# -- reading what is installed (install-cmd's probe) ----------------------------------------------


def test_read_installed_takes_the_first_copy_on_the_path_and_its_installer(tmp_path):
    from envcheck.probes.installed import read_installed

    first, second = tmp_path / "a", tmp_path / "b"
    for folder, name in ((first, "torch-2.14.1+cpu.dist-info"), (second, "torch-2.13.0.dist-info"),
                         (second, "torchvision-0.29.1+cpu.dist-info"), (first, "torchaudio-2.11.0-py3.11.egg-info")):
        (folder / name).mkdir(parents=True)
    (first / "torch-2.14.1+cpu.dist-info" / "INSTALLER").write_text("conda\n")
    got = read_installed([str(first), str(tmp_path / "missing"), str(second)])
    assert got == Installed("2.14.1+cpu", "0.29.1+cpu", "2.11.0", "conda")


def test_install_cmd_reads_this_environment(run_cli, monkeypatch):
    from envcheck.probes import installed as probe

    # the newest release with cu126 wheels for the Python running the tests, installed as its CPU build
    r = next(r for r in T.releases if RUNNER in r.python["linux"] and "cu126" in r.variants["linux"])
    monkeypatch.setattr(probe, "read_installed", lambda: Installed(f"{r.torch}+cpu", f"{r.torchvision}+cpu", None, "pip"))
    code, out, err = run_cli("install-cmd", "--driver", "535.104.05", "--gpu", "6.1", "--quiet")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("pip install torch=="))
    assert line.startswith(f"pip install torch=={r.torch}+cu126 torchvision=={r.torchvision}+cu126 ")  # the local pins replace +cpu
    assert line.endswith("--index-url https://download.pytorch.org/whl/cu126")


def test_a_torch_that_does_not_import_is_removed_before_its_own_build_goes_back():
    t = replace(cpu_torch("2.14.1+cu126"), status="import_failed", version=None, error="ImportError: libcudnn.so.9",
                dist_version="2.14.1+cu126")
    s = snapshot(gpus=(gpu(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1"),), torch=t)
    f = next(f for f in run_all(s, T) if f.code == "torch-import-failed")
    assert f.fix.startswith("pip uninstall -y torch && pip install torch==2.14.1 ")
    assert any("does not import" in n for n in f.fix_notes)
