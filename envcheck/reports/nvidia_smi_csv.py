"""`nvidia-smi --query-gpu=... --format=csv` output into GpuInfo rows.

Columns are found by the header's names (units in brackets are dropped), so any subset and order of
fields reads; values "[N/A]" and "[Not Supported]" become Unavailable. With `noheader`, the caller
passes the field names it asked for.
"""

from __future__ import annotations

import csv
import io

from envcheck.reports import ReportError
from envcheck.reports.nvidia_smi_values import cell, number
from envcheck.snapshot.facts import DriverInfo, GpuInfo, Unavailable

_FIELDS = ("name", "index", "driver_version", "uuid", "pci.bus_id")  # a header names at least one


def parse(text: str, fields: tuple[str, ...] | None = None) -> tuple[str | Unavailable, tuple[GpuInfo, ...]]:
    """(driver version, GPUs). Raises ReportError when the text is not such CSV."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text.strip(), newline=None), skipinitialspace=True) if r]
    except csv.Error as exc:
        raise ReportError(f"not nvidia-smi CSV: {exc}") from exc
    if not rows:
        raise ReportError("no nvidia-smi CSV rows")
    if fields is None:
        fields = tuple(h.split("[")[0].strip() for h in rows[0])
        rows = rows[1:]
        if "name" not in fields and "index" not in fields:
            raise ReportError("nvidia-smi CSV without an index or name column")
    gpus = []
    driver: str | Unavailable = Unavailable("not_queried", "driver_version was not among the queried fields")
    for n, row in enumerate(rows):
        if len(row) != len(fields):
            raise ReportError(f"nvidia-smi CSV row {n + 1} has {len(row)} values for {len(fields)} columns")
        v = {f: cell(x) for f, x in zip(fields, row)}
        if "driver_version" in v:
            driver = v["driver_version"]
        missing = Unavailable("not_queried", "not among the queried fields")
        index = number(v.get("index", str(n)), int)
        gpus.append(
            GpuInfo(
                index=index if isinstance(index, int) else n,
                name=v.get("name", missing),
                uuid=v.get("uuid", missing),
                pci_bus_id=v.get("pci.bus_id", missing),
                compute_capability=v.get("compute_cap", missing),
                memory_total_mib=number(v["memory.total"], int) if "memory.total" in v else missing,
                temperature_c=number(v["temperature.gpu"], int) if "temperature.gpu" in v else None,
                power_draw_w=number(v["power.draw"]) if "power.draw" in v else None,
                power_limit_w=number(v["power.limit"]) if "power.limit" in v else None,
            )
        )
    return driver, tuple(gpus)


def _header(line: str) -> bool:
    names = [c.strip().split(" [")[0] for c in line.split(",")]
    return len(names) > 1 and any(n in _FIELDS for n in names)


def sniff(text: str) -> bool:
    """A CSV header line among the first lines of the text (after any words around it)."""
    return any(_header(line) for line in text.splitlines()[:20])


def parts(text: str, tables=None) -> dict:
    """The driver part of a snapshot, from the header line to the last line with commas (as a
    reader of report texts, reports/read.py)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines[:20]) if _header(line))
    end = start + 1
    while end < len(lines) and "," in lines[end]:
        end += 1
    driver, gpus = parse("\n".join(lines[start:end]))
    cuda = Unavailable("not_in_report", "nvidia-smi's query mode does not report the CUDA version")
    return {"driver": DriverInfo(driver, cuda, gpus, nvidia_on_pci=bool(gpus), source="report")}
