"""Every finding code from its check, on hand-built snapshots (the checks' seam)."""

from __future__ import annotations

import pytest

from envcheck.checks import run_all
from envcheck.checks.findings import exit_code
from envcheck.compat import Tables
from envcheck.snapshot.model import GpuInfo, GpuProcess, ProviderLoad
from envcheck.visible_devices import visible_gpus
from tests.snapshots import (
    OnnxRuntime,
    Torch,
    Unavailable,
    cpu_torch,
    cuda_torch,
    gpu,
    pkgs,
    snapshot,
)

T = Tables()


def codes(s, severity=None):
    return [f.code for f in run_all(s, T) if severity is None or f.severity == severity]


def one(s, code):
    found = [f for f in run_all(s, T) if f.code == code]
    assert len(found) == 1, [f.code for f in run_all(s, T)]
    return found[0]


def test_healthy_machine_has_no_warning_and_exits_0():
    s = snapshot(packages=pkgs(torchvision="0.17.1+cu121", torchaudio="2.2.1+cu121"))
    findings = run_all(s, T)
    assert [f for f in findings if f.severity in ("warn", "error")] == []
    assert exit_code(findings) == 0


def test_no_driver_on_a_machine_without_nvidia_is_calm():
    f = one(snapshot(driver=None, torch=cpu_torch("2.13.0+cpu"), on_pci=False), "no-driver")
    assert f.severity == "info" and "CPU" in f.summary


def test_no_driver_with_a_gpu_on_the_bus_is_an_error():
    f = one(snapshot(driver=Unavailable("driver_not_loaded", "NVIDIA driver is not loaded"), on_pci=True), "no-driver")
    assert f.severity == "error" and f.fix == "sudo modprobe nvidia"


def test_driver_library_mismatch():
    f = one(snapshot(driver=Unavailable("driver_library_mismatch", "kernel module and NVML differ")), "driver-library-mismatch")
    assert f.severity == "error" and f.fix == "sudo reboot"
    assert f.facts["kernel_module"] == "550.54.15"


def test_driver_too_old_for_the_torch_build_gets_an_install_fix():
    f = one(snapshot(driver="470.82.01", cuda_driver="11.4", torch=cuda_torch("2.2.1+cu121", "12.1")), "driver-too-old")
    assert f.severity == "error"
    assert f.fix and "cu118" in f.fix  # the newest build this driver can run


def test_minor_version_compatibility_is_not_an_error():
    f = one(snapshot(driver="535.104.05", torch=cuda_torch("2.6.0+cu126", "12.6")), "driver-too-old")
    assert f.severity == "info" and "minor-version compatibility" in f.summary


def test_cpu_only_build_on_a_gpu_machine():
    f = one(snapshot(torch=cpu_torch("2.1.0+cpu")), "cpu-only-build")
    assert f.severity == "error"
    assert f.fix.startswith("pip install torch==") and "download.pytorch.org/whl/cu" in f.fix


def test_arch_unsupported_uses_the_arch_list_torch_reports():
    s = snapshot(
        driver="570.133.07",
        gpus=(gpu(name="NVIDIA GeForce RTX 5090", cc="12.0"),),
        torch=cuda_torch("2.6.0+cu126", "12.6", cc="12.0"),
    )
    f = one(s, "arch-unsupported")
    assert "sm_120" in f.summary and f.severity == "error"
    assert "cu128" in f.fix


def test_ptx_covers_a_newer_gpu():
    s = snapshot(driver="570.133.07", gpus=(gpu(name="NVIDIA GeForce RTX 5090", cc="12.0"),),
                 torch=cuda_torch("2.6.0+cu126", "12.6", cc="12.0", arch=("sm_80", "sm_90", "compute_90")))
    assert "arch-unsupported" not in codes(s)


def test_cuda_unavailable_shows_torchs_reason():
    warning = "CUDA initialization: CUDA unknown error - this may be due to an incorrectly set up environment"
    f = one(snapshot(torch=cuda_torch(available=False, warnings=(warning,))), "cuda-unavailable")
    assert f.why == warning


def test_device_count_mismatch():
    s = snapshot(gpus=(gpu(0), gpu(1)), torch=cuda_torch(devices=1))
    assert one(s, "device-count-mismatch").severity == "warn"


def test_cuda_visible_devices_hiding_some_is_information_and_explains_counts():
    s = snapshot(gpus=tuple(gpu(i) for i in range(4)), torch=cuda_torch(devices=2), cuda_visible="0,2")
    f = one(s, "cuda-hidden")
    assert f.severity == "info" and "[0, 2]" in f.summary
    assert "device-count-mismatch" not in codes(s)


@pytest.mark.parametrize("value", ["0,9", "a,b", "1,1", "GPU-ffff"])
def test_cuda_visible_devices_malformed(value):
    s = snapshot(gpus=tuple(gpu(i) for i in range(4)), torch=cuda_torch(devices=1), cuda_visible=value)
    f = one(s, "cuda-hidden")
    assert f.severity == "error" and f.fix == "unset CUDA_VISIBLE_DEVICES"


def test_cuda_visible_devices_empty_hides_all():
    f = one(snapshot(torch=cuda_torch(available=False), cuda_visible=""), "cuda-hidden")
    assert f.severity == "warn"


def test_visible_gpus_follows_cuda_rules():
    assert visible_gpus("2,0", 4) == ([2, 0], "")
    assert visible_gpus("0,7,1", 4)[0] == [0]
    assert visible_gpus("GPU-0000000", 2, ("GPU-00000001-x", "GPU-00000002-y"))[1]  # ambiguous prefix
    assert visible_gpus("GPU-00000002", 2, ("GPU-00000001-x", "GPU-00000002-y")) == ([1], "")


_UUID = "GPU-dc0c8375-1111-4aaa-8bbb-0123456789ab"


# Each value as CUDA counted it under torch 2.11 on the lent H200 (driver 580, one GPU):
# benchmarks/RESULTS.md, "CUDA_VISIBLE_DEVICES on a real GPU".
@pytest.mark.parametrize("value,count", [
    ("0", 1), (_UUID, 1), (_UUID[:12], 1), ("0,0", 0), ("1,0", 0), ("0,1", 1), ("", 0), ("-1", 0), (" 0", 1), ("0 ", 1),
    ("0,foo", 1), ("foo", 0), (f"{_UUID},0", 1), (f"0,{_UUID}", 1), (_UUID[4:12], 0), (_UUID.upper().replace("GPU-", "GPU-"), 0),
    (_UUID.lower().replace("GPU-", "gpu-"), 0), ("MIG-12345678-1234-1234-1234-123456789abc", 0),
])
def test_visible_gpus_counts_what_cuda_counted_on_a_real_gpu(value, count):
    assert len(visible_gpus(value, 1, (_UUID,))[0]) == count


def _other_jobs_gpu(i):
    why = Unavailable("not_permitted", f"this process may not use GPU {i}")
    return GpuInfo(i, why, why, why, why, why)


def test_a_slurm_job_seeing_its_one_gpu_of_eight_is_no_device_count_mismatch():
    """NVML counts all eight; the cgroup lets CUDA open GPU 3 alone, and torch counts 1."""
    gpus = tuple(gpu(i) if i == 3 else _other_jobs_gpu(i) for i in range(8))
    assert "device-count-mismatch" not in codes(snapshot(gpus=gpus, torch=cuda_torch(devices=1)))
    assert "device-count-mismatch" in codes(snapshot(gpus=gpus, torch=cuda_torch(devices=2)))
    # Slurm's CUDA_VISIBLE_DEVICES=0 names the job's own first GPU, not NVML's GPU 0
    assert "cuda-hidden" not in codes(snapshot(gpus=gpus, torch=cuda_torch(devices=1), cuda_visible="0"))


def test_a_repeated_gpu_leaves_cuda_no_device_at_all():
    shown, problem = visible_gpus("1,0,1", 2)
    assert shown == [] and "twice" in problem and "no GPU at all" in problem


@pytest.mark.parametrize(
    "status,error,hint",
    [
        ("import_failed", "OSError: libcudnn.so.9: cannot open shared object file: No such file or directory", "CUDA library"),
        ("crashed", "killed by SIGABRT", ""),
        ("timeout", "import torch did not finish within 60 s", ""),
    ],
)
def test_torch_import_failed(status, error, hint):
    f = one(snapshot(torch=Torch(status, error=error)), "torch-import-failed")
    assert f.severity == "error" and hint in f.why


def test_ld_library_path_shadowing_is_named():
    s = snapshot(torch=Torch("import_failed", error="ImportError: libcudnn_cnn.so.9: undefined symbol"), ld_cuda=("/usr/local/cuda-11.8/lib64",))
    f = one(s, "torch-import-failed")
    assert "shadows" in f.why and f.fix == "unset LD_LIBRARY_PATH"


def test_torch_missing_gets_the_install_command():
    f = one(snapshot(torch=Torch("missing")), "torch-missing")
    assert f.fix and f.fix.startswith("pip install torch==")


def test_torchvision_version_mismatch():
    f = one(snapshot(packages=pkgs(torchvision="0.16.0+cu121")), "torchvision-mismatch")
    assert "0.17.1" in f.summary and f.fix.startswith("pip install torch==2.2.1 torchvision==0.17.1")


def test_torchvision_that_declares_the_installed_torch_is_no_mismatch():
    """torchvision 0.29.1 and 0.29.2 require torch>=2.14.0 in their metadata (compat/torch.toml [[companion]])."""
    for torch, vision in (("2.15.0+cu130", "0.29.1"), ("2.14.1+cu130", "0.29.2"), ("2.15.0+cu130", "0.29.2")):
        s = snapshot(torch=cuda_torch(torch, cuda="13.0"), packages=pkgs(torch=torch, torchvision=vision))
        assert "torchvision-mismatch" not in codes(s), (torch, vision)


def test_torchvision_pinned_to_an_older_torch_is_still_a_mismatch():
    """torchvision 0.29.0 pins torch==2.14.0: with torch 2.15.0 it is an error naming 0.29.2."""
    s = snapshot(torch=cuda_torch("2.15.0+cu130", cuda="13.0"), packages=pkgs(torch="2.15.0+cu130", torchvision="0.29.0"))
    f = one(s, "torchvision-mismatch")
    assert "0.29.2" in f.summary


def test_torchaudio_build_mismatch():
    f = one(snapshot(packages=pkgs(torchaudio="2.2.1+cu118")), "torchaudio-mismatch")
    assert f.severity == "error"


def test_python_unsupported():
    f = one(snapshot(python="3.13.0", torch=cuda_torch("2.2.1+cu121")), "python-unsupported")
    assert "3.13" in f.summary


def test_onnxruntime_conflict_and_no_gpu():
    ort = OnnxRuntime(("onnxruntime", "onnxruntime-gpu"), "1.18.0", ("CPUExecutionProvider",))
    s = snapshot(ort=ort)
    assert one(s, "onnxruntime-conflict").fix == "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"
    assert one(s, "onnxruntime-no-gpu").severity == "warn"


def test_onnxruntime_gpu_provider_present_is_fine():
    ort = OnnxRuntime(("onnxruntime-gpu",), "1.18.0", ("CUDAExecutionProvider", "CPUExecutionProvider"))
    assert not {"onnxruntime-conflict", "onnxruntime-no-gpu"} & set(codes(snapshot(ort=ort)))


CUDA_EP, TRT_EP = "CUDAExecutionProvider", "TensorrtExecutionProvider"
LISTED = (TRT_EP, CUDA_EP, "CPUExecutionProvider")  # what onnxruntime-gpu lists, libraries present or not
LIBRARY_MISSING = "Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file"


def _listed_but(version="1.22.0", **cuda):
    loads = (ProviderLoad(TRT_EP, None, note="not tried"), ProviderLoad(CUDA_EP, **cuda))
    return snapshot(ort=OnnxRuntime(("onnxruntime-gpu",), version, LISTED, loads))


def test_a_gpu_provider_that_is_listed_but_does_not_load_is_named_with_its_library():
    f = one(_listed_but(loads=False, error=LIBRARY_MISSING, missing=("libcublasLt.so.12",), after_preload=False), "onnxruntime-no-gpu")
    assert f.severity == "warn" and "CUDAExecutionProvider" in f.summary and "libcublasLt.so.12 not found" in f.summary
    assert f.fix == "pip install 'onnxruntime-gpu[cuda,cudnn]==1.22.0'" and f.why == LIBRARY_MISSING
    assert "onnxruntime.preload_dlls()" in f.fix_notes[0]


def test_a_provider_that_loads_after_preload_dlls_says_to_call_it():
    f = one(_listed_but(loads=False, missing=("libcublasLt.so.12",), after_preload=True), "onnxruntime-no-gpu")
    assert "only after onnxruntime.preload_dlls()" in f.summary and f.fix is None
    assert f.fix_notes[0].startswith("the libraries are installed but nothing loads them: call onnxruntime.preload_dlls()")


def test_an_onnxruntime_without_preload_dlls_is_told_to_upgrade():
    f = one(_listed_but(version="1.20.1", loads=False, missing=("libcudnn.so.9",)), "onnxruntime-no-gpu")
    assert f.fix == "pip install --upgrade 'onnxruntime-gpu[cuda,cudnn]'" and "1.20.1 has no preload_dlls()" in f.fix_notes[0]


def test_a_provider_that_fails_with_its_libraries_found_gets_ort_s_reason_not_a_reinstall():
    error = "CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version"
    f = one(_listed_but(loads=False, error=error, after_preload=False), "onnxruntime-no-gpu")
    assert f.fix is None and f.why == error and "no library was missing" in f.fix_notes[0]


@pytest.mark.parametrize("cuda", [{"loads": True}, {"loads": None, "note": "could not try"}], ids=["loads", "not-tried"])
def test_a_gpu_provider_that_loads_or_was_not_tried_is_no_finding(cuda):
    assert "onnxruntime-no-gpu" not in codes(_listed_but(**cuda))


def test_providers_whose_loading_crashed_the_probe_are_no_finding():
    ort = OnnxRuntime(("onnxruntime-gpu",), "1.22.0", LISTED, Unavailable("crashed", "creating a session ended the interpreter"))
    assert "onnxruntime-no-gpu" not in codes(snapshot(ort=ort))


def test_nvcc_mismatch():
    f = one(snapshot(nvcc="11.8"), "nvcc-mismatch")
    assert f.severity == "warn"
    assert one(snapshot(nvcc="12.4"), "nvcc-mismatch").severity == "info"
    assert "nvcc-mismatch" not in codes(snapshot(nvcc="12.1"))


def test_gpu_health():
    hot = gpu(2, temperature_c=89, clocks_event_reasons=("sw_thermal_slowdown", "hw_slowdown"),
              processes=(GpuProcess(4242, "python", 20480),), ecc_uncorrected_volatile=3, mig_mode=True)
    s = snapshot(gpus=(gpu(0, clocks_event_reasons=("gpu_idle",)), gpu(1), hot), torch=cuda_torch(devices=3))
    health = [f for f in run_all(s, T) if f.code == "gpu-health"]
    summaries = " | ".join(f.summary for f in health)
    assert "GPU 2" in summaries and "sw_thermal_slowdown" in summaries and "89 °C" in summaries
    assert "GPU 0" not in summaries  # idle is not a problem
    assert {f.severity for f in health} == {"warn", "error", "info"}


@pytest.mark.parametrize("reasons", [("sw_power_cap",), ("board_limit",), ("reliability_voltage", "sw_power_cap")])
def test_a_gpu_holding_its_power_limit_is_not_called_throttled(reasons):
    """An H200 under a bf16 matmul held 0x4 (sw_power_cap) at 690 of 700 W: the board's own limit,
    normal under load, not a cable or cooling fault."""
    s = snapshot(gpus=(gpu(0, name="NVIDIA H200", cc="9.0", clocks_event_reasons=reasons),), torch=cuda_torch(devices=1))
    f = one(s, "gpu-health")
    assert f.severity == "info" and "throttled" not in f.summary and "cables" not in f.why


@pytest.mark.parametrize("driver, bindings, warned", [
    ("580.159.04", "12.535.77", True),  # drivers from 535.98 on: the process list comes out scrambled
    ("535.104.05", "12.535.77", True),
    ("525.147.05", "12.535.77", True),  # before 535.43 as well
    ("535.54.03", "12.535.77", False),  # the one driver line this release reads right
    ("580.159.04", "12.535.108", False),
    ("580.159.04", None, False),  # not installed, or a pasted report that does not say
])
def test_nvidia_ml_py_that_scrambles_process_ids_is_named_with_its_fix(driver, bindings, warned):
    from dataclasses import replace

    s = snapshot(driver=driver)
    s = replace(s, driver=replace(s.driver, bindings_version=bindings))
    if not warned:
        assert "nvml-bindings-broken" not in codes(s)
        return
    f = one(s, "nvml-bindings-broken")
    assert f.severity == "warn" and f.fix == "pip install -U nvidia-ml-py"
    assert f.summary.startswith(f"nvidia-ml-py 12.535.77 reads the GPUs' processes wrongly with driver {driver}")


def test_mirror_information():
    s = snapshot()
    s = s.__class__(**{**s.__dict__, "python": s.python.__class__(**{**s.python.__dict__, "pip_index_url": "https://pypi.tuna.tsinghua.edu.cn/simple", "mirror": "tuna"})})
    assert "tuna" in one(s, "mirror").summary


def test_compat_table_stale():
    f = one(snapshot(torch=cuda_torch("2.99.0+cu132", "13.2"), driver="600.10", cuda_driver="13.4"), "compat-table-stale")
    assert f.severity == "info"


def test_exit_codes():
    assert exit_code(run_all(snapshot(torch=cpu_torch()), T)) == 2
    assert exit_code(run_all(snapshot(gpus=(gpu(0), gpu(1)), torch=cuda_torch(devices=1), packages=()), T)) == 1


# -- MIG: what a CUDA process enumerates (NVIDIA MIG User Guide, "CUDA Device Enumeration") --------


def _mig_box(machine, driver="535.104.05", mixed=False):
    from envcheck.probes.nvml import read_driver

    m = machine("a100_mig")
    m["driver_version"] = driver
    if mixed:  # GPU 0 out of MIG mode
        m["gpus"][0]["mig_mode"] = False
        del m["gpus"][0]["mig_devices"]
    return read_driver()


def _devices(value, info):
    from envcheck.visible_devices import cuda_devices

    shown, problem = cuda_devices(value, info.gpus, info.driver_version)
    return [(d.gpu, d.mig) for d in shown], problem


def test_before_r570_a_process_gets_the_first_mig_device_only(machine):
    info = _mig_box(machine)
    assert _devices(None, info) == ([(0, 0)], "")
    assert _devices("1", info) == ([(1, 0)], "")  # a GPU in MIG mode named whole: its first MIG device
    two = ",".join(d.uuid for d in (info.gpus[1].mig_devices[1], info.gpus[0].mig_devices[0]))
    assert _devices(two, info) == ([(1, 1)], "")


def test_before_r570_a_mig_device_hides_every_gpu_outside_mig(machine):
    info = _mig_box(machine, mixed=True)
    assert _devices(None, info) == ([(1, 0)], "")


def test_from_r570_one_device_per_gpu_instance_and_gpus_outside_mig_too(machine):
    info = _mig_box(machine, driver="570.124.06", mixed=True)
    assert _devices(None, info) == ([(0, None), (1, 0), (1, 1), (1, 2)], "")
    info = _mig_box(machine, driver="570.124.06")
    assert _devices(None, info)[0] == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]


def test_mig_devices_by_uuid_prefix_and_by_the_pre_r470_form(machine):
    info = _mig_box(machine, driver="570.124.06")
    d = info.gpus[1].mig_devices[2]
    assert _devices(d.uuid[:17], info) == ([(1, 2)], "")  # a unique prefix
    legacy = f"MIG-{info.gpus[0].uuid}/{info.gpus[0].mig_devices[1].gpu_instance_id}/0"
    assert _devices(legacy, info) == ([(0, 1)], "")
    shown, problem = _devices(f"{d.uuid},{d.uuid}", info)
    assert shown == [] and "twice" in problem
    shown, problem = _devices(f"{d.uuid},MIG-ffffffff", info)
    assert shown == [(1, 2)] and "matches no MIG device" in problem


def test_torch_counting_physical_gpus_on_a_mig_box_is_named_with_the_fix(machine):
    """Before R570 a CUDA process enumerates one MIG device while torch, through NVML, counts the
    two GPUs: cuda:1 fails (pytorch#130181). The fix names the MIG device."""
    info = _mig_box(machine)
    s = snapshot(driver=info.driver_version, gpus=info.gpus, torch=cuda_torch(devices=2))
    f = one(s, "device-count-mismatch")
    assert "1 MIG device" in f.summary and f.fix == f"export CUDA_VISIBLE_DEVICES={info.gpus[0].mig_devices[0].uuid}"
    assert "device-count-mismatch" not in codes(snapshot(driver=info.driver_version, gpus=info.gpus, torch=cuda_torch(devices=1)))


def test_a_mig_uuid_in_cuda_visible_devices_is_not_malformed(machine):
    info = _mig_box(machine)
    value = info.gpus[1].mig_devices[2].uuid
    s = snapshot(driver=info.driver_version, gpus=info.gpus, torch=cuda_torch(devices=1), cuda_visible=value)
    assert "cuda-hidden" not in codes(s) and "device-count-mismatch" not in codes(s)


def test_a_server_without_persistence_mode_is_told_why_each_program_starts_slowly():
    cold = (gpu(0, persistence_mode=False), gpu(1, persistence_mode=False))
    f = [x for x in run_all(snapshot(gpus=cold, torch=cuda_torch(devices=2)), T) if "persistence" in x.summary]
    assert len(f) == 1 and f[0].severity == "info" and f[0].fix == "sudo nvidia-smi -pm 1" and "GPUs 0, 1" in f[0].summary
    warm = (gpu(0, persistence_mode=True), gpu(1, persistence_mode=True))
    assert not [x for x in run_all(snapshot(gpus=warm, torch=cuda_torch(devices=2)), T) if "persistence" in x.summary]
    # one GPU (a laptop, a desktop with a display): not worth a line
    assert not [x for x in run_all(snapshot(gpus=cold[:1], torch=cuda_torch(devices=1)), T) if "persistence" in x.summary]
