"""The solver on described machines: each gets the build that really runs there."""

from __future__ import annotations

import pytest

from envcheck.compat import Tables
from envcheck.errors import UserError
from envcheck.install import Machine, Request, TargetGpu, solve

T = Tables()
RTX3090 = TargetGpu("NVIDIA GeForce RTX 3090", "8.6")
GTX1080TI = TargetGpu("NVIDIA GeForce GTX 1080 Ti", "6.1")
H100 = TargetGpu("NVIDIA H100 80GB HBM3", "9.0")
RTX5090 = TargetGpu("NVIDIA GeForce RTX 5090", "12.0")


def box(driver, *gpus, python="3.11", os="linux"):
    return Machine(os, "x86_64", python, driver=driver, gpus=tuple(gpus))


def newest_with(variant: str, python: str = "3.11") -> str:
    return next(r.torch for r in T.releases if variant in r.variants["linux"] and python in r.python["linux"])


def test_driver_470_rtx3090_gets_the_newest_cuda11_build_through_mvc():
    plan = solve(T, box("470.82.01", RTX3090), Request())
    assert plan.variant == "cu118"
    assert plan.torch == newest_with("cu118")
    assert any("minor-version compatibility" in n for n in plan.notes)
    assert any(n.startswith("a driver ≥") for n in plan.notes), "says which driver unlocks newer releases"


def test_driver_535_gtx1080ti_avoids_wheels_that_dropped_pascal():
    plan = solve(T, box("535.104.05", GTX1080TI), Request())
    assert plan.variant == "cu126"
    assert plan.torch == newest_with("cu126")
    dropped = [r for r in plan.rejected if "drops sm_61" in r.reason]
    assert dropped and {r.variant for r in dropped} >= {"cu130"}


def test_driver_580_h100_prefers_full_support_over_minor_version_compat():
    plan = solve(T, box("580.65.06", *[H100] * 8), Request())
    assert plan.torch == T.releases[0].torch
    assert plan.variant == "cu130"  # cu132 would need minor-version compatibility on 580.65.06
    assert not any("minor-version" in n for n in plan.notes)


def test_driver_570_rtx5090_needs_a_blackwell_build_the_driver_can_load():
    plan = solve(T, box("570.133.07", RTX5090), Request())
    assert plan.variant == "cu128"
    assert plan.torch == newest_with("cu128")
    reasons = {r.reason for r in plan.rejected}
    assert any("no kernels for sm_120" in x for x in reasons)
    assert any("too old for CUDA 13.0" in x for x in reasons)


def test_no_driver_gets_the_cpu_build():
    plan = solve(T, Machine("linux", "x86_64", "3.11", no_driver_reason="no NVIDIA driver found"), Request())
    assert plan.variant == "cpu"
    assert plan.torch == T.releases[0].torch
    assert "no NVIDIA driver" in plan.why


def test_gpu_no_build_can_run_falls_back_to_cpu_with_a_note():
    kepler = TargetGpu("Tesla K20", "3.5")
    plan = solve(T, box("470.82.01", kepler), Request())
    assert plan.variant == "cpu"
    assert any("no CUDA build of any torch release runs" in n for n in plan.notes)


def test_python_decides_the_release():
    plan = solve(T, box("535.104.05", RTX3090, python="3.8"), Request())
    assert plan.torch == "2.4.1"  # the last release with Python 3.8 wheels
    assert plan.variant == "cu121"  # full support on 535 (≥ 530.30.02) beats cu124 via MVC


def test_explicit_build_on_a_machine_it_cannot_run_warns_instead_of_refusing():
    plan = solve(T, box("470.82.01", RTX3090), Request(torch="2.2.1", cuda=(12, 1)))
    assert (plan.torch, plan.variant) == ("2.2.1", "cu121")
    assert any("too old for CUDA 12.1" in n for n in plan.notes)


def test_windows_cuda13_runs_through_minor_version_compatibility_only():
    """NVIDIA's table gives no Windows driver for full CUDA 13.x support (N/A), only the 13.x
    minor-version-compatibility branch (>= 580): a Windows plan says so instead of inventing a number."""
    plan = solve(T, box("581.57", H100, os="windows"), Request())
    assert plan.variant in ("cu130", "cu132")
    assert T.drivers.min_driver((13, 0), "windows") is None
    assert any("minor-version compatibility" in n for n in plan.notes)


@pytest.mark.parametrize(
    "request_,message",
    [
        (Request(torch="2.2.1", cuda=(11, 3)), "torch 2.2.1 has no cu113 build"),
        (Request(torch="1.12.1", python="3.13"), "no wheels for Python 3.13"),
        (Request(torch="9.9"), "newer than envcheck's tables"),
        (Request(torch="2.2.7"), "not a release: nearest are"),
        (Request(cuda=(10, 0)), "no torch release has a cu100 build"),
    ],
)
def test_impossible_requests_name_the_nearest_choices(request_, message):
    with pytest.raises(UserError, match=message):
        solve(T, Machine("linux", "x86_64", "3.11", local=False), request_)


def test_no_cu113_error_names_where_cu113_exists():
    with pytest.raises(UserError) as exc:
        solve(T, Machine("linux", "x86_64", "3.11", local=False), Request(torch="2.2.1", cuda=(11, 3)))
    assert "cu118, cu121" in str(exc.value) and "cu113 builds exist for torch" in str(exc.value)


def test_python_error_names_the_supported_versions():
    with pytest.raises(UserError) as exc:
        solve(T, Machine("linux", "x86_64", "3.11", local=False), Request(torch="1.12.1", python="3.13"))
    msg = str(exc.value)
    assert "3.7, 3.8, 3.9, 3.10" in msg and "oldest torch with Python 3.13 wheels" in msg


def test_macos_x86_64_stops_at_the_last_intel_release():
    plan = solve(T, Machine("macos", "x86_64", "3.11", no_driver_reason="macOS has no CUDA"), Request())
    assert plan.torch == T.releases.macos_x86_64_last
    assert plan.steps[0].argv[:2] == ("pip", "install")


# -- free-threaded CPython (PEP 703): its own wheels, cp313t / cp314t ------------------------------


def test_free_threaded_python_gets_a_release_with_free_threaded_wheels():
    plan = solve(T, Machine("linux", "x86_64", "3.13t", local=False), Request(python="3.13t", cpu=True))
    release = T.releases.get(plan.torch)
    assert "3.13t" in release.free_threaded["linux"]
    assert plan.torch == "2.12.0"  # 2.12.1 and later publish 3.14t only


def test_free_threaded_python_3_14t_gets_the_newest_release():
    plan = solve(T, Machine("linux", "x86_64", "3.14t", local=False), Request(python="3.14t", cuda=(13, 0)))
    assert plan.torch == T.releases[0].torch and plan.variant == "cu130"
    install = next(s for s in plan.steps if s.purpose == "install")
    assert install.argv[:3] == ("pip", "install", f"torch=={plan.torch}")


def test_free_threaded_python_before_its_first_wheels_is_an_error_naming_them():
    with pytest.raises(UserError) as exc:
        solve(T, Machine("linux", "x86_64", "3.11", local=False), Request(torch="2.6.0", python="3.13t"))
    msg = str(exc.value)
    assert "no wheels for Python 3.13t" in msg and "oldest torch with Python 3.13t wheels is 2.7.0" in msg


def test_free_threaded_python_in_a_new_environment_names_the_free_threaded_interpreter():
    plan = solve(T, Machine("linux", "x86_64", "3.11", local=False), Request(python="3.14t", cpu=True, env="ft"))
    assert ("python3.14t", "-m", "venv", "ft") in [s.argv for s in plan.steps]
    plan = solve(T, Machine("linux", "x86_64", "3.11", local=False), Request(python="3.14t", cpu=True, env="ft", manager="uv"))
    assert ("uv", "venv", "ft", "--python", "3.14t") in [s.argv for s in plan.steps]


# -- Linux aarch64 wheels carry their own GPU lists ---------------------------------------------

THOR = TargetGpu("NVIDIA Thor", "11.0")


def test_aarch64_wheels_have_kernels_for_thor_that_x86_64_wheels_lack():
    """CUDA 13 aarch64 wheels build sm_110 (RELEASE.md's aarch64 table); the x86_64 ones do not."""
    arm = solve(T, Machine("linux", "aarch64", "3.12", driver="580.65.06", gpus=(THOR,)), Request())
    assert arm.variant in ("cu130", "cu132") and not arm.notes
    x86 = solve(T, Machine("linux", "x86_64", "3.12", driver="580.65.06", gpus=(THOR,)), Request())
    assert x86.variant == "cpu" and "no CUDA build of any torch release runs on NVIDIA Thor" in x86.notes[0]


def test_aarch64_build_without_an_arch_row_says_so_instead_of_borrowing_x86_64s():
    plan = solve(T, Machine("linux", "aarch64", "3.12", driver="580.65.06", gpus=(H100,)), Request(torch="2.10.0"))
    assert plan.variant == "cu130"
    assert "envcheck's tables do not list the GPU architectures of torch 2.10.0 cu130" in plan.notes
