"""Readers of report texts (collect_env, nvidia-smi output, envcheck JSON) into a snapshot.

Pure functions of text: `doctor --from` and `diff` read pastes with them, the live nvidia-smi
fallback reads command output. Whatever a report does not contain is Unavailable("not_in_report").
"""

from __future__ import annotations

import json

from envcheck.errors import UserError


class ReportError(UserError, ValueError):
    """The text is not in the format it claims to be; the message names the problem (exit 2)."""


def partial_snapshot(**parts):
    """A snapshot of only the parts a report shows; the rest says it was not in the report."""
    from envcheck.snapshot.model import (
        SCHEMA_VERSION,
        CudaEnv,
        DriverInfo,
        OnnxRuntime,
        PythonEnv,
        Snapshot,
        System,
        Toolkit,
        Unavailable,
    )

    missing = Unavailable("not_in_report", "the report does not say")
    defaults = {
        "system": System("unknown", "unknown", "", "", "", 0, missing, None, False, ""),
        "python": PythonEnv("unknown", "", None, None, missing),
        "driver": DriverInfo(missing, missing, missing, source="report"),
        "toolkit": Toolkit(missing, None, None, ()),
        "cuda_env": CudaEnv(None, None, None),
        "torch": missing,
        "packages": (),
        "onnxruntime": OnnxRuntime(),
    }
    return Snapshot(schema_version=SCHEMA_VERSION, **{**defaults, **parts})


FORMATS = (
    "envcheck JSON, collect_env text, nvidia-smi output (the table, -q -x XML, --query-gpu CSV), "
    "or an error message or traceback of nvidia-smi, NVML, torch, torchvision, ONNX Runtime, NCCL or pip"
)


def read_report(text: str, tables=None):
    """Recognise what the text holds and read all of it; ReportError names what was expected.

    A paste may hold several things at once (a collect_env report, an nvidia-smi table and the
    error that made the user run them): each is read and the parts are combined.
    """
    if tables is None:
        from envcheck.compat import tables as default_tables

        tables = default_tables()
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise ReportError("the report is empty")
    not_json = None
    if body.startswith("{"):
        try:
            return _json(body)
        except ReportError as exc:  # a cut-off JSON file, or a paste that starts with a brace
            if "does not parse" not in str(exc):
                raise
            not_json = exc
    if body.startswith("<") and "nvidia_smi_log" in body[:2000]:
        from envcheck.reports import nvidia_smi_xml

        return _inferred(partial_snapshot(driver=nvidia_smi_xml.parse(body)), tables)
    from envcheck.reports import paste

    body = paste.clean(text).strip()
    if not body:
        raise ReportError("the report holds only Markdown decoration (quote markers, code fences), no text")
    if body.startswith("{") and body.rstrip().endswith("}"):
        return _json(body)  # envcheck's JSON, pasted inside a code fence
    from envcheck.reports import collect_env, nvidia_smi_table

    snapshot = collect_env.parse(body, tables) if collect_env.looks_like(body) else None
    if nvidia_smi_table.has_header(body):
        try:
            table = nvidia_smi_table.parse(body)
        except ReportError:
            if snapshot is None:
                raise
        else:
            snapshot = _with_table(snapshot, table)
    if snapshot is None:
        snapshot = _csv(body)
    found = paste.scan(body, tables.signatures)
    if snapshot is None and not found:
        raise not_json or ReportError(f"not a report envcheck reads: expected {FORMATS}")
    if snapshot is None:
        snapshot = _from_error_lines(body, tables)
    if found:
        from dataclasses import replace

        from envcheck.snapshot.model import Pasted

        snapshot = replace(snapshot, pasted=tuple(Pasted(sig, line[:300], groups) for sig, line, groups in found))
    return _inferred(snapshot, tables)


def _json(body: str):
    from envcheck.snapshot.json_io import load

    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ReportError(f"envcheck JSON that does not parse: {exc}") from exc
    except RecursionError:
        raise ReportError("envcheck JSON that does not parse: it is nested too deeply") from None
    if isinstance(data, dict) and "snapshot" in data and "findings" in data:
        data = data["snapshot"]  # the output of `doctor --json`
    return load(data)


def _csv(body: str):
    """nvidia-smi --query-gpu=... --format=csv: from its header line (among the first lines of the
    paste, after any words around it) to the last line with as many commas."""
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines[:20]) if _csv_header(line)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and "," in lines[end]:
        end += 1
    from envcheck.reports import nvidia_smi_csv
    from envcheck.snapshot.model import DriverInfo, Unavailable

    driver, gpus = nvidia_smi_csv.parse("\n".join(lines[start:end]))
    cuda = Unavailable("not_in_report", "nvidia-smi's query mode does not report the CUDA version")
    return partial_snapshot(driver=DriverInfo(driver, cuda, gpus, nvidia_on_pci=bool(gpus), source="report"))


def _csv_header(line: str) -> bool:
    names = [c.strip().split(" [")[0] for c in line.split(",")]
    return len(names) > 1 and any(n in ("name", "index", "driver_version", "uuid", "pci.bus_id") for n in names)


def _with_table(snapshot, table):
    """An nvidia-smi table pasted beside a collect_env report: the table's driver facts win (the
    driver printed them itself), collect_env's GPUs keep their compute capabilities."""
    from dataclasses import replace

    from envcheck.snapshot.model import known

    if snapshot is None:
        return partial_snapshot(driver=table)
    d = snapshot.driver
    driver = replace(
        table,
        cuda_driver_version=table.cuda_driver_version if known(table.cuda_driver_version) else d.cuda_driver_version,
        gpus=d.gpus if known(d.gpus) and d.gpus else table.gpus,
        nvidia_on_pci=d.nvidia_on_pci or bool(known(table.gpus) and table.gpus),
    )
    return replace(snapshot, driver=driver)


def _from_error_lines(body: str, tables):
    """A bare error or traceback: the facts its messages state (the driver's CUDA in "found version
    10010", GPU names and capabilities in torch's warnings); everything else is not in the report."""
    from envcheck.reports.collect_env import NOT_IN_REPORT, warned_facts
    from envcheck.snapshot.model import DriverInfo, GpuInfo

    facts = warned_facts(body)
    gpus = tuple(GpuInfo(i, name, NOT_IN_REPORT, NOT_IN_REPORT, cc, NOT_IN_REPORT) for i, (name, cc) in enumerate(facts.get("capabilities", {}).items()))
    driver = DriverInfo(NOT_IN_REPORT, facts.get("cuda_driver") or NOT_IN_REPORT, gpus or NOT_IN_REPORT, nvidia_on_pci=bool(gpus), source="report")
    return partial_snapshot(driver=driver)


def _inferred(snapshot, tables):
    """The newest CUDA a driver supports, from envcheck's tables, where the report gives only the
    driver's version; labelled as inferred (DriverInfo.cuda_driver_inferred). Values a report got
    wrong are made unknown first (snapshot_io.well_formed)."""
    from dataclasses import replace

    from envcheck.snapshot.json_io import well_formed
    from envcheck.snapshot.model import known
    from envcheck.versions import cuda_str

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
