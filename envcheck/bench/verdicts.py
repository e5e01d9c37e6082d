"""Judging benchmark figures: against the GPU's datasheet peak (compat/gpus.toml) and against its
sibling GPUs in the same run, with the causes NVML saw while the GPU was loaded (bench.sampler).
Pure functions of the results."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from envcheck.numbers import figure

LAG = 0.10  # a device more than 10% slower than the median of its siblings is flagged
LOW_PEAK = 0.5  # below half the datasheet peak: throttling, power cap, sharing, wrong mode
HIGH_PEAK = 1.25  # above: GeForce boost clocks run past the rated clock; more than this is suspicious

# Clocks-event reasons by which the board slows itself down, and what to check. NVML API reference,
# nvmlClocksEventReasons: HW Slowdown "(reducing the core clocks by a factor of 2 or more) is
# engaged", an indicator of temperature being too high, an External Power Brake Assertion (e.g. by
# the system power supply) or power draw too high for Fast Trigger protection; SW/HW Thermal
# Slowdown: too hot; HW Power Brake Slowdown: the external power brake.
HARDWARE = {
    "hw_slowdown": "the board cut its clocks by half or more, for heat or a power problem: check the cooling and the power cables",
    "hw_thermal_slowdown": "too hot: check the fans, the airflow through the case or rack, and dust",
    "sw_thermal_slowdown": "too hot: check the fans, the airflow through the case or rack, and dust",
    "hw_power_brake_slowdown": "the power supply told the GPU to brake: check the power supply and the GPU's power cables",
}
# "The clocks have been optimized to ensure not to exceed currently set power limits" (NVML API
# reference, nvmlClocksEventReasonSwPowerCap): at full load a data-centre GPU holds its limit this
# way all the time (the lent H200: 0x4 in every reading at 688-694 W of 700 W). Normal, unless the
# GPU is also slow.
POWER_CAP = "sw_power_cap"
HELD = 0.5  # share of busy readings with a reason for the GPU to be said to hold it


@dataclass(frozen=True)
class Verdict:
    label: str
    severity: str  # ok | info | warn | error
    text: str


def peak_for(gpu_row, m) -> float | None:
    """The datasheet figure this measurement is judged against (TFLOP/s or GB/s)."""
    if gpu_row is None:
        return None
    if m.suite == "matmul":
        return gpu_row.peaks.get(m.name)
    if m.suite == "memory" and m.name == "copy":
        return gpu_row.mem_bw_gbs
    return None


def causes(load, usual_link: str | None = None) -> list:
    """What held this GPU back while it was loaded, in words: each hardware slowdown and the power
    cap, with the share of busy readings that showed it, and a PCIe link other than its siblings'
    (`usual_link`: the one most of them ran at). [] when nothing did or nothing is known."""
    if load is None or not load.busy:
        return []
    out = [f"{name} in {share:.0%} of readings" for name, share in load.reasons.items() if name in HARDWARE]
    if load.reasons.get(POWER_CAP):
        at = f" at {load.power_limit_w:g} W" if load.power_limit_w else ""
        out.append(f"power-capped{at} in {load.reasons[POWER_CAP]:.0%} of readings")
    if usual_link and load.pcie_link and load.pcie_link != usual_link:
        out.append(f"PCIe {load.pcie_link} (its siblings: {usual_link})")
    return out


def _usual_link(loads: dict) -> str | None:
    """The PCIe link more than half the GPUs of this run held under load, if one is."""
    links = Counter(load.pcie_link for load in loads.values() if load is not None and load.busy and load.pcie_link)
    if not links:
        return None
    link, n = links.most_common(1)[0]
    return link if n > sum(links.values()) / 2 else None


def _state(load) -> list:
    """Its median power and SM clock under load, each beside the board's limit, in words."""
    out = []
    if load.power_w is not None:
        out.append(f"median {load.power_w:.0f} W" + (f" of its {load.power_limit_w:g} W limit" if load.power_limit_w else ""))
    if load.sm_clock_mhz is not None:
        out.append(f"SM clock median {load.sm_clock_mhz:.0f}" + (f" of {load.max_sm_clock_mhz}" if load.max_sm_clock_mhz else "") + " MHz")
    return out


def _load_verdicts(r, slow: bool) -> list:
    """A GPU's state under load as verdicts: a hardware slowdown is a problem with its advice; the
    power cap alone is normal, unless the GPU is also slow (then the slow figures name it)."""
    load = r.load
    if load is None:
        return []
    if load.problem:
        return [Verdict(r.label, "info", f"no NVML reading under load ({load.problem})")]
    if not load.busy:
        return [Verdict(r.label, "info", f"NVML never saw it busy in {load.readings} readings: its clocks and power under load are unknown "
                                         "(a very short run?)")]
    out = []
    hardware = [name for name in load.reasons if name in HARDWARE]
    if hardware:
        hot = f" (up to {load.temperature_max_c} °C)" if load.temperature_max_c is not None else ""
        advice = "; ".join(dict.fromkeys(HARDWARE[name] for name in hardware))
        seen = ", ".join(f"{name} in {load.reasons[name]:.0%} of readings" for name in hardware)
        out.append(Verdict(r.label, "warn", f"slowed down by the hardware under load: {seen}{hot}: {advice}"))
    elif load.reasons.get(POWER_CAP) and not slow:
        facts = [*_state(load), f"{POWER_CAP} in {load.reasons[POWER_CAP]:.0%} of readings"]
        # The lent H200 held 0x4 in every reading of a steady bf16 load (690 of 700 W), but in a fifth
        # of bench --level quick's (median 238 W): short bursts touch the limit; only most of the run is "power-limited".
        what = "power-limited: normal under full load" if load.reasons[POWER_CAP] >= HELD else "touched its power limit now and then: normal under load"
        out.append(Verdict(r.label, "info", f"{what}: {', '.join(facts)}"))
    return out


def judge(results: list, rows: dict) -> list:
    """rows: label -> GPU table row (or None). Causes come from each result's readings under load."""
    loads = {r.label: r.load for r in results}
    usual = _usual_link(loads)

    def why(label) -> str:
        found = causes(loads.get(label), usual)
        return f"; under load: {', '.join(found)}" if found else ""

    out: list = []
    for r in results:
        for e in r.errors:
            out.append(Verdict(r.label, "error", e))
        for m in r.measurements:
            if m.correct is False:
                out.append(Verdict(r.label, "error", f"{m.suite} {m.name}: {m.note}"))
            peak = peak_for(rows.get(r.label), m)
            if peak:
                frac = m.value / peak
                if frac < LOW_PEAK:
                    out.append(Verdict(r.label, "warn", f"{m.suite} {m.name}: {figure(m.value)} {m.unit} is {frac:.0%} of the datasheet's {peak:g}"
                                                        f"{why(r.label)}"))
                elif frac > HIGH_PEAK:
                    out.append(Verdict(r.label, "info", f"{m.suite} {m.name}: {frac:.0%} of the datasheet's {peak:g}: above the rated clock, or the GPU table is wrong for this board"))
    # siblings are devices of one model: a 1g.10gb MIG slice, or an RTX 3060 beside a 3090, is not slow
    keys = {(m.suite, m.name, r.name) for r in results for m in r.measurements}
    for key in sorted(keys):
        values = {r.label: m.value for r in results for m in r.measurements if (m.suite, m.name, r.name) == key}
        if len(values) < 2:
            continue
        for label, v in values.items():
            others = statistics.median([x for k, x in values.items() if k != label])
            if others > 0 and v < (1 - LAG) * others:
                out.append(Verdict(label, "warn", f"{key[0]} {key[1]}: {1 - v / others:.0%} slower than its siblings ({figure(v)} vs {figure(others)})"
                                                  f"{why(label)}"))
    slow = {v.label for v in out if v.severity == "warn"}
    for r in results:
        out += _load_verdicts(r, r.label in slow)
    return out


def exit_code(verdicts: list) -> int:
    """2 for any error (a failed device, wrong bits), 1 for warnings only, else 0 (docs/DESIGN.md)."""
    worst = {v.severity for v in verdicts}
    return 2 if "error" in worst else 1 if "warn" in worst else 0
