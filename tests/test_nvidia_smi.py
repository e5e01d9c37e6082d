"""nvidia-smi CSV: the parser on real-format output, and the fallback probe with a stand-in nvidia-smi."""

from __future__ import annotations

import os

import pytest

from envcheck.reports import ReportError
from envcheck.reports.nvidia_smi_csv import parse
from envcheck.snapshot.model import Unavailable

# The format nvidia-smi prints for --format=csv: a header with units in brackets, values with units.
TWO_GPUS = """index, name, uuid, pci.bus_id, driver_version, memory.total [MiB], compute_cap, temperature.gpu, power.draw [W], power.limit [W]
0, NVIDIA GeForce RTX 3090, GPU-5a1c2b3d-0000-4e2b-9c1d-a0b0c0d0e000, 00000000:01:00.0, 535.104.05, 24576 MiB, 8.6, 45, 35.12 W, 350.00 W
1, NVIDIA GeForce RTX 3090, GPU-5a1c2b3d-0001-4e2b-9c1d-a0b0c0d0e001, 00000000:21:00.0, 535.104.05, 24576 MiB, 8.6, 89, [N/A], [Not Supported]
"""


def test_parse_real_format():
    driver, gpus = parse(TWO_GPUS)
    assert driver == "535.104.05"
    assert [g.index for g in gpus] == [0, 1]
    assert gpus[0].memory_total_mib == 24576 and gpus[0].compute_capability == "8.6"
    assert gpus[0].power_draw_w == pytest.approx(35.12) and gpus[1].temperature_c == 89
    assert isinstance(gpus[1].power_draw_w, Unavailable) and gpus[1].power_limit_w.code == "not_supported"


def test_parse_noheader_with_given_fields():
    driver, gpus = parse("0, Tesla T4, 470.82.01\n", fields=("index", "name", "driver_version"))
    assert (driver, gpus[0].name) == ("470.82.01", "Tesla T4")


@pytest.mark.parametrize("text", ["", "index, name\n0, a, b\n", "hello world\n"])
def test_malformed_csv_is_a_report_error(text):
    with pytest.raises(ReportError):
        parse(text)


def _stand_in(tmp_path, monkeypatch, script: str):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "nvidia-smi"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/bin")


def test_fallback_when_nvml_cannot_load_its_library(machine, tmp_path, monkeypatch):
    from envcheck.probes.nvml import read_driver

    machine("no_driver")
    (tmp_path / "out.csv").write_text(TWO_GPUS)
    _stand_in(tmp_path, monkeypatch, f"cat {tmp_path / 'out.csv'}\n")
    info = read_driver()
    assert info.source == "nvidia-smi" and info.driver_version == "535.104.05" and len(info.gpus) == 2
    assert info.cuda_driver_version.code == "not_supported"


def test_old_nvidia_smi_without_compute_cap_is_asked_again(machine, tmp_path, monkeypatch):
    from envcheck.probes.nvml import read_driver

    machine("no_driver")
    old = "index, name, uuid, pci.bus_id, driver_version, memory.total [MiB], temperature.gpu, power.draw [W], power.limit [W]\n" \
          "0, Tesla T4, GPU-1, 00000000:00:1E.0, 450.80.02, 15109 MiB, 30, 9.50 W, 70.00 W\n"
    (tmp_path / "old.csv").write_text(old)
    _stand_in(tmp_path, monkeypatch, f'case "$1" in *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\'; exit 2;; esac\ncat {tmp_path / "old.csv"}\n')
    info = read_driver()
    assert info.source == "nvidia-smi" and info.gpus[0].name == "Tesla T4"
    assert info.gpus[0].compute_capability.code == "not_queried"


def test_failing_nvidia_smi_keeps_nvmls_answer(machine, tmp_path, monkeypatch):
    from envcheck.probes.nvml import read_driver

    machine("no_driver")
    _stand_in(tmp_path, monkeypatch, "echo 'NVIDIA-SMI has failed because it couldn\\'t communicate with the NVIDIA driver.'; exit 9\n")
    info = read_driver()
    assert info.driver_version.code == "library_not_found" and info.source == "none"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_csv_parser_gives_rows_or_a_report_error(text):
    try:
        parse(text)
    except ReportError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(TWO_GPUS)))
def test_truncated_csv(cut):
    try:
        parse(TWO_GPUS[:cut])
    except ReportError:
        pass
