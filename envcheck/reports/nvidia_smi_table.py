"""The default `nvidia-smi` table (what people paste into issues) into a DriverInfo.

Command line equivalent: plain `nvidia-smi`. The layout changed across driver generations and this
reader accepts all of those seen in real pastes:

- up to 4xx: a 79-column table, two rows per GPU, processes as "GPU PID Type Process name";
- 450-525: a third row per GPU with the "MIG M." column, processes with "GI ID" / "CI ID";
- 530+: 89 columns, a wider power column; 550+: 91 columns, a wider Bus-Id column;
- 580: a "+---+" rule under the header and "CUDA Version: 13.0";
- WSL: "NVIDIA-SMI 530.47   Driver Version: 531.68" (the Windows driver is the one that counts);
- newest drivers: "KMD Version: ..." and "CUDA UMD Version: ..." in place of the two names.

Columns are found by splitting rows on "|", never by fixed offsets, so indented or re-wrapped pastes
still read. The table truncates long GPU names ("NVIDIA GeForce RTX 309...", "Tesla V100-SXM2...");
they are kept exactly as printed, and `name_is_truncated` says so, because a truncated name cannot be
looked up in a table of GPU names as it stands. UUIDs, compute capability, clocks-event reasons and
the PCIe link are not in this table: they come out as Unavailable("not_in_report", ...).
"""

from __future__ import annotations

import re
from dataclasses import replace

from envcheck.numbers import ascii_int
from envcheck.reports import ReportError
from envcheck.reports.nvidia_smi_values import NOT_AVAILABLE
from envcheck.snapshot.model import DriverInfo, GpuInfo, GpuProcess, Unavailable, known

_NOT_IN_TABLE = "the default nvidia-smi table does not show it; `nvidia-smi -q -x` does"

_HEADER = re.compile(r"NVIDIA-SMI\s+\S+.*?\b(?:Driver|KMD) Version:\s*(\S*)")
_VERSION = re.compile(r"^\d+(?:\.\d+)+$")
_CUDA = re.compile(r"\bCUDA(?: UMD)? Version:\s*(\d+\.\d+)")
_GPU_FIRST = re.compile(r"^\s*(\d+)\s+(.*?)\s*$")
_PERSISTENCE = re.compile(r"^(.*?)\s+(On|Off|N/A|WDDM|TCC|MCDM)$")
_BUS_ID = re.compile(r"\b([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\b")
_TEMP = re.compile(r"\b(\d+)C\b")
_POWER = re.compile(r"(N/A|ERR!|\d+(?:\.\d+)?W)\s*/\s*(N/A|ERR!|\d+(?:\.\d+)?W)")
_MEMORY = re.compile(r"(\d+)MiB\s*/\s*(\d+)MiB")
# "|    0   N/A  N/A      3279      G   /usr/lib/xorg/Xorg     35MiB |" (450+, GI and CI columns)
# "|    0      1357      G   /usr/lib/xorg/Xorg                 18MiB |" (before 450)
_PROCESS = re.compile(
    r"^\|\s*(\d+)\s+(?:(?:N/A|\d+)\s+(?:N/A|\d+)\s+)?(\d+)\s+([A-Z][A-Z+]{0,4})\s+(.*?)\s*(\d+MiB|N/A)\s*\|?\s*$"
)


def name_is_truncated(name) -> bool:
    """True when the table cut the GPU name short ("NVIDIA GeForce RTX 309...")."""
    return isinstance(name, str) and name.endswith("...")


def _lines(text: str) -> list:
    # Pastes are often indented (Markdown, YAML) or carry a shell comment marker per line.
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("# ") and ("|" in line or "+" in line):
            line = line[2:].strip()
        out.append(line)
    return out


def _cells(line: str) -> list:
    """The three cells of a GPU row; missing cells (a cut-off line) are ""."""
    cells = line.strip().strip("|").split("|")
    return [c.strip() for c in cells] + [""] * (3 - len(cells))


def _watts(text: str):
    if text.endswith("W"):
        return float(text[:-1])
    return NOT_AVAILABLE


def _on_off(text: str):
    if text in ("On", "Enabled"):
        return True
    if text in ("Off", "Disabled"):
        return False
    if text in ("WDDM", "TCC", "MCDM"):
        return Unavailable("not_applicable", f"Windows shows the driver model ({text}) in this column")
    return NOT_AVAILABLE


def _cut_short(what: str) -> Unavailable:
    return Unavailable("not_in_report", f"the text ends before this GPU's {what}")


def _gpu(rows: list, has_mig_row: bool, processes) -> GpuInfo:
    first = _cells(rows[0])
    m = _GPU_FIRST.match(first[0])
    index, rest = int(m.group(1)), m.group(2)
    p = _PERSISTENCE.match(rest)
    name, persistence = (p.group(1), _on_off(p.group(2))) if p else (rest, _cut_short("persistence mode"))
    bus = _BUS_ID.search(first[1])
    ecc_text = first[2]
    ecc = ascii_int(ecc_text) if ascii_int(ecc_text) is not None else (
        Unavailable("not_available", f"nvidia-smi shows {ecc_text!r} for ECC") if ecc_text else _cut_short("ECC column")
    )

    temperature = power_draw = power_limit = memory = _cut_short("second row")
    if len(rows) > 1:
        second = _cells(rows[1])
        t = _TEMP.search(second[0])
        temperature = int(t.group(1)) if t else NOT_AVAILABLE
        pw = _POWER.search(second[0])
        power_draw, power_limit = (_watts(pw.group(1)), _watts(pw.group(2))) if pw else (NOT_AVAILABLE, NOT_AVAILABLE)
        mem = _MEMORY.search(second[1])
        memory = int(mem.group(2)) if mem else (NOT_AVAILABLE if second[1] else _cut_short("memory column"))

    if not has_mig_row:
        mig = Unavailable("not_in_report", "this driver's table has no MIG M. column")
    elif len(rows) > 2 and _cells(rows[2])[2]:
        mig = _on_off(_cells(rows[2])[2])
    else:
        mig = _cut_short("MIG M. row")

    return GpuInfo(
        index=index,
        name=name or _cut_short("name"),
        uuid=Unavailable("not_in_report", f"UUIDs: {_NOT_IN_TABLE}"),
        pci_bus_id=bus.group(1) if bus else _cut_short("Bus-Id"),
        compute_capability=Unavailable("not_in_report", f"compute capability: {_NOT_IN_TABLE}"),
        memory_total_mib=memory,
        temperature_c=temperature,
        power_draw_w=power_draw,
        power_limit_w=power_limit,
        clocks_event_reasons=Unavailable("not_in_report", f"clocks-event reasons: {_NOT_IN_TABLE}"),
        ecc_uncorrected_volatile=ecc,
        mig_mode=mig,
        persistence_mode=persistence,
        processes=processes.get(index, ()) if isinstance(processes, dict) else processes,
        pcie_link=Unavailable("not_in_report", f"the PCIe link: {_NOT_IN_TABLE}"),
    )


def _processes(lines: list, start: int):
    """{gpu index: (GpuProcess, ...)} from the Processes table at or after `start`, or Unavailable."""
    at = next((i for i in range(start, len(lines)) if "Processes:" in lines[i]), None)
    if at is None:
        return Unavailable("not_in_report", "the text has no Processes table")
    rule = next((i for i in range(at + 1, len(lines)) if lines[i].startswith("|=")), None)
    found: dict = {}
    if rule is None:
        return found
    for line in lines[rule + 1:]:
        if not line.startswith("|"):
            break
        m = _PROCESS.match(line)
        if m:
            used = m.group(5)
            proc = GpuProcess(pid=int(m.group(2)), name=m.group(4), used_memory_mib=int(used[:-3]) if used != "N/A" else None)
            found.setdefault(int(m.group(1)), []).append(proc)
    return {k: tuple(v) for k, v in found.items()}


def sniff(text: str) -> bool:
    """The text holds the table's "NVIDIA-SMI ... Driver Version:" header line."""
    return "NVIDIA-SMI" in text and any(_HEADER.search(line) for line in text.splitlines() if "NVIDIA-SMI" in line)


def parts(text: str, tables=None) -> dict:
    """The driver part of a snapshot (as a reader of report texts, reports/read.py)."""
    return {"driver": parse(text)}


def join_driver(reported: DriverInfo, table: DriverInfo) -> DriverInfo:
    """The table beside another report (collect_env): the table's driver facts win, as the driver
    printed them itself; the other report's GPUs keep their compute capabilities."""
    return replace(
        table,
        cuda_driver_version=table.cuda_driver_version if known(table.cuda_driver_version) else reported.cuda_driver_version,
        gpus=reported.gpus if known(reported.gpus) and reported.gpus else table.gpus,
        nvidia_on_pci=reported.nvidia_on_pci or bool(known(table.gpus) and table.gpus),
    )


def parse(text: str) -> DriverInfo:
    """DriverInfo from the default nvidia-smi table. Raises ReportError when the text is not one."""
    if not text.strip():
        raise ReportError("empty text: no nvidia-smi output to read")
    lines = _lines(text)
    header_at = next((i for i, line in enumerate(lines) if _HEADER.search(line)), None)
    if header_at is None:
        first = next(line for line in lines if line)
        if first.startswith("NVIDIA-SMI has failed") or first.startswith("Failed to initialize NVML"):
            why = Unavailable("driver_not_loaded", first[:200])
            return DriverInfo(driver_version=why, cuda_driver_version=why, gpus=why, source="nvidia-smi")
        if first.startswith("No devices were found"):
            missing = Unavailable("not_in_report", "nvidia-smi found no devices and printed no header")
            return DriverInfo(driver_version=missing, cuda_driver_version=missing, gpus=(), source="nvidia-smi")
        raise ReportError("no 'NVIDIA-SMI ... Driver Version:' header line: not the default nvidia-smi table")
    header = lines[header_at]
    version = _HEADER.search(header).group(1).rstrip("|")
    if not _VERSION.match(version):
        raise ReportError(f"the header's Driver Version {version!r} is not a version number")
    cuda = _CUDA.search(header)
    cuda_version = cuda.group(1) if cuda else Unavailable(
        "not_in_report", "the header has no CUDA Version (drivers before 410 print none)"
    )

    rule = next((i for i in range(header_at + 1, len(lines)) if lines[i].startswith("|=")), None)
    if rule is None:
        gpus = Unavailable("not_in_report", "the text ends before the GPU table")
        return DriverInfo(driver_version=version, cuda_driver_version=cuda_version, gpus=gpus, source="nvidia-smi")
    has_mig_row = any("MIG M." in line for line in lines[header_at:rule])

    records: list = []  # the two or three rows of each GPU
    end = rule + 1
    while end < len(lines):
        line = lines[end]
        if not line.startswith(("|", "+")) or "Processes:" in line or "MIG devices:" in line:
            break
        end += 1
        if not line.startswith("|"):
            continue  # a "+----+" rule between GPUs
        if _GPU_FIRST.match(_cells(line)[0]):
            records.append([line])
        elif records:
            records[-1].append(line)
        else:
            raise ReportError(f"line {end} should start a GPU row with its index: {line[:60]!r}")
    processes = _processes(lines, end)
    gpus = tuple(_gpu(rows, has_mig_row, processes) for rows in records)
    return DriverInfo(driver_version=version, cuda_driver_version=cuda_version, gpus=gpus, source="nvidia-smi")
