"""The readers of report texts behind one protocol (envcheck/reports/read.py): each says whether a
text may be its kind (`sniff`) and reads it whole (`read`) or gives parts of a snapshot (`parts`);
the error-line scan keeps the signature it matched; CUDA's integer versions decode in one place."""

from __future__ import annotations

import pytest

from envcheck.compat import Signature, Tables
from envcheck.reports import collect_env, error_lines, nvidia_smi_csv, nvidia_smi_table, read
from envcheck.versions import cuda_from_int

T = Tables()


@pytest.mark.parametrize("reader", read.WHOLE + read.PARTS, ids=lambda r: r.__name__.rsplit(".", 1)[-1])
def test_every_reader_speaks_the_protocol(reader):
    assert callable(reader.sniff)
    assert callable(getattr(reader, "read" if reader in read.WHOLE else "parts"))
    if reader is not error_lines:  # any text may hold error lines; every other kind has a mark
        assert not reader.sniff("just some words")


def test_each_reader_gives_only_its_parts():
    table = "\n".join(["+---+", "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |"])
    assert nvidia_smi_table.sniff(table) and not collect_env.sniff(table) and not nvidia_smi_csv.sniff(table)
    assert set(nvidia_smi_csv.parts("name, driver_version\nNVIDIA A100, 535.104.05", T)) == {"driver"}
    assert set(collect_env.parts("PyTorch version: 2.2.1+cu121\nOS: Ubuntu 22.04 (x86_64)", T)) >= {"torch", "system", "driver"}
    assert error_lines.parts("nothing went wrong here", T) == {}


def test_the_scan_keeps_the_signature_it_matched():
    (m,) = error_lines.scan("RuntimeError: The NVIDIA driver on your system is too old (found version 11040).", T.signatures)
    assert isinstance(m.signature, Signature) and m.signature.id == "torch-driver-too-old"
    assert m.groups == {"found": "11040"}
    (unknown,) = error_lines.scan("KeyError: 'lr'\nKeyError: 'lr'", T.signatures)
    assert unknown.signature is None


def test_parts_read_first_stay_and_only_the_table_joins_its_driver():
    assert read._join({"driver": "collect_env's"}, {"driver": "csv's", "pasted": ()}, nvidia_smi_csv) == {
        "driver": "collect_env's", "pasted": ()}
    text = "\n".join(["PyTorch version: 2.2.1+cu121", "Nvidia driver version: 470.82.01",
                      "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |"])
    assert read.read_report(text, T).driver.driver_version == "535.104.05"  # the driver's own table wins


@pytest.mark.parametrize("n, cuda", [(10010, "10.1"), (11040, "11.4"), (12020, "12.2"), (13000, "13.0")])
def test_cuda_integer_versions_decode_in_one_place(n, cuda):
    assert cuda_from_int(n) == cuda
