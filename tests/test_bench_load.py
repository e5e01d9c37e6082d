"""bench under load: the live NVML reading (probes/gpu_live.py) on replayed machines, the sampler's
summary (bench/sampler.py), and the verdicts judged on what NVML saw while the GPU was loaded
(bench/verdicts.py). The recorded H200 answers idle values first and its readings under a bf16
matmul afterwards, as the real one did (tests/fixtures/machines/h200_driver580.json)."""

from __future__ import annotations

import time

from envcheck.bench.results import DeviceResult, LoadSummary, Measurement
from envcheck.bench.sampler import Sampler, summarise
from envcheck.bench.verdicts import exit_code, judge
from envcheck.probes.gpu_live import LiveReading, open_live
from envcheck.probes.nvml import read_driver
from envcheck.snapshot.facts import Unavailable


def test_the_live_reading_sees_the_h200_under_load_where_the_first_read_saw_it_idle(machine):
    machine("h200_driver580")
    idle = read_driver().gpus[0]
    assert (idle.sm_clock_mhz, idle.clocks_event_reasons, idle.utilization_pct) == (345, ("gpu_idle",), 0)
    session = open_live([0])
    try:
        loaded = session.read(0)
    finally:
        session.close()
    assert (loaded.sm_clock_mhz, loaded.clocks_event_reasons, loaded.power_draw_w) == (1380, ("sw_power_cap",), 688.0)
    assert (loaded.pcie_link, loaded.utilization_pct, loaded.temperature_c) == ("Gen5 x16", 99, 54)


def test_a_field_the_board_cannot_report_is_unavailable_in_the_live_reading(machine):
    machine("driver535_gtx1080ti")  # recorded without clocks, power or reasons
    session = open_live([0])
    reading = session.read(0)
    session.close()
    assert isinstance(reading.sm_clock_mhz, Unavailable) and reading.sm_clock_mhz.code == "not_supported"


def test_the_sampler_reads_while_the_work_runs_and_summarises_it(machine):
    machine("h200_driver580")
    read_driver()  # the plan's read: the idle answers
    sampler = Sampler({"GPU 0": 0}, interval=0.01).start()
    time.sleep(0.2)
    readings, problem = sampler.stop()
    load = summarise(readings["GPU 0"], max_sm_clock_mhz=1980, power_limit_w=700.0, problem=problem)
    assert problem == "" and load.readings == load.busy >= 4
    assert 1380 <= load.sm_clock_mhz <= 1515 and load.sm_clock_min_mhz == 1380 and load.max_sm_clock_mhz == 1980
    assert 688 <= load.power_w <= 694 and load.power_limit_w == 700.0 and load.temperature_max_c == 59
    assert load.reasons == {"sw_power_cap": 1.0} and load.pcie_link == "Gen5 x16" and load.utilization_pct == 99


def _reading(util, clock, reasons=(), power=300.0, link="Gen4 x16"):
    return LiveReading(0.0, clock, power, 60, tuple(reasons), link, util)


def test_idle_readings_are_left_out_of_the_figures_under_load():
    """Readings taken while a worker still imports torch, or between suites, see an idle GPU."""
    readings = [_reading(0, 210, ["gpu_idle"], 20.0, "Gen1 x16"), _reading(99, 1700, ["sw_power_cap"]), _reading(98, 1800),
                _reading(3, 300, ["gpu_idle"], 25.0, "Gen1 x16")]
    load = summarise(readings, 2100, 350.0)
    assert (load.readings, load.busy, load.sm_clock_mhz, load.sm_clock_min_mhz) == (4, 2, 1750, 1700)
    assert load.reasons == {"sw_power_cap": 0.5} and load.pcie_link == "Gen4 x16" and load.power_w == 300.0


def test_a_wedged_driver_stops_the_sampler_and_says_why(machine):
    machine("wedged_driver")
    sampler = Sampler({"GPU 0": 0}, interval=0.01).start()
    started = time.monotonic()
    readings, problem = sampler.stop(wait=0.3)
    assert time.monotonic() - started < 5 and readings == {"GPU 0": []}
    verdicts = judge([_gpu("GPU 0", 700.0, summarise([], 1980, 700.0, problem))], {})
    assert [(v.severity, v.text) for v in verdicts] == [("info", "no NVML reading under load (NVML stopped answering (nothing for 0.3 s: "
                                                                 "a wedged driver?))")]


def _load(reasons: dict, power=690.0, limit=700.0, clock=1455.0, hottest=58) -> LoadSummary:
    return LoadSummary(readings=20, busy=20, sm_clock_mhz=clock, sm_clock_min_mhz=1380, max_sm_clock_mhz=1980, power_w=power,
                       power_limit_w=limit, temperature_max_c=hottest, utilization_pct=99, reasons=reasons, pcie_link="Gen5 x16")


def _gpu(label: str, bf16: float, load: LoadSummary | None) -> DeviceResult:
    return DeviceResult(label, "NVIDIA H200", (Measurement("matmul", "bf16", bf16, "TFLOP/s", bf16, bf16, 100, "8192x8192", True),), load=load)


def test_a_power_cap_at_full_load_is_normal():
    """The lent H200 under bf16 matmul: sw_power_cap in every reading at 688-694 W of 700 W."""
    verdicts = judge([_gpu("GPU 0", 760.0, _load({"sw_power_cap": 1.0}))], {})
    assert [(v.severity, v.text) for v in verdicts] == [
        ("info", "power-limited: normal under full load: median 690 W of its 700 W limit, SM clock median 1455 of 1980 MHz, "
                 "sw_power_cap in 100% of readings")]
    assert exit_code(verdicts) == 0


def test_a_power_capped_gpu_far_slower_than_its_siblings_names_the_cap():
    results = [_gpu("GPU 0", 760.0, _load({"sw_power_cap": 1.0})), _gpu("GPU 1", 560.0, _load({"sw_power_cap": 1.0}, power=449.0, limit=450.0)),
               _gpu("GPU 2", 765.0, _load({"sw_power_cap": 1.0}))]
    verdicts = judge(results, {})
    slow = [v for v in verdicts if v.label == "GPU 1"]
    assert [(v.severity, v.text) for v in slow] == [
        ("warn", "matmul bf16: 27% slower than its siblings (560 vs 762); under load: power-capped at 450 W in 100% of readings")]
    assert {v.label for v in verdicts if v.severity == "info"} == {"GPU 0", "GPU 2"} and exit_code(verdicts) == 1


def test_a_thermal_slowdown_under_load_is_a_warning_with_what_to_check():
    verdicts = judge([_gpu("GPU 2", 700.0, _load({"sw_power_cap": 1.0, "sw_thermal_slowdown": 0.4}, hottest=89))], {})
    assert [(v.severity, v.text) for v in verdicts] == [
        ("warn", "slowed down by the hardware under load: sw_thermal_slowdown in 40% of readings (up to 89 °C): too hot: check the fans, "
                 "the airflow through the case or rack, and dust")]


def test_a_power_brake_points_at_the_power_supply():
    verdicts = judge([_gpu("GPU 0", 300.0, _load({"hw_slowdown": 1.0, "hw_power_brake_slowdown": 1.0}))], {})
    (v,) = verdicts
    assert v.severity == "warn" and "hw_slowdown in 100% of readings, hw_power_brake_slowdown in 100% of readings" in v.text
    assert "check the cooling and the power cables" in v.text and "check the power supply and the GPU's power cables" in v.text


def test_a_gpu_never_seen_busy_says_its_state_under_load_is_unknown():
    idle = summarise([_reading(0, 210, ["gpu_idle"])], 2100, 350.0)
    (v,) = judge([_gpu("GPU 0", 70.0, idle)], {})
    assert v.severity == "info" and v.text.startswith("NVML never saw it busy in 1 readings")


def test_a_gpu_whose_link_trained_narrower_than_its_siblings_names_the_link():
    """A riser or a slot that trains at x4: the host copies of that GPU lag, and the link under load says why."""
    def h2d(label, gbs, link):
        load = LoadSummary(readings=8, busy=8, sm_clock_mhz=1900, reasons={}, pcie_link=link)
        return DeviceResult(label, "NVIDIA GeForce RTX 3090", (Measurement("memory", "h2d pinned", gbs, "GB/s", gbs, gbs, 40, "1024 MiB"),),
                            load=load)

    verdicts = judge([h2d("GPU 0", 25.0, "Gen4 x16"), h2d("GPU 1", 6.5, "Gen4 x4"), h2d("GPU 2", 24.8, "Gen4 x16")], {})
    assert [(v.label, v.text) for v in verdicts] == [
        ("GPU 1", "memory h2d pinned: 74% slower than its siblings (6.50 vs 24.9); under load: PCIe Gen4 x4 (its siblings: Gen4 x16)")]


def test_a_power_cap_in_a_few_readings_is_not_called_power_limited():
    """The lent H200 under bench --level quick: sw_power_cap in 20% of the busy readings, median
    238 W of 700: bursts touched the limit, the run was not power-limited."""
    from envcheck.bench.results import DeviceResult, LoadSummary
    from envcheck.bench.verdicts import judge

    load = LoadSummary(readings=63, busy=20, sm_clock_mhz=1980.0, sm_clock_min_mhz=1605, max_sm_clock_mhz=1980, power_w=238.1,
                       power_limit_w=700.0, temperature_max_c=58, utilization_pct=95.5, reasons={"sw_power_cap": 0.2}, pcie_link="Gen5 x16")
    (v,) = judge([DeviceResult("GPU 0", "NVIDIA H200", load=load)], {})
    assert v.severity == "info" and v.text.startswith("touched its power limit now and then") and "power-limited" not in v.text
