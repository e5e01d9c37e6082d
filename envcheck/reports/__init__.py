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
    from envcheck.snapshot import (
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


FORMATS = "envcheck JSON, collect_env text, or nvidia-smi output (the table, -q -x XML, --query-gpu CSV)"


def read_report(text: str, tables=None):
    """Recognise the format and read it; ReportError names what was expected."""
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise ReportError("the report is empty")
    if body.startswith("{"):
        from envcheck.snapshot_io import load

        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ReportError(f"envcheck JSON that does not parse: {exc}") from exc
        if isinstance(data, dict) and "snapshot" in data and "findings" in data:
            data = data["snapshot"]  # the output of `doctor --json`
        return load(data)
    if body.startswith("<") and "nvidia_smi_log" in body[:2000]:
        from envcheck.reports import nvidia_smi_xml

        return partial_snapshot(driver=nvidia_smi_xml.parse(body))
    from envcheck.reports import collect_env

    if collect_env.looks_like(body):
        return collect_env.parse(body, tables)
    if "NVIDIA-SMI" in body and "Driver Version" in body:
        from envcheck.reports import nvidia_smi_table

        return partial_snapshot(driver=nvidia_smi_table.parse(body))
    first = body.splitlines()[0]
    if "," in first and ("name" in first or "index" in first or "driver_version" in first):
        from envcheck.reports import nvidia_smi_csv
        from envcheck.snapshot import DriverInfo, Unavailable

        driver, gpus = nvidia_smi_csv.parse(body)
        cuda = Unavailable("not_in_report", "nvidia-smi's query mode does not report the CUDA version")
        return partial_snapshot(driver=DriverInfo(driver, cuda, gpus, nvidia_on_pci=bool(gpus), source="report"))
    raise ReportError(f"not a report envcheck reads: expected {FORMATS}")
