"""The real NVML adapter against replayed machines."""

from __future__ import annotations

import time

import pytest

from envcheck.probes.nvml import CLOCKS_EVENT_REASONS, read_driver
from envcheck.snapshot.model import GpuProcess, Unavailable, jsonable


def test_reads_driver_and_every_gpu(machine):
    machine("driver580_h100x8")
    info = read_driver()
    assert info.driver_version == "580.65.06"
    assert info.cuda_driver_version == "13.0"
    assert len(info.gpus) == 8
    assert {g.name for g in info.gpus} == {"NVIDIA H100 80GB HBM3"}
    assert [g.index for g in info.gpus] == list(range(8))
    assert info.gpus[3].pci_bus_id == "00000000:5D:00.0"
    assert info.gpus[0].compute_capability == "9.0"
    assert info.gpus[0].memory_total_mib == 81559


def test_old_nvidia_ml_py_with_bytes_and_without_versioned_functions(machine):
    machine("old_pynvml_bytes")
    info = read_driver()
    assert info.driver_version == "535.104.05"
    assert info.cuda_driver_version == "12.2"  # fell back to the unversioned function
    gpu = info.gpus[0]
    assert gpu.name == "NVIDIA GeForce GTX 1080 Ti" and isinstance(gpu.name, str)
    assert gpu.pci_bus_id == "00000000:02:00.0"


def test_no_driver_is_a_reason_not_an_exception(machine):
    machine("no_driver")
    info = read_driver()
    assert isinstance(info.driver_version, Unavailable)
    assert info.driver_version.code == "library_not_found"
    assert not info.nvidia_on_pci


def test_gpu_on_bus_without_driver(machine):
    machine("gpu_without_driver")
    info = read_driver()
    assert info.driver_version.code == "driver_not_loaded"
    assert info.nvidia_on_pci


def test_one_unsupported_field_spoils_nothing_else(machine, monkeypatch):
    m = machine("driver470_rtx3090")
    m["gpus"][0]["errors"] = {"nvmlDeviceGetMemoryInfo": "NVML_ERROR_NOT_SUPPORTED"}
    info = read_driver()
    gpu = info.gpus[0]
    assert gpu.memory_total_mib == Unavailable("not_supported", "not supported by this GPU or driver")
    assert gpu.name == "NVIDIA GeForce RTX 3090" and gpu.compute_capability == "8.6"


def test_wedged_driver_costs_only_the_timeout(machine):
    machine("wedged_driver")
    start = time.monotonic()
    info = read_driver(timeout=0.3)
    assert time.monotonic() - start < 2
    assert info.driver_version.code == "timeout"


def test_snapshot_json_marks_missing_fields(machine):
    machine("no_driver")
    d = jsonable(read_driver())
    assert d["driver_version"] == {"unavailable": "library_not_found", "reason": d["driver_version"]["reason"]}


def test_library_search_follows_ld_library_path(tmp_path, monkeypatch):
    from envcheck.probes import nvml

    monkeypatch.setattr(nvml, "_DEFAULT_DIRS", ())
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    (tmp_path / "libnvidia-ml.so.1").write_bytes(b"")
    assert nvml.nvml_library_present()


def test_no_library_anywhere_means_no_driver_without_importing_pynvml(monkeypatch):
    import builtins

    from envcheck.probes import nvml

    monkeypatch.setattr(nvml, "nvml_library_present", lambda: False)
    monkeypatch.setattr(nvml, "nvidia_on_pci", lambda: False)
    real_import = builtins.__import__

    def guard(name, *args, **kwargs):
        assert name != "pynvml", "pynvml imported although NVML cannot load"
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guard)
    info = nvml._read()
    assert info.driver_version.code == "library_not_found"


# -- health fields -------------------------------------------------------------------------------


def test_throttled_card_reasons_decode_to_names(machine):
    machine("rtx3090x4_throttled")
    info = read_driver()
    hot = info.gpus[2]
    assert hot.temperature_c == 89
    assert hot.clocks_event_reasons == ("hw_slowdown", "sw_thermal_slowdown")
    assert hot.power_draw_w == 251.33 and hot.power_limit_w == 350.0  # NVML answers in milliwatts
    assert [g.clocks_event_reasons for g in info.gpus if g.index != 2] == [("gpu_idle",)] * 3
    assert info.gpus[0].pcie_link == "Gen1 x16" and hot.pcie_link == "Gen4 x16"
    assert all(g.persistence_mode is True for g in info.gpus)


def test_processes_are_listed_with_name_and_memory(machine):
    machine("rtx3090x4_throttled")
    gpus = read_driver().gpus
    assert gpus[1].processes == (GpuProcess(48213, "/home/shared/miniconda3/envs/llm/bin/python", 20480),)
    assert gpus[0].processes == ()
    assert [p.pid for p in gpus[2].processes] == [51877]


def test_unreadable_process_name_is_empty_not_an_error(machine):
    machine("laptop_rtx4060")
    gpu = read_driver().gpus[0]
    assert gpu.processes == (GpuProcess(2411, "", 4),)


def test_geforce_without_ecc_or_mig_is_unavailable_not_an_error(machine):
    machine("laptop_rtx4060")
    gpu = read_driver().gpus[0]
    assert gpu.ecc_uncorrected_volatile == Unavailable("not_supported", "not supported by this GPU or driver")
    assert gpu.mig_mode.code == "not_supported"
    # everything else on the card still reads
    assert gpu.name == "NVIDIA GeForce RTX 4060 Laptop GPU" and gpu.compute_capability == "8.9"
    assert gpu.power_limit_w == 60.0 and gpu.temperature_c == 44
    assert gpu.clocks_event_reasons == ("gpu_idle",)  # recorded as the raw mask 0x1
    assert gpu.persistence_mode is False and gpu.pcie_link == "Gen4 x8"


def test_mig_mode_and_ecc_on_a100(machine):
    machine("a100_mig")
    info = read_driver()
    assert [g.mig_mode for g in info.gpus] == [True, True]
    assert [g.ecc_uncorrected_volatile for g in info.gpus] == [0, 0]
    assert info.gpus[0].name == "NVIDIA A100-SXM4-80GB" and info.gpus[0].power_limit_w == 400.0


def test_mig_mode_reads_the_current_not_the_pending_mode(machine):
    m = machine("a100_mig")
    m["gpus"][0]["mig_mode"] = [0, 1]  # enabled at the next GPU reset, not yet
    assert read_driver().gpus[0].mig_mode is False


def test_healthy_h100_box(machine):
    machine("driver580_h100x8")
    info = read_driver()
    assert info.kernel_module_version == "580.65.06" == info.driver_version  # open-module /proc format
    for gpu in info.gpus:
        assert gpu.clocks_event_reasons == ("gpu_idle",)
        assert gpu.ecc_uncorrected_volatile == 0 and gpu.mig_mode is False and gpu.persistence_mode is True
        assert gpu.processes == () and gpu.pcie_link == "Gen5 x16"
        assert gpu.power_limit_w == 700.0 and gpu.temperature_c < 40


def test_unknown_reason_bits_are_kept():
    from envcheck.probes.nvml import decode_clocks_event_reasons

    assert decode_clocks_event_reasons(0) == ()
    assert decode_clocks_event_reasons(0x28) == ("hw_slowdown", "sw_thermal_slowdown")
    assert decode_clocks_event_reasons(0x7FF) == tuple(name for _, name in CLOCKS_EVENT_REASONS)
    assert decode_clocks_event_reasons(0x800 | 0x4) == ("sw_power_cap", "unknown_0x800")


def test_board_limit_and_reliability_bits_have_names():
    """nvidia-ml-py 13.615 defines 0x200 and 0x400 (as ClocksThrottleReason constants only)."""
    from envcheck.probes.nvml import decode_clocks_event_reasons

    assert decode_clocks_event_reasons(0x200 | 0x400) == ("board_limit", "reliability_voltage")


def test_reason_bits_agree_with_pynvml():
    import pynvml

    from tests.fakes.fake_nvml import reason_mask

    throttle_only = {"board_limit": "BoardLimit", "reliability_voltage": "Reliability"}  # no ClocksEvent names yet
    for bit, name in CLOCKS_EVENT_REASONS:
        assert reason_mask([name]) == bit, name
        if name in throttle_only:
            assert getattr(pynvml, f"nvmlClocksThrottleReason{throttle_only[name]}") == bit, name
            continue
        suffix = "".join(part.capitalize() for part in name.split("_"))  # sw_power_cap -> SwPowerCap
        assert getattr(pynvml, f"nvmlClocksEventReason{suffix}") == bit, name
        assert getattr(pynvml, f"nvmlClocksThrottleReason{suffix}") == bit, name


def test_one_gpu_lost_keeps_the_others_health(machine):
    m = machine("rtx3090x4_throttled")
    m["gpus"][3]["errors"]["nvmlDeviceGetHandleByIndex"] = "NVML_ERROR_GPU_IS_LOST"
    gpus = read_driver().gpus
    assert gpus[3].temperature_c.code == "gpu_lost" and gpus[3].processes.code == "gpu_lost"
    assert gpus[2].temperature_c == 89


# -- versioned functions -------------------------------------------------------------------------


def test_old_nvidia_ml_py_falls_back_to_throttle_reasons_and_older_process_call(machine, monkeypatch):
    import pynvml

    machine("rtx3090x4_throttled")
    for name in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetTemperatureV"):
        monkeypatch.delattr(pynvml, name)
    gpus = read_driver().gpus
    assert gpus[2].clocks_event_reasons == ("hw_slowdown", "sw_thermal_slowdown")
    assert gpus[1].processes[0].used_memory_mib == 20480
    assert gpus[2].temperature_c == 89


def test_driver_without_a_versioned_function_falls_back_and_asks_once(machine, monkeypatch):
    import pynvml

    m = machine("rtx3090x4_throttled")
    m["errors"] = {
        name: "NVML_ERROR_FUNCTION_NOT_FOUND"
        for name in ("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetTemperatureV", "nvmlDeviceGetCurrentClocksEventReasons")
    }
    asked = []
    real = pynvml.nvmlDeviceGetComputeRunningProcesses_v3
    monkeypatch.setattr(pynvml, "nvmlDeviceGetComputeRunningProcesses_v3", lambda h: asked.append(h) or real(h))
    gpus = read_driver().gpus
    assert gpus[1].processes == (GpuProcess(48213, "/home/shared/miniconda3/envs/llm/bin/python", 20480),)
    assert gpus[2].temperature_c == 89 and gpus[2].clocks_event_reasons == ("hw_slowdown", "sw_thermal_slowdown")
    assert asked == [0], "a function the driver lacks is asked for once, not once per GPU"
    read_driver()
    assert asked == [0, 0], "a new NVML session asks again (it may be another driver)"


def test_bytes_from_old_nvidia_ml_py_in_process_names(machine, monkeypatch):
    m = machine("old_pynvml_bytes")
    m["gpus"][0]["processes"] = [{"pid": 777, "name": "python3", "used_memory_bytes": 1 << 30}]
    gpu = read_driver().gpus[0]
    assert gpu.processes == (GpuProcess(777, "python3", 1024),)
    assert isinstance(gpu.processes[0].name, str)
    # the recording has no health fields: each is a reason, none an exception
    assert gpu.temperature_c.code == "not_supported" and gpu.pcie_link.code == "not_supported"


# -- the kernel module and the driver/library mismatch -------------------------------------------


def test_driver_library_mismatch_keeps_the_kernel_module_version(machine):
    machine("driver_mismatch")
    info = read_driver()
    assert info.driver_version.code == "driver_library_mismatch"
    assert "550.54.15" in info.driver_version.reason
    assert info.kernel_module_version == "550.54.15"
    assert info.gpus.code == "driver_library_mismatch"
    assert info.nvidia_on_pci and info.source == "none"


def test_kernel_module_version_beside_nvml(machine):
    machine("driver535_gtx1080ti")
    info = read_driver()
    assert info.kernel_module_version == "535.104.05" == info.driver_version
    assert info.source == "nvml"


def test_no_kernel_module_is_a_reason(machine):
    machine("gpu_without_driver")
    info = read_driver()
    assert info.kernel_module_version.code == "driver_not_loaded"


def test_wedged_driver_still_reports_the_kernel_module(machine):
    machine("wedged_driver")
    info = read_driver(timeout=0.3)
    assert info.driver_version.code == "timeout"
    assert info.kernel_module_version == "535.104.05"


@pytest.mark.parametrize(
    "text, version",
    [
        # proprietary module (the format in countless "version mismatch" threads)
        ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n", "535.104.05"),
        ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  384.98  Thu Oct 26 15:16:01 PDT 2017\nGCC version:  gcc version 7.2.0 (Ubuntu 7.2.0-8ubuntu3) \n", "384.98"),
        # open kernel modules insert "for <arch>" (nix-community/nixGL#121, #186)
        ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build  (dvs-builder@U16-A24-9-2)  Thu Oct 10 12:15:00 UTC 2024\n", "565.57.01"),
        ("NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  35.3.1  Release Build  (buildbrain@mobile-u64-6289-d7000)  Sun Mar 19 08:09:33 PDT 2023\n", "35.3.1"),
        ("", None),
        ("something else entirely\n", None),
    ],
)
def test_parse_proc_driver_version(text, version):
    from envcheck.probes.nvml import parse_proc_driver_version

    assert parse_proc_driver_version(text) == version


def test_kernel_module_version_reads_a_real_file(tmp_path):
    from envcheck.probes.nvml import kernel_module_version

    path = tmp_path / "version"
    path.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 11.4.0 \n")
    assert kernel_module_version(str(path)) == "550.54.15"
    assert kernel_module_version(str(tmp_path / "absent")).code == "driver_not_loaded"
    path.write_text("garbage")
    assert kernel_module_version(str(path)).code == "parse_error"


def test_no_library_still_reads_the_kernel_module(monkeypatch):
    """NVML's library gone (a broken upgrade, a container without it) but the module loaded."""
    from envcheck.probes import kernel_module, nvml

    monkeypatch.setattr(nvml, "nvml_library_present", lambda: False)
    monkeypatch.setattr(nvml, "nvidia_on_pci", lambda: False)
    monkeypatch.setattr(kernel_module, "_read_file", lambda path: "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n")
    info = nvml._read()
    assert info.driver_version.code == "library_not_found"
    assert info.kernel_module_version == "550.54.15"


def test_sm_clocks_are_read(machine):
    machine("rtx3090x4_throttled")
    g = read_driver().gpus[2]
    assert isinstance(g.sm_clock_mhz, int) and g.max_sm_clock_mhz == 2100 and g.sm_clock_mhz < g.max_sm_clock_mhz


def test_used_memory_leaves_out_the_drivers_reserved_memory_as_nvidia_smi_does(machine):
    """Recorded on the lent H200: idle, NVML's v1 answer says 615 MiB used, all of it the driver's
    reserved memory; nvidia-smi says 0 MiB used."""
    machine("h200_driver580")
    gpu = read_driver().gpus[0]
    assert gpu.memory_used_mib == 0
    assert gpu.memory_total_mib == 143771  # nvidia-smi's "Total"


def test_a_driver_without_the_v2_memory_answer_gives_the_v1_answer(machine):
    m = machine("h200_driver580")
    del m["gpus"][0]["memory_reserved_mib"]  # replays NVML_ERROR_FUNCTION_NOT_FOUND for the v2 call
    info = read_driver()
    assert info.gpus[0].memory_used_mib == 615 and info.gpus[0].memory_total_mib == 143771


# -- start-up, permissions, sessions --------------------------------------------------------------


def test_eight_gpus_that_start_slowly_are_all_read(machine):
    """Persistence mode off: each GPU starts when the process opens it (1-3 s apiece, one after
    another); every GPU answers, so the deadline counts from the last answer, not the first call."""
    m = machine("driver580_h100x8")
    m["handle_delay_s"] = 0.12  # 8 x 0.12 s, well past the 0.3 s deadline of any single step
    start = time.monotonic()
    info = read_driver(timeout=0.3)
    assert time.monotonic() - start >= 0.9
    assert len(info.gpus) == 8 and all(g.name == "NVIDIA H100 80GB HBM3" for g in info.gpus)


def test_a_gpu_that_never_starts_keeps_the_ones_before_it(machine):
    m = machine("driver580_h100x8")
    m["gpus"][5]["hang_seconds"] = 30
    start = time.monotonic()
    info = read_driver(timeout=0.3)
    assert time.monotonic() - start < 2
    assert info.driver_version == "580.65.06" and len(info.gpus) == 8
    assert [g.name for g in info.gpus[:5]] == ["NVIDIA H100 80GB HBM3"] * 5
    assert all(g.name.code == "timeout" for g in info.gpus[5:])


def test_a_gpu_kept_from_this_process_by_its_cgroup_says_so(machine):
    from envcheck.snapshot.facts import permitted

    m = machine("driver580_h100x8")
    for i in (0, 1, 2, 3, 6, 7):  # a Slurm job given GPUs 4 and 5 of the eight
        m["gpus"][i].setdefault("errors", {})["nvmlDeviceGetHandleByIndex"] = "NVML_ERROR_NO_PERMISSION"
    info = read_driver()
    assert [permitted(g) for g in info.gpus] == [False] * 4 + [True] * 2 + [False] * 2
    assert info.gpus[0].uuid.code == "not_permitted" and "other jobs" in info.gpus[0].uuid.reason
    assert info.gpus[4].name == "NVIDIA H100 80GB HBM3"


def test_a_kept_session_starts_nvml_once(machine):
    """gpus --watch redraws every few seconds: NVML stays initialised between frames."""
    import pynvml

    from envcheck.probes import nvml

    machine("driver580_h100x8")
    fake = pynvml.nvmlInit.__self__  # the replayed machine answering for pynvml
    try:
        for _ in range(3):
            assert len(read_driver(keep_open=True).gpus) == 8
        assert (fake.init_calls, fake.shutdown_calls) == (1, 0)
    finally:
        nvml.close()
    assert fake.shutdown_calls == 1
    read_driver()
    assert (fake.init_calls, fake.shutdown_calls) == (2, 2)


# -- MIG ----------------------------------------------------------------------------------------


def test_mig_devices_are_listed_under_their_gpu_through_their_own_handles(machine):
    machine("a100_mig")
    gpus = read_driver().gpus
    assert [[d.name.split(" MIG ")[1] for d in g.mig_devices] for g in gpus] == [["3g.40gb", "3g.40gb"], ["4g.40gb", "2g.20gb", "1g.10gb"]]
    first = gpus[0].mig_devices[0]
    assert first.uuid.startswith("MIG-") and (first.gpu_instance_id, first.compute_instance_id, first.sm_count) == (1, 0, 42)
    assert (first.memory_total_mib, first.memory_used_mib) == (40192, 20493)
    assert first.processes == (GpuProcess(39123, "/usr/bin/python3", 20480),)
    # a non-root caller gets no totals for the whole GPU in MIG mode: said so, not "no permission to query the driver"
    assert gpus[0].memory_used_mib.code == "no_permission" and "MIG devices' own are shown" in gpus[0].memory_used_mib.reason
    assert gpus[0].processes.code == "no_permission"


def test_a_destroyed_mig_instance_leaves_a_gap_that_is_skipped(machine):
    m = machine("a100_mig")
    del m["gpus"][1]["mig_devices"][1]  # NVML_ERROR_NOT_FOUND at MIG index 1
    assert [d.index for d in read_driver().gpus[1].mig_devices] == [0, 2]


def test_a_gpu_without_mig_lists_no_mig_devices(machine):
    machine("h200_driver580")
    assert read_driver().gpus[0].mig_devices is None
