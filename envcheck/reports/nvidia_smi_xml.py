"""`nvidia-smi -q -x` output (root <nvidia_smi_log>) into a DriverInfo.

Command line equivalent: `nvidia-smi -q -x`. Tag names changed across drivers and both spellings are
read: <clocks_throttle_reasons>/<clocks_throttle_reason_*> before 535 and <clocks_event_reasons>/
<clocks_event_reason_*> after; <power_readings> before 535 and <gpu_power_readings> after, where
<power_draw> later gave way to <instant_power_draw>/<average_power_draw> and <power_limit> to
<current_power_limit>; ECC counters as <double_bit><total> (older) or <sram_uncorrectable>,
<dram_uncorrectable>, ... (newer). GPUs are numbered in the order of their <gpu> elements, which is
nvidia-smi's (PCI bus) order; <minor_number> is the /dev/nvidiaN number, not the index.

Every real report starts with `<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_vNN.dtd">`. That exact
declaration is dropped before parsing; any other DOCTYPE, and any <!ENTITY>, is refused, so that a
pasted file cannot expand entities (defusedxml is not a dependency; ElementTree never fetches the
external DTD).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from envcheck.reports import ReportError, partial_snapshot
from envcheck.reports.nvidia_smi_values import NOT_AVAILABLE, cell, number
from envcheck.snapshot.model import DriverInfo, GpuInfo, GpuProcess, Unavailable

_NVSMI_DOCTYPE = re.compile(r"<!DOCTYPE\s+nvidia_smi_log\s+SYSTEM\s+(\"[^\"<>\[\]]*\"|'[^'<>\[\]]*')\s*>")

# Clocks-event reasons in the order of envcheck/probes/nvml.py CLOCKS_EVENT_REASONS (lowest bit
# first), by the suffix of their XML tag; the XML says "display_clocks_setting" where NVML's name is
# DisplayClockSetting.
_REASONS = (
    ("gpu_idle", "gpu_idle"),
    ("applications_clocks_setting", "applications_clocks_setting"),
    ("sw_power_cap", "sw_power_cap"),
    ("hw_slowdown", "hw_slowdown"),
    ("sync_boost", "sync_boost"),
    ("sw_thermal_slowdown", "sw_thermal_slowdown"),
    ("hw_thermal_slowdown", "hw_thermal_slowdown"),
    ("hw_power_brake_slowdown", "hw_power_brake_slowdown"),
    ("display_clocks_setting", "display_clock_setting"),
)


def _missing(what: str) -> Unavailable:
    return Unavailable("not_in_report", f"the XML has no {what}")


def _text(element, path: str):
    """The stripped text at `path`, Unavailable when absent or N/A."""
    found = element.find(path)
    if found is None:
        return _missing(f"<{path}>")
    return cell(found.text or "")


def _first(element, paths: tuple, kind=float):
    """The first of `paths` that holds a number; else the first one's reason."""
    results = [number(_text(element, p), kind) for p in paths]
    for r in results:
        if not isinstance(r, Unavailable):
            return r
    present = [r for r in results if r.code != "not_in_report"]
    return present[0] if present else _missing(" or ".join(f"<{p}>" for p in paths))


def _enabled(value):
    if isinstance(value, Unavailable):
        return value
    if value in ("Enabled", "On"):
        return True
    if value in ("Disabled", "Off"):
        return False
    return Unavailable("parse_error", f"nvidia-smi printed {value[:40]!r}")


def _reasons(gpu):
    group = gpu.find("clocks_event_reasons")
    if group is None:
        group = gpu.find("clocks_throttle_reasons")
    if group is None:
        return _missing("<clocks_event_reasons> or <clocks_throttle_reasons>")
    states = {}
    for child in group:
        suffix = re.sub(r"^clocks_(?:event|throttle)_reason_", "", child.tag)
        states[suffix] = (child.text or "").strip()
    if not any(v in ("Active", "Not Active") for v in states.values()):
        return NOT_AVAILABLE
    known_names = dict(_REASONS)
    active = tuple(name for suffix, name in _REASONS if states.get(suffix) == "Active")
    return active + tuple(s for s, v in states.items() if v == "Active" and s not in known_names)


def _ecc(gpu):
    volatile = gpu.find("ecc_errors/volatile")
    if volatile is None:
        return _missing("<ecc_errors><volatile>")
    if volatile.find("double_bit") is not None:  # drivers before ~515
        return number(_text(volatile, "double_bit/total"), int)
    counts = [number(_text(volatile, c.tag), int) for c in volatile if "uncorrectable" in c.tag]
    numbers = [c for c in counts if isinstance(c, int)]
    return sum(numbers) if numbers else NOT_AVAILABLE


def _processes(gpu):
    group = gpu.find("processes")
    if group is None:
        return _missing("<processes>")
    out = []
    for info in group.findall("process_info"):
        pid = number(_text(info, "pid"), int)
        if isinstance(pid, Unavailable):
            continue
        name = _text(info, "process_name")
        used = number(_text(info, "used_memory"), int)
        out.append(GpuProcess(pid=pid, name=name if isinstance(name, str) else "",
                              used_memory_mib=used if isinstance(used, int) else None))
    return tuple(out)


def _pcie_link(gpu):
    """"Gen3 x16", as the NVML probe writes it (current generation and width)."""
    gen = number(_text(gpu, "pci/pci_gpu_link_info/pcie_gen/current_link_gen"), int)
    width = _text(gpu, "pci/pci_gpu_link_info/link_widths/current_link_width")  # "16x"
    width = number(width.rstrip("x") if isinstance(width, str) else width, int)
    if isinstance(gen, Unavailable):
        return gen
    if isinstance(width, Unavailable):
        return width
    return f"Gen{gen} x{width}"


def _gpu(index: int, gpu) -> GpuInfo:
    power = gpu.find("gpu_power_readings")
    if power is None:
        power = gpu.find("power_readings")
    if power is None:
        draw = limit = _missing("<gpu_power_readings> or <power_readings>")
    else:
        draw = _first(power, ("power_draw", "instant_power_draw", "average_power_draw"))
        limit = _first(power, ("enforced_power_limit", "current_power_limit", "power_limit"))
    bus = _text(gpu, "pci/pci_bus_id")
    if isinstance(bus, Unavailable) and gpu.get("id"):
        bus = gpu.get("id")
    # <compute_cap> is read where a driver writes it; the reports seen so far carry none.
    capability = _text(gpu, "compute_cap")
    if isinstance(capability, Unavailable) and capability.code == "not_in_report":
        capability = Unavailable("not_in_report", "`nvidia-smi -q -x` does not report compute capability")
    return GpuInfo(
        index=index,
        name=_text(gpu, "product_name"),
        uuid=_text(gpu, "uuid"),
        pci_bus_id=bus,
        compute_capability=capability,
        memory_total_mib=number(_text(gpu, "fb_memory_usage/total"), int),
        temperature_c=number(_text(gpu, "temperature/gpu_temp"), int),
        power_draw_w=draw,
        power_limit_w=limit,
        clocks_event_reasons=_reasons(gpu),
        ecc_uncorrected_volatile=_ecc(gpu),
        mig_mode=_enabled(_text(gpu, "mig_mode/current_mig")),
        persistence_mode=_enabled(_text(gpu, "persistence_mode")),
        processes=_processes(gpu),
        pcie_link=_pcie_link(gpu),
    )


def sniff(text: str) -> bool:
    """The text is an nvidia-smi XML log (as a reader of report texts, reports/read.py)."""
    return text.startswith("<") and "nvidia_smi_log" in text[:2000]


def read(text: str, tables=None):
    """A snapshot of the driver and GPUs the log shows; the rest is not in the report."""
    return partial_snapshot(driver=parse(text))


def parse(text: str) -> DriverInfo:
    """DriverInfo from `nvidia-smi -q -x` output. Raises ReportError when the text is not one."""
    if not text.strip():
        raise ReportError("empty text: no nvidia-smi XML to read")
    if "<!ENTITY" in text:
        raise ReportError("the XML declares entities (<!ENTITY); refused: nvidia-smi never writes them")
    body = _NVSMI_DOCTYPE.sub("", text, count=1)
    if "<!DOCTYPE" in body:
        raise ReportError("the XML has a DOCTYPE other than nvidia-smi's; refused")
    try:
        root = ET.fromstring(body.strip())
    except ET.ParseError as exc:
        raise ReportError(f"not well-formed XML ({exc}): a cut-off or damaged nvidia-smi -q -x report?") from None
    except ValueError as exc:  # e.g. text that cannot be encoded (lone surrogates)
        raise ReportError(f"unreadable XML text ({type(exc).__name__})") from None
    if root.tag != "nvidia_smi_log":
        raise ReportError(f"the XML root is <{root.tag[:40]}>, not <nvidia_smi_log>: not nvidia-smi -q -x output")
    gpus = tuple(_gpu(i, g) for i, g in enumerate(root.findall("gpu")))
    return DriverInfo(
        driver_version=_text(root, "driver_version"),
        cuda_driver_version=_text(root, "cuda_version"),
        gpus=gpus,
        source="nvidia-smi",
    )
