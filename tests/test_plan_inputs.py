"""What the plan takes in beyond the request: the installed stack, a machine the user only
described, a Python without wheels, and the one driver-support answer everything shares."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from envcheck.checks import run_all
from envcheck.cli.install_cmd import worded
from envcheck.compat import Tables, data_dir
from envcheck.install import CarrierLacksBuild, Machine, NoBuildFits, Request, TargetGpu, solve
from envcheck.snapshot.facts import Installed
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
    with pytest.raises(NoBuildFits) as exc:
        solve(T, box(), Request(torch="1.12.1", python="3.11"))
    assert exc.value.python_fits == "3.10" and "--python" not in str(exc.value)  # the CLI names its flags
    assert exc.value.rejected and all(r.kind == "python" for r in exc.value.rejected)


def test_explain_on_a_failure_prints_each_rejected_build(run_cli):
    code, out, err = run_cli("install-cmd", "--torch", "1.12.1", "--python", "3.11", "--explain")
    assert code == 2 and out == ""
    assert "cu113 (torch 1.12.1): no wheels for Python 3.11" in err
    assert err.strip().splitlines()[-1].startswith("envcheck: error: torch 1.12.1 has no wheels for Python 3.11")
    assert err.strip().endswith("; plan for Python 3.10 with --python 3.10 --env NAME (a new environment)")


def test_free_threaded_python_plans_a_free_threaded_build(run_cli):
    code, out, err = run_cli("install-cmd", "--python", "3.13t", "--cpu", "--os", "linux", "--arch", "x86_64")
    assert code == 0
    assert "for Python 3.13t on linux x86_64" in out
    assert "pip install torch==2.12.0 torchvision==0.27.0 --index-url https://download.pytorch.org/whl/cpu" in out


def test_a_python_version_that_is_not_one_is_a_one_line_error(run_cli):
    code, out, err = run_cli("install-cmd", "--python", "3.13x")
    assert code == 2 and out == ""
    assert err.strip() == "envcheck: error: --python '3.13x' is not a Python version: write it as 3.10 (or 3.13t for a free-threaded build)"


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
    assert T.drivers.support(cuda, "linux", driver, driver_cuda).level == level


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


# -- routing the torch wheels through a China copy of PyTorch's index -------------------------------


def tables_where(tmp_path, holds: dict[str, list[str]]) -> Tables:
    """The shipped tables, except that each named carrier's copy holds only these builds."""
    shutil.copytree(data_dir(), tmp_path / "compat")
    path = tmp_path / "compat" / "mirrors.toml"
    rows = path.read_text(encoding="utf-8").split("[[mirror]]")
    for name, variants in holds.items():
        i = next(i for i, row in enumerate(rows) if f'name = "{name}"' in row)
        listed = ", ".join(f'"{v}"' for v in variants)
        rows[i], n = re.subn(r"^(torch_wheels = \{.*) \}$", rf"\1, variants = [{listed}] }}", rows[i], flags=re.M)
        assert n == 1, name
    text = "[[mirror]]".join(rows)
    path.write_text(text, encoding="utf-8")
    return Tables(tmp_path / "compat")


def test_a_china_mirror_takes_the_first_copy_of_pytorchs_index_that_has_the_build(tmp_path):
    assert solve(T, box(), Request(mirror="tuna")).wheels_from == "sjtu"
    plan = solve(tables_where(tmp_path, {"sjtu": ["cu118"]}), box(), Request(mirror="tuna"))
    assert plan.wheels_from == "nju"
    assert install_line(plan).endswith("--index-url https://mirrors.nju.edu.cn/pytorch/whl/cu126 --extra-index-url https://pypi.tuna.tsinghua.edu.cn/simple")
    assert "nju comes first of the copies with cu126 builds in compat/mirrors.toml's order: sjtu, nju, aliyun" in plan.notes[0]


def test_no_copy_with_the_build_falls_back_to_pytorchs_index_and_says_so(tmp_path):
    t = tables_where(tmp_path, {"sjtu": ["cu118"], "nju": ["cu118"], "aliyun": ["cu118"]})
    plan = solve(t, box(), Request(mirror="tuna"))
    assert plan.wheels_from == "pytorch"
    assert install_line(plan) == ("pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126 "
                                  "--extra-index-url https://pypi.tuna.tsinghua.edu.cn/simple")
    assert plan.notes[0] == ("the cu126 wheels come from PyTorch's own index (tuna copies only the default index, and no copy of "
                             "PyTorch's index envcheck knows has cu126 builds); other packages from tuna")


def test_a_mirror_whose_own_copy_lacks_the_build_routes_through_another(tmp_path):
    plan = solve(tables_where(tmp_path, {"aliyun": ["cu118"]}), box(), Request(mirror="aliyun"))
    assert plan.wheels_from == "sjtu" and "aliyun has no cu126 builds in its copy of PyTorch's index" in plan.notes[0]
    assert install_line(plan).endswith("--extra-index-url https://mirrors.aliyun.com/pypi/simple/")


def test_torch_mirror_naming_a_copy_without_the_build_is_an_error(tmp_path):
    t = tables_where(tmp_path, {"aliyun": ["cu118"]})
    with pytest.raises(CarrierLacksBuild) as exc:
        solve(t, box(), Request(mirror="tuna", torch_mirror="aliyun"))
    assert (exc.value.carrier, exc.value.variant, exc.value.choices) == ("aliyun", "cu126", ("sjtu", "nju", "pytorch"))
    assert worded(exc.value) == ("--torch-mirror aliyun: its copy of PyTorch's index has no cu126 builds (compat/mirrors.toml): "
                                 "choose sjtu, nju, pytorch")


def test_the_default_index_build_needs_no_copy_of_pytorchs_index():
    plan = solve(T, box("580.65.06", H100), Request(mirror="tuna", torch="2.14.1", torch_mirror="aliyun"))
    assert plan.wheels_from == "default-index"
    assert install_line(plan) == "pip install torch==2.14.1 torchvision==0.29.1 --index-url https://pypi.tuna.tsinghua.edu.cn/simple"


def test_conda_keeps_its_channel_and_says_the_copies_serve_pip_and_uv_only():
    plan = solve(T, box(), Request(torch="2.3.1", cuda=(11, 8), manager="conda", mirror="tuna"))
    assert plan.wheels_from == "conda" and not plan.commands("mirror")[0].startswith("pip config")
    assert any("a copy of PyTorch's wheel index serves pip and uv only" in n for n in plan.notes)


def test_persist_with_uv_writes_no_config_and_says_so():
    plan = solve(T, box(), Request(manager="uv", mirror="tuna", persist=True))
    assert not plan.commands("mirror")
    assert "--persist: envcheck writes no uv.toml; each uv command names the mirror itself" in plan.notes


def test_a_free_threaded_interpreter_plans_its_own_wheels(run_cli, monkeypatch):
    """python3.13t says so in sys.abiflags; install-cmd then plans cp3XXt wheels without --python."""
    import sys

    from envcheck.probes import host

    monkeypatch.setattr(sys, "abiflags", "t", raising=False)
    assert host.read_host().python == f"{sys.version_info[0]}.{sys.version_info[1]}t"
    made = host.read_host

    def python_314t():  # the detection above, on a Python whose free-threaded wheels exist
        from dataclasses import replace

        return replace(made(), python="3.14t")

    monkeypatch.setattr(host, "read_host", python_314t)
    code, out, err = run_cli("install-cmd", "--cuda", "13.0", "--os", "linux", "--arch", "x86_64", "--env", "ft", "--json")
    assert code == 0, err
    assert json.loads(out)["python"] == "3.14t"


def test_doctor_names_a_free_threaded_interpreter_and_its_fix_plans_for_it():
    from dataclasses import replace

    from envcheck.checks.fixes import target_python
    from tests.snapshots import snapshot

    s = snapshot()
    ft = replace(s, python=replace(s.python, version="3.13.1", free_threaded=True))
    assert target_python(ft) == "3.13t" and target_python(replace(ft, python=replace(ft.python, free_threaded=False))) == "3.13"
