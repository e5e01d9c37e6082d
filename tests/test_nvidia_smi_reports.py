"""nvidia-smi default table and `-q -x` XML: real outputs of several driver generations, malformed
input, and property tests (any text, any cut-off paste: a DriverInfo or a ReportError, nothing else)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.probes.nvml import CLOCKS_EVENT_REASONS
from envcheck.reports import ReportError
from envcheck.reports import nvidia_smi_table as table
from envcheck.reports import nvidia_smi_xml as xml
from envcheck.snapshot.model import DriverInfo, GpuProcess, Unavailable

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia_smi"
TABLES = sorted(p.name for p in FIXTURES.glob("table_*.txt"))
XMLS = sorted(p.name for p in FIXTURES.glob("xml_*.xml"))


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def missing(value, code="not_in_report") -> bool:
    return isinstance(value, Unavailable) and value.code == code


# -- default table: real outputs -----------------------------------------------------------------


def test_table_440_old_layout_without_mig_row():
    info = table.parse(read("table_440.100_rtx2070.txt"))
    assert (info.driver_version, info.cuda_driver_version, info.source) == ("440.100", "10.2", "nvidia-smi")
    (gpu,) = info.gpus
    assert (gpu.index, gpu.name, gpu.pci_bus_id) == (0, "GeForce RTX 207...", "00000000:01:00.0")
    assert table.name_is_truncated(gpu.name)
    assert (gpu.temperature_c, gpu.power_draw_w, gpu.memory_total_mib) == (48, 6.0, 7973)
    assert missing(gpu.power_limit_w, "not_available")  # "6W /  N/A" on a laptop
    assert missing(gpu.mig_mode) and gpu.persistence_mode is False
    assert gpu.processes[0] == GpuProcess(pid=1357, name="/usr/lib/xorg/Xorg", used_memory_mib=18)
    assert [p.pid for p in gpu.processes] == [1357, 1417, 1811, 1968]


def test_table_470():
    info = table.parse(read("table_470.63.01_geforce.txt"))
    assert (info.driver_version, info.cuda_driver_version) == ("470.63.01", "11.4")
    (gpu,) = info.gpus
    assert gpu.name == "NVIDIA GeForce ..." and table.name_is_truncated(gpu.name)
    assert (gpu.temperature_c, gpu.power_draw_w, gpu.memory_total_mib) == (55, 21.0, 16116)
    assert missing(gpu.mig_mode, "not_available") and gpu.persistence_mode is False
    assert missing(gpu.uuid) and missing(gpu.compute_capability) and missing(gpu.clocks_event_reasons)
    assert len(gpu.processes) == 6
    assert gpu.processes[3] == GpuProcess(pid=10010, name="/usr/lib/firefox/firefox", used_memory_mib=140)


def test_table_wsl_reports_the_windows_driver():
    info = table.parse(read("table_530.47_wsl_rtx3070.txt"))
    # "NVIDIA-SMI 530.47   Driver Version: 531.68": the Windows driver is the one that decides.
    assert (info.driver_version, info.cuda_driver_version) == ("531.68", "12.1")
    (gpu,) = info.gpus
    assert (gpu.name, gpu.pci_bus_id, gpu.persistence_mode) == ("NVIDIA GeForce RTX 3070", "00000000:2B:00.0", True)
    assert (gpu.power_draw_w, gpu.power_limit_w, gpu.memory_total_mib) == (16.0, 220.0, 8192)
    assert not table.name_is_truncated(gpu.name)
    assert gpu.processes == (GpuProcess(pid=22, name="/Xwayland", used_memory_mib=None),)


def test_table_550_ten_gpus_no_processes():
    info = table.parse(read("table_550.127.05_a40x10.txt"))
    assert (info.driver_version, info.cuda_driver_version) == ("550.127.05", "12.4")
    assert [g.index for g in info.gpus] == list(range(10))
    assert {g.name for g in info.gpus} == {"NVIDIA A40"}
    assert [g.pci_bus_id[-7:-5] for g in info.gpus] == ["4F", "52", "53", "56", "57", "CE", "D1", "D2", "D5", "D6"]
    assert info.gpus[2].temperature_c == 27 and info.gpus[6].power_draw_w == 15.0
    assert all(g.memory_total_mib == 46068 and g.power_limit_w == 300.0 for g in info.gpus)
    assert all(g.ecc_uncorrected_volatile == 0 and g.persistence_mode is True for g in info.gpus)
    assert all(g.processes == () for g in info.gpus)


def test_table_580_cuda_13():
    info = table.parse(read("table_580.65.06_rtx4090.txt"))
    assert (info.driver_version, info.cuda_driver_version) == ("580.65.06", "13.0")
    (gpu,) = info.gpus
    assert (gpu.name, gpu.temperature_c, gpu.power_draw_w, gpu.power_limit_w) == ("NVIDIA GeForce RTX 4090", 44, 36.0, 450.0)
    assert gpu.memory_total_mib == 24564 and gpu.persistence_mode is True
    assert missing(gpu.ecc_uncorrected_volatile, "not_available")  # the ECC column says "Off"
    assert [(p.pid, p.used_memory_mib) for p in gpu.processes] == [(3230642, 167), (3230734, 12)]


# Quoted from real pastes whose full output is not stored (see SOURCES.md).
KMD_HEADER_610 = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 610.43.03              KMD Version: 610.43.03     CUDA UMD Version: 13.3     |
+-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA GeForce RTX 3080 ...    Off |   00000000:01:00.0 Off |                  N/A |
| N/A   40C    P0            751W /   80W |      14MiB /  16384MiB |      6%      Default |
|                                         |                        |                  N/A |
+-----------------------------------------+------------------------+----------------------+
"""  # https://github.com/projectbluefin/finpilot/issues/160

A100_MIG_DISABLED_580 = """\
| NVIDIA-SMI 580.126.09             Driver Version: 580.126.09     CUDA Version: 13.0     |
+-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA A100-SXM4-40GB          On  |   00000000:10:1C.0 Off |                    0 |
| N/A   41C    P0             67W /  400W |     598MiB /  40960MiB |     11%   E. Process |
|                                         |                        |             Disabled |
+-----------------------------------------+------------------------+----------------------+
|   1  NVIDIA A100-SXM4-40GB          On  |   00000000:10:1D.0 Off |                    0 |
| N/A   37C    P0             66W /  400W |     602MiB /  40960MiB |      7%   E. Process |
|                                         |                        |             Disabled |
"""  # https://github.com/bottlerocket-os/bottlerocket-core-kit/pull/834


def test_table_kmd_and_cuda_umd_header():
    info = table.parse(KMD_HEADER_610)
    assert (info.driver_version, info.cuda_driver_version) == ("610.43.03", "13.3")
    assert info.gpus[0].name == "NVIDIA GeForce RTX 3080 ..." and info.gpus[0].temperature_c == 40
    assert missing(info.gpus[0].processes)  # the paste stops before the Processes table


def test_table_mig_disabled_column_and_two_gpus():
    info = table.parse(A100_MIG_DISABLED_580)
    assert [g.mig_mode for g in info.gpus] == [False, False]
    assert [g.pci_bus_id for g in info.gpus] == ["00000000:10:1C.0", "00000000:10:1D.0"]
    assert [g.ecc_uncorrected_volatile for g in info.gpus] == [0, 0]


def test_table_processes_go_to_their_gpu_and_indented_paste_reads():
    text = read("table_550.127.05_a40x10.txt").replace(
        "|  No running processes found                                                             |",
        "|    3   N/A  N/A         4242      C   python                                  1024MiB |",
    )
    info = table.parse("\n".join("    " + line for line in text.splitlines()))
    assert info.gpus[3].processes == (GpuProcess(pid=4242, name="python", used_memory_mib=1024),)
    assert all(g.processes == () for g in info.gpus if g.index != 3)


def test_table_header_only_gives_versions_without_gpus():
    info = table.parse("| NVIDIA-SMI 535.171.04             Driver Version: 535.171.04   CUDA Version: 12.2     |\n")
    assert (info.driver_version, info.cuda_driver_version) == ("535.171.04", "12.2")
    assert missing(info.gpus)


def test_table_driver_failure_is_a_fact_not_an_error():
    text = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
            "Make sure that the latest NVIDIA driver is installed and running.\n")
    info = table.parse(text)
    assert missing(info.driver_version, "driver_not_loaded") and missing(info.gpus, "driver_not_loaded")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n",
        "hello world\nthis is not nvidia-smi\n",
        "index, name\n0, Tesla T4\n",
        # the header cut off: GPU rows without the "NVIDIA-SMI ... Driver Version:" line
        "\n".join(read("table_470.63.01_geforce.txt").splitlines()[3:]),
        "| NVIDIA-SMI 535.xx    Driver Version: xx.yy    CUDA Version: 12.2 |\n",
    ],
)
def test_table_malformed_is_a_one_line_report_error(text):
    with pytest.raises(ReportError) as exc:
        table.parse(text)
    assert str(exc.value) and "\n" not in str(exc.value)


def test_table_rows_before_any_gpu_row_are_an_error():
    lines = read("table_580.65.06_rtx4090.txt").splitlines()
    del lines[8]  # the GPU's first row: the table now starts with the fan/temperature row
    with pytest.raises(ReportError, match="GPU row"):
        table.parse("\n".join(lines))


# -- -q -x XML: real outputs ---------------------------------------------------------------------


def test_xml_510_tesla_p100():
    info = xml.parse(read("xml_510.47.03_tesla_p100.xml"))
    assert (info.driver_version, info.cuda_driver_version, info.source) == ("510.47.03", "11.6", "nvidia-smi")
    (gpu,) = info.gpus
    assert (gpu.index, gpu.name, gpu.uuid) == (0, "Tesla P100-PCIE-16GB", "GPU-d3da8716-eaab-75db-efc1-60e88e1cd55e")
    assert (gpu.pci_bus_id, gpu.memory_total_mib, gpu.temperature_c) == ("00000000:00:04.0", 16384, 38)
    assert (gpu.power_draw_w, gpu.power_limit_w) == (26.16, 250.0)
    assert gpu.clocks_event_reasons == ("gpu_idle",)
    assert gpu.ecc_uncorrected_volatile == 0 and gpu.persistence_mode is False
    assert missing(gpu.mig_mode, "not_available") and gpu.processes == ()
    assert gpu.pcie_link == "Gen3 x16" and missing(gpu.compute_capability)


def test_xml_580_h200_the_535_plus_tag_names_on_a_real_report():
    """`nvidia-smi -q -x` of the H200 lent to this project (driver 580.159.04): <clocks_event_reasons>,
    <gpu_power_readings> and the v12 DTD as a real driver writes them."""
    info = xml.parse(read("xml_580.159.04_h200.xml"))
    assert (info.driver_version, info.cuda_driver_version) == ("580.159.04", "13.0")
    (gpu,) = info.gpus
    assert (gpu.name, gpu.pci_bus_id, gpu.memory_total_mib) == ("NVIDIA H200", "00000000:00:06.0", 143771)
    assert (gpu.power_draw_w, gpu.power_limit_w, gpu.temperature_c) == (77.72, 700.0, 35)
    assert gpu.clocks_event_reasons == ("gpu_idle",) and gpu.mig_mode is False and gpu.persistence_mode is True
    assert gpu.ecc_uncorrected_volatile == 0 and gpu.processes == () and gpu.pcie_link == "Gen5 x16"


def test_xml_516_windows_rtx2080():
    info = xml.parse(read("xml_516.59_rtx2080_windows.xml"))
    assert (info.driver_version, info.cuda_driver_version) == ("516.59", "11.7")
    (gpu,) = info.gpus
    assert (gpu.name, gpu.memory_total_mib, gpu.temperature_c) == ("NVIDIA GeForce RTX 2080", 8192, 29)
    assert (gpu.power_draw_w, gpu.power_limit_w, gpu.pcie_link) == (14.5, 275.0, "Gen3 x8")
    assert missing(gpu.persistence_mode, "not_available")  # Windows has no persistence mode
    assert missing(gpu.ecc_uncorrected_volatile, "not_available")  # GeForce: every counter N/A
    assert len(gpu.processes) == 26
    assert gpu.processes[0].pid == 7724 and gpu.processes[0].name.endswith("PhoneExperienceHost.exe")
    assert gpu.processes[1] == GpuProcess(pid=10808, name="", used_memory_mib=None)


# Synthetic: the tag names of 535+ drivers (no whole report of one is stored; see SOURCES.md).
NEWER_TAGS = """<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">
<nvidia_smi_log>
  <driver_version>550.127.05</driver_version>
  <cuda_version>12.4</cuda_version>
  <gpu id="00000000:4F:00.0">
    <product_name>NVIDIA A40</product_name>
    <uuid>GPU-00000000-0000-0000-0000-000000000000</uuid>
    <persistence_mode>Enabled</persistence_mode>
    <mig_mode><current_mig>Enabled</current_mig><pending_mig>Enabled</pending_mig></mig_mode>
    <pci><pci_bus_id>00000000:4F:00.0</pci_bus_id></pci>
    <clocks_event_reasons>
      <clocks_event_reason_gpu_idle>Not Active</clocks_event_reason_gpu_idle>
      <clocks_event_reason_sw_power_cap>Active</clocks_event_reason_sw_power_cap>
      <clocks_event_reason_sw_thermal_slowdown>Active</clocks_event_reason_sw_thermal_slowdown>
      <clocks_event_reason_display_clocks_setting>Active</clocks_event_reason_display_clocks_setting>
    </clocks_event_reasons>
    <fb_memory_usage><total>46068 MiB</total></fb_memory_usage>
    <ecc_errors><volatile>
      <sram_correctable>0</sram_correctable>
      <sram_uncorrectable_parity>1</sram_uncorrectable_parity>
      <sram_uncorrectable_secded>0</sram_uncorrectable_secded>
      <dram_correctable>7</dram_correctable>
      <dram_uncorrectable>2</dram_uncorrectable>
    </volatile></ecc_errors>
    <temperature><gpu_temp>29 C</gpu_temp></temperature>
    <gpu_power_readings>
      <power_draw>N/A</power_draw>
      <instant_power_draw>29.70 W</instant_power_draw>
      <current_power_limit>300.00 W</current_power_limit>
    </gpu_power_readings>
    <processes>
      <process_info><pid>4242</pid><type>C</type><process_name>python</process_name><used_memory>1024 MiB</used_memory></process_info>
    </processes>
  </gpu>
</nvidia_smi_log>
"""


def test_xml_newer_tag_names():
    (gpu,) = xml.parse(NEWER_TAGS).gpus
    assert gpu.clocks_event_reasons == ("sw_power_cap", "sw_thermal_slowdown", "display_clock_setting")
    assert (gpu.power_draw_w, gpu.power_limit_w) == (29.7, 300.0)
    assert gpu.ecc_uncorrected_volatile == 3 and gpu.mig_mode is True and gpu.persistence_mode is True
    assert gpu.processes == (GpuProcess(pid=4242, name="python", used_memory_mib=1024),)
    assert missing(gpu.pcie_link)


def test_xml_reason_names_are_the_nvml_probes():
    # the XML has tags for the first nine bits only (driver 580's report on the H200 too)
    assert [name for _, name in xml._REASONS] == [name for _, name in CLOCKS_EVENT_REASONS][:9]


def test_xml_gpu_index_is_element_order_not_minor_number():
    gpu = NEWER_TAGS[NEWER_TAGS.index("  <gpu "):NEWER_TAGS.index("</nvidia_smi_log>")]
    first = gpu.replace("<uuid>", "<minor_number>5</minor_number><uuid>")
    second = gpu.replace("<uuid>", "<minor_number>2</minor_number><uuid>")
    info = xml.parse(NEWER_TAGS.replace(gpu, first + second))
    assert [g.index for g in info.gpus] == [0, 1]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "empty"),
        ("hello world", "well-formed"),
        ('<?xml version="1.0" ?>\n<nvidia_smi>\n</nvidia_smi>', "not <nvidia_smi_log>"),
        ("<html><body>nvidia-smi</body></html>", "not <nvidia_smi_log>"),
        (read("xml_510.47.03_tesla_p100.xml")[:5000], "well-formed"),
        (read("xml_516.59_rtx2080_windows.xml")[:-20], "well-formed"),
        ('<!DOCTYPE nvidia_smi_log [<!ENTITY a "aaaaaaaaaa">]><nvidia_smi_log>&a;</nvidia_smi_log>', "ENTITY"),
        ('<!DOCTYPE nvidia_smi_log [<!ELEMENT nvidia_smi_log ANY>]><nvidia_smi_log/>', "DOCTYPE"),
        ('<!DOCTYPE nvidia_smi_log SYSTEM "http://example.invalid/x.dtd" [ ]><nvidia_smi_log/>', "DOCTYPE"),
    ],
)
def test_xml_malformed_is_a_one_line_report_error(text, problem):
    with pytest.raises(ReportError, match=problem) as exc:
        xml.parse(text)
    assert "\n" not in str(exc.value)


# -- properties: any text, any cut-off paste ------------------------------------------------------


def _driver_info_or_report_error(parse, text: str) -> None:
    try:
        info = parse(text)
    except ReportError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(info, DriverInfo)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_table_any_text(text):
    _driver_info_or_report_error(table.parse, text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_xml_any_text(text):
    _driver_info_or_report_error(xml.parse, text)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TABLES), st.floats(0, 1))
def test_table_any_prefix_of_a_real_sample(name, fraction):
    text = read(name)
    _driver_info_or_report_error(table.parse, text[: int(len(text) * fraction)])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(XMLS), st.floats(0, 1))
def test_xml_any_prefix_of_a_real_sample(name, fraction):
    text = read(name)
    _driver_info_or_report_error(xml.parse, text[: int(len(text) * fraction)])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TABLES + [KMD_HEADER_610, A100_MIG_DISABLED_580]), st.data())
def test_table_any_line_dropped_or_mangled(name, data):
    text = read(name) if name in TABLES else name
    lines = text.splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    lines[i] = data.draw(st.sampled_from(["", lines[i][: len(lines[i]) // 2], lines[i].replace("|", " "), "|"]))
    _driver_info_or_report_error(table.parse, "\n".join(lines))


@pytest.mark.parametrize("name", TABLES)
def test_table_every_prefix_of_a_real_sample(name):
    text = read(name)
    for n in range(len(text) + 1):
        _driver_info_or_report_error(table.parse, text[:n])


@pytest.mark.parametrize("name", XMLS)
def test_xml_every_line_prefix_of_a_real_sample(name):
    text = read(name)
    ends = [i for i, ch in enumerate(text) if ch == "\n"] + [len(text)]
    for n in ends:
        _driver_info_or_report_error(xml.parse, text[:n])
