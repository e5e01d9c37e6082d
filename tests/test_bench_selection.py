"""`envcheck bench --gpus`: device selection against replayed machines (fake NVML, real adapter)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from envcheck.bench.selection import Selection, busy, parse_gpus, select
from envcheck.errors import UserError
from envcheck.probes.nvml import read_driver
from envcheck.snapshot.model import GpuProcess, Unavailable

UUID = "GPU-4b2a1c77-000{}-4e2b-9c1d-a0b0c0d0e00{}"  # rtx3090x4_throttled's GPU n: UUID.format(n, n)
PCI = ["00000000:01:00.0", "00000000:21:00.0", "00000000:41:00.0", "00000000:61:00.0"]
PCI_ORDER = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


def uuid(n: int) -> str:
    return UUID.format(n, n)


def one_line_error(text, driver, env=None) -> str:
    """select() must refuse with a UserError of exactly one non-empty line; returns it."""
    with pytest.raises(UserError) as exc:
        select(text, driver, env or {})
    message = str(exc.value)
    assert message and message == message.strip() and "\n" not in message and "\r" not in message
    return message


@pytest.fixture
def box(machine):
    """The 4x RTX 3090 workstation: GPU 1 held by another user's process, GPU 2 busy and hot."""
    machine("rtx3090x4_throttled")
    return read_driver()


# -- choosing GPUs ----------------------------------------------------------------------------


def test_0_2_3_gives_each_worker_exactly_its_gpu(box):
    s = select("0,2,3", box, {})
    assert [d.nvml_index for d in s.devices] == [0, 2, 3]
    assert [d.uuid for d in s.devices] == [uuid(0), uuid(2), uuid(3)]
    assert [d.pci_bus_id for d in s.devices] == [PCI[0], PCI[2], PCI[3]]
    assert {d.name for d in s.devices} == {"NVIDIA GeForce RTX 3090"}
    for d, n in zip(s.devices, (0, 2, 3)):
        assert d.worker_env == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": uuid(n)}
    hash(s.devices[0])  # frozen and hashable despite the dict


def test_no_gpus_option_means_every_gpu(box):
    s = select(None, box, {})
    assert [d.nvml_index for d in s.devices] == [0, 1, 2, 3]


def test_spaces_around_entries_are_ignored(box):
    assert [d.nvml_index for d in select(" 0 , 2,3 ", box, {}).devices] == [0, 2, 3]


def test_order_given_is_kept(box):
    assert [d.nvml_index for d in select("3,0", box, {}).devices] == [3, 0]


def test_full_uuid_and_unique_prefix(box):
    s = select(f"{uuid(2)},GPU-4b2a1c77-0003", box, {})
    assert [d.nvml_index for d in s.devices] == [2, 3]
    assert s.devices[1].worker_env["CUDA_VISIBLE_DEVICES"] == uuid(3)  # the full UUID, not the prefix
    assert select(uuid(1).upper().replace("GPU-", "gpu-"), box, {}).devices[0].nvml_index == 1  # any case


def test_uuid_and_index_mix(box):
    assert [d.nvml_index for d in select(f"1,{uuid(0)}", box, {}).devices] == [1, 0]


def test_gpu_without_a_uuid_is_named_by_index(box):
    gpus = list(box.gpus)
    gpus[3] = replace(gpus[3], uuid=Unavailable("not_supported", "not supported"))
    driver = replace(box, gpus=tuple(gpus))
    d = select("3", driver, {}).devices[0]
    assert d.worker_env == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "3"}
    assert "matches no GPU's UUID" in one_line_error(uuid(3), driver)


def test_eight_gpu_node(machine):
    machine("driver580_h100x8")
    driver = read_driver()
    s = select("7,GPU-7c3d2e44-0005", driver, {})
    assert [d.nvml_index for d in s.devices] == [7, 5]
    assert one_line_error("8", driver) == "--gpus 8: there is no GPU 8 (this machine has GPUs 0–7: run nvidia-smi -L)"


# -- refusals: one line, naming the problem and the choices -----------------------------------


def test_index_out_of_range(box):
    assert one_line_error("0,9", box) == "--gpus 0,9: there is no GPU 9 (this machine has GPUs 0–3: run nvidia-smi -L)"


def test_letters(box):
    assert one_line_error("a,b", box) == "--gpus a,b: 'a' is neither a GPU index (0–3) nor a GPU UUID (nvidia-smi -L lists both)"
    assert "'0x1' is neither a GPU index (0–3)" in one_line_error("0x1", box)
    assert "'GPU-xyz' is neither" in one_line_error("GPU-xyz", box)


def test_torch_names_are_not_indices(box):
    assert "'cuda:1' is torch's name" in one_line_error("cuda:1", box)


def test_negative_index(box):
    message = one_line_error("-1", box)
    assert "'-1' is not a GPU index (0–3)" in message


@pytest.mark.parametrize("text", ["0,,1", "0,", ",0", " , "])
def test_empty_entry(box, text):
    assert "an entry is empty" in one_line_error(text, box)


@pytest.mark.parametrize("text", ["", "   "])
def test_nothing_given(box, text):
    assert "no GPU given" in one_line_error(text, box)


def test_space_is_not_a_separator(box):
    assert one_line_error("0 2", box) == "--gpus '0 2': '0 2' is neither a GPU index (0–3) nor a GPU UUID (separate GPUs by commas)"


def test_newline_in_the_value_stays_one_line(box):
    assert one_line_error("0\n1", box).startswith("--gpus '0\\n1': ")


def test_duplicate_index(box):
    assert one_line_error("0,0", box) == "--gpus 0,0: GPU 0 is chosen twice: list each GPU once"
    assert "GPU 1 is chosen twice ('01' and '1')" in one_line_error("01,1", box)


def test_duplicate_index_and_uuid_of_the_same_gpu(box):
    message = one_line_error(f"2,{uuid(2)}", box)
    assert message == f"--gpus 2,{uuid(2)}: GPU 2 is chosen twice ('2' and '{uuid(2)}' are the same GPU): list each GPU once"
    assert "GPU 3 is chosen twice" in one_line_error(f"{uuid(3)},GPU-4b2a1c77-0003", box)  # full UUID and its prefix


def test_duplicate_uuid(box):
    assert "is chosen twice" in one_line_error(f"{uuid(1)},{uuid(1).upper()}", box)


def test_ambiguous_uuid_prefix(box):
    message = one_line_error("GPU-4b2a1c77", box)  # all four share it
    assert "matches GPUs 0–3: give more of the UUID" in message


def test_unknown_uuid(box):
    assert one_line_error("GPU-deadbeef", box) == (
        "--gpus GPU-deadbeef: 'GPU-deadbeef' matches no GPU's UUID (this machine has GPUs 0–3: run nvidia-smi -L for their UUIDs)")
    assert "envcheck benchmarks whole GPUs" in one_line_error("MIG-deadbeef-0000", box)


def test_uuid_prefix_too_short(box):
    assert "give at least 8 characters after 'GPU-'" in one_line_error("GPU-4b2a", box)
    assert "too short" in one_line_error("GPU-", box)


def test_no_driver(machine):
    machine("no_driver")
    driver = read_driver()
    message = one_line_error("0", driver)
    assert message.startswith("no NVIDIA GPU to benchmark (") and message.endswith("): use --device cpu")
    assert driver.gpus.reason in message
    assert one_line_error(None, driver) == message


def test_driver_listing_no_gpu(box):
    assert one_line_error(None, replace(box, gpus=())) == "no NVIDIA GPU to benchmark (the driver lists none): use --device cpu"


def test_single_gpu_machine_names_its_one_gpu(machine):
    machine("driver535_gtx1080ti")
    driver = read_driver()
    assert len(driver.gpus) == 1
    assert one_line_error("1", driver) == "--gpus 1: there is no GPU 1 (this machine has GPU 0: run nvidia-smi -L)"
    s = select(None, driver, {})
    assert not any("CUDA_DEVICE_ORDER is unset" in n for n in s.notes)  # one GPU: no order to get wrong


# -- the user's CUDA_VISIBLE_DEVICES is respected ---------------------------------------------


def test_hidden_gpu_is_an_error(box):
    assert one_line_error("0,1", box, {"CUDA_VISIBLE_DEVICES": "0,2"}) == (
        "--gpus 0,1: GPU 1 is hidden by CUDA_VISIBLE_DEVICES=0,2; unset it or choose from 0, 2")


def test_visible_gpus_are_fine_and_keep_nvidia_smi_numbers(box):
    env = {"CUDA_VISIBLE_DEVICES": "0,2,3", **PCI_ORDER}
    s = select("2,3", box, env)
    assert [d.nvml_index for d in s.devices] == [2, 3]  # nvidia-smi's 2 and 3, not torch's cuda:2, cuda:3
    assert s.devices[0].worker_env["CUDA_VISIBLE_DEVICES"] == uuid(2)
    assert "with CUDA_VISIBLE_DEVICES=0,2,3 torch calls them cuda:0, cuda:1, cuda:2 (nvidia-smi's GPUs 0, 2, 3)" in s.notes


def test_without_gpus_only_the_visible_ones_run(box):
    s = select(None, box, {"CUDA_VISIBLE_DEVICES": "2,0", **PCI_ORDER})
    assert [d.nvml_index for d in s.devices] == [2, 0]  # CUDA's order, as torch would number them
    assert any("only the GPUs CUDA_VISIBLE_DEVICES lets through: 2, 0" in n for n in s.notes)


def test_visible_devices_by_uuid(box):
    s = select("1", box, {"CUDA_VISIBLE_DEVICES": "GPU-4b2a1c77-0001", **PCI_ORDER})
    assert s.devices[0].nvml_index == 1
    assert "with CUDA_VISIBLE_DEVICES=GPU-4b2a1c77-0001 torch calls it cuda:0 (nvidia-smi's GPU 1)" in s.notes
    assert "GPU 0 is hidden by CUDA_VISIBLE_DEVICES=GPU-4b2a1c77-0001; unset it or choose from 1" in one_line_error("0", box, {"CUDA_VISIBLE_DEVICES": "GPU-4b2a1c77-0001"})


@pytest.mark.parametrize("value", ["0,7", "0,x", "0,0", "GPU-4b2a1c77"])
def test_malformed_visible_devices(box, value):
    message = one_line_error("0", box, {"CUDA_VISIBLE_DEVICES": value})
    assert message.startswith(f"CUDA_VISIBLE_DEVICES={value} is malformed: ") and message.endswith("; fix it or unset it")
    assert one_line_error(None, box, {"CUDA_VISIBLE_DEVICES": value}) == message


def test_empty_visible_devices_hides_everything(box):
    env = {"CUDA_VISIBLE_DEVICES": ""}
    assert one_line_error(None, box, env) == "CUDA_VISIBLE_DEVICES='' hides every GPU: unset it to benchmark GPUs, or use --device cpu"
    assert "which hides every GPU; unset it" in one_line_error("1", box, env)


# -- notes ------------------------------------------------------------------------------------


def test_torchrun_note(box):
    s = select("0,2,3", box, PCI_ORDER)
    assert ("CUDA_VISIBLE_DEVICES=0,2,3 torchrun --nproc_per_node=3 gives local ranks 0,1,2 the GPUs 0,2,3 "
            "(set CUDA_DEVICE_ORDER=PCI_BUS_ID so these are nvidia-smi's numbers)") in s.notes
    single = select("1", box, PCI_ORDER)
    assert any("CUDA_VISIBLE_DEVICES=1 torchrun --nproc_per_node=1 gives local rank 0 GPU 1" in n for n in single.notes)


@pytest.mark.parametrize("order", [None, "FASTEST_FIRST", "bogus"])
def test_device_order_note(box, order):
    env = {} if order is None else {"CUDA_DEVICE_ORDER": order}
    notes = [n for n in select("0,2,3", box, env).notes if "CUDA's own numbering may differ from nvidia-smi's" in n]
    assert len(notes) == 1 and "envcheck sets CUDA_DEVICE_ORDER=PCI_BUS_ID for its workers" in notes[0]
    assert ("is unset" if order is None else f"CUDA_DEVICE_ORDER={order}") in notes[0]


def test_device_order_note_says_how_visible_indices_are_read(box):
    notes = select(None, box, {"CUDA_VISIBLE_DEVICES": "0,2"}).notes
    assert any("reads the indices in CUDA_VISIBLE_DEVICES as nvidia-smi's" in n for n in notes)


def test_no_device_order_note_with_pci_bus_id(box):
    assert not any("may differ" in n for n in select("0,2,3", box, PCI_ORDER).notes)


def test_a_gpu_in_mig_mode_is_benchmarked_as_its_mig_devices_one_worker_each(machine):
    machine("a100_mig")
    info = read_driver()
    s = select("1", info, PCI_ORDER)
    assert [d.label for d in s.devices] == ["GPU 1 MIG 0", "GPU 1 MIG 1", "GPU 1 MIG 2"]
    assert [d.worker_env for d in s.devices] == [{"CUDA_VISIBLE_DEVICES": m.uuid} for m in info.gpus[1].mig_devices]
    assert [d.name for d in s.devices][0] == "NVIDIA A100-SXM4-80GB MIG 4g.40gb" and any("one worker each" in n for n in s.notes)
    assert len(select(None, info, {}).devices) == 5
    one = info.gpus[0].mig_devices[1].uuid
    assert [d.label for d in select(one[:17], info, {}).devices] == ["GPU 0 MIG 1"]
    # the user's CUDA_VISIBLE_DEVICES of MIG devices is respected, not read as malformed
    assert [d.label for d in select(None, info, {"CUDA_VISIBLE_DEVICES": one}).devices] == ["GPU 0 MIG 1"]
    assert "hidden by CUDA_VISIBLE_DEVICES" in one_line_error("1", info, {"CUDA_VISIBLE_DEVICES": one})


# -- busy GPUs --------------------------------------------------------------------------------


def test_busy_warns_about_the_gpus_others_use(box):
    assert busy(select("0,1,3", box, {}), box) == ["GPU 1 is in use by 1 process (20480 MiB): results will be low"]
    assert busy(select("0,3", box, {}), box) == []
    assert busy(select(None, box, {}), box) == [
        "GPU 1 is in use by 1 process (20480 MiB): results will be low",
        "GPU 2 is in use by 1 process (17524 MiB): results will be low",
    ]


def test_busy_counts_processes_and_unknown_memory(box):
    gpus = list(box.gpus)
    gpus[0] = replace(gpus[0], processes=(GpuProcess(1, "a", 100), GpuProcess(2, "b", None), GpuProcess(3, "c", 50)))
    gpus[3] = replace(gpus[3], processes=(GpuProcess(4, "", None),))
    gpus[1] = replace(gpus[1], processes=Unavailable("not_supported", "not supported"))
    driver = replace(box, gpus=tuple(gpus))
    assert busy(select("0,1,3", driver, {}), driver) == [
        "GPU 0 is in use by 3 processes (150 MiB): results will be low",
        "GPU 3 is in use by 1 process: results will be low",
    ]
    assert busy(Selection(()), driver) == []


# -- parse_gpus on its own --------------------------------------------------------------------


def test_parse_gpus_tokens():
    assert parse_gpus("0,2,3") == ["0", "2", "3"]
    assert parse_gpus(" GPU-4b2a1c77-0001 , 1 ") == ["GPU-4b2a1c77-0001", "1"]
    assert parse_gpus("MIG-4b2a1c77-0001") == ["MIG-4b2a1c77-0001"]


@pytest.mark.parametrize("text", ["a,b", "0,,1", "-1", "0,0", "GPU-abc", "1.0", "+1", "²", ""])
def test_parse_gpus_errors_are_one_line(text):
    with pytest.raises(UserError) as exc:
        parse_gpus(text)
    assert "\n" not in str(exc.value) and str(exc.value).startswith("--gpus ")


def test_parse_gpus_without_a_count_names_no_range():
    with pytest.raises(UserError) as exc:
        parse_gpus("a")
    assert str(exc.value) == "--gpus a: 'a' is neither a GPU index nor a GPU UUID (nvidia-smi -L lists both)"


# -- GPUs this process may not open (Slurm, Kubernetes) ----------------------------------------------


@pytest.fixture
def slurm_job(machine):
    """An 8-GPU node; this job's cgroup lets it open GPUs 4 and 5 only (NVML_ERROR_NO_PERMISSION for
    the others' handles), and Slurm set CUDA_VISIBLE_DEVICES=0,1: the job's own two, as CUDA counts."""
    m = machine("driver580_h100x8")
    for i in (0, 1, 2, 3, 6, 7):
        m["gpus"][i].setdefault("errors", {})["nvmlDeviceGetHandleByIndex"] = "NVML_ERROR_NO_PERMISSION"
    return read_driver()


def test_bench_on_a_slurm_node_takes_the_jobs_gpus(slurm_job):
    assert [d.nvml_index for d in select(None, slurm_job, {}).devices] == [4, 5]
    assert [d.nvml_index for d in select(None, slurm_job, {"CUDA_VISIBLE_DEVICES": "0,1"}).devices] == [4, 5]
    assert [d.nvml_index for d in select(None, slurm_job, {"CUDA_VISIBLE_DEVICES": "1"}).devices] == [5]


def test_bench_refuses_another_jobs_gpu_in_one_line(slurm_job):
    message = one_line_error("2", slurm_job)
    assert "GPU 2 belongs to another job" in message and "choose from 4–5" in message
