"""Which reports a text holds, each read by its reader and joined into one snapshot.

A reader is a module with `sniff(text) -> bool` (may the text hold what it reads?) and either
`read(text, tables) -> Snapshot` (a document read whole, as it is: envcheck's JSON, nvidia-smi's
XML) or `parts(text, tables) -> dict` (the parts of a snapshot it gives: a collect_env report, an
nvidia-smi table or CSV, the error lines). A paste may hold several things at once (a collect_env
report, an nvidia-smi table and the error that made the user run them): each reader that
recognises the text reads it, and the parts are joined in the readers' order.
"""

from __future__ import annotations

from dataclasses import replace

from envcheck.compat import tables as default_tables
from envcheck.errors import UserError
from envcheck.reports import (
    ReportError,
    collect_env,
    envcheck_json,
    error_lines,
    nvidia_smi_csv,
    nvidia_smi_table,
    nvidia_smi_xml,
    partial_snapshot,
    paste,
)
from envcheck.snapshot.json_io import well_formed
from envcheck.snapshot.model import known
from envcheck.versions import cuda_str

FORMATS = (
    "envcheck JSON, collect_env text, nvidia-smi output (the table, -q -x XML, --query-gpu CSV), "
    "or an error message or traceback of nvidia-smi, NVML, torch, torchvision, ONNX Runtime, NCCL or pip"
)
WHOLE = (envcheck_json, nvidia_smi_xml)  # documents, read before any decoration is taken off
PARTS = (collect_env, nvidia_smi_table, nvidia_smi_csv, error_lines)  # read from the cleaned paste, joined in this order


def read_report(text: str, tables=None):
    """Recognise what the text holds and read all of it; ReportError names what was expected."""
    tables = tables if tables is not None else default_tables()
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise ReportError("the report is empty")
    not_json = None
    for reader in WHOLE:
        if reader.sniff(body):
            try:
                snapshot = reader.read(body, tables)
            except envcheck_json.NotJson as exc:  # a cut-off JSON file, or a paste that starts with a brace
                not_json = exc
                continue
            return snapshot if reader is envcheck_json else _inferred(snapshot, tables)
    body = paste.clean(text).strip()
    if not body:
        raise ReportError("the report holds only Markdown decoration (quote markers, code fences), no text")
    if envcheck_json.sniff(body) and body.endswith("}"):
        return envcheck_json.read(body, tables)  # envcheck's JSON, pasted inside a code fence
    parts: dict = {}
    for reader in PARTS:
        if not reader.sniff(body):
            continue
        try:
            new = reader.parts(body, tables)
        except ReportError:
            if not parts:
                raise
            continue  # a fragment beside the report it came with: the report is read
        parts = _join(parts, new, reader)
    if not parts:
        raise not_json or ReportError(f"not a report envcheck reads: expected {FORMATS}")
    return _inferred(partial_snapshot(**parts), tables)


def _join(parts: dict, new: dict, reader) -> dict:
    """The parts read first stay; only nvidia-smi's table joins its driver facts with those read
    before it (nvidia_smi_table.join_driver), as the driver printed them itself."""
    joined = dict(parts)
    for key, value in new.items():
        if key == "driver" and key in joined and reader is nvidia_smi_table:
            joined[key] = nvidia_smi_table.join_driver(joined[key], value)
        else:
            joined.setdefault(key, value)
    return joined


def _inferred(snapshot, tables):
    """The newest CUDA a driver supports, from envcheck's tables, where the report gives only the
    driver's version; labelled as inferred (DriverInfo.cuda_driver_inferred). Values a report got
    wrong are made unknown first (snapshot_io.well_formed)."""
    snapshot = well_formed(snapshot)
    d = snapshot.driver
    if not known(d.driver_version) or known(d.cuda_driver_version):
        return snapshot
    os = "windows" if snapshot.system.os == "windows" else "linux"
    try:
        top = tables.drivers.max_cuda(d.driver_version, os)
    except UserError:  # not a driver version envcheck can compare
        return snapshot
    if top is None:
        return snapshot
    return replace(snapshot, driver=replace(d, cuda_driver_version=cuda_str(top), cuda_driver_inferred=True))
