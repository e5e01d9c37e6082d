"""Driver and GPU checks: is there a driver, does it match its kernel module, is it new enough
for the installed torch, and are the GPUs healthy."""

from __future__ import annotations

from envcheck.checks.codes import finding
from envcheck.checks.findings import Finding
from envcheck.snapshot.model import Snapshot, Torch, known
from envcheck.versions import (
    cuda_version,
    driver_tuple,
    is_driver_version,
    pad3,
    release_of,
    vtuple,
)

# Clock-event reasons that say nothing is wrong (NVML: idle, or clocks set on purpose).
# Codes that mean "a report did not say", not "the machine has no driver".
UNKNOWN = {"not_in_report", "not_queried"}
BENIGN_CLOCK_REASONS = {"gpu_idle", "applications_clocks_setting", "display_clock_setting", "sync_boost"}
# Limits the board keeps on purpose: a data-centre GPU under full load holds its power limit
# (sw_power_cap: an H200 at 690 of 700 W ran at 1380-1515 of 1980 MHz, benchmarks/RESULTS.md), and
# board_limit / reliability_voltage are the board's own clock limits. Worth a word, not an alarm.
LIMIT_CLOCK_REASONS = {"sw_power_cap", "board_limit", "reliability_voltage"}
HOT_C = 85

# nvidia-ml-py 12.535.77 reads NVML's process list as an array of the v3 process-info struct (with
# usedGpuCcProtectedMemory, 8 bytes longer than v2), which only drivers 535.43 up to 535.86 return;
# with any other driver, 535.98 and later included, each entry is read at the wrong offset and the
# PIDs and memory come out scrambled (PIDs of 0 and 4294967295). nvidia-ml-py 12.535.108 and later
# read it right. Sources: gpustat issue #161 and its check in gpustat/nvml.py
# (https://github.com/wookayin/gpustat/issues/161), nvitop PR #79 (the two struct sizes) and PR #89
# (535.98 dropped the v3 struct again): https://github.com/XuehaiPan/nvitop/pull/79, /pull/89.
SCRAMBLING_BINDINGS = "12.535.77"
BINDINGS_READ_RIGHT = ((535, 43), (535, 86))  # the drivers 12.535.77 reads right: from, up to (not included)


def _torch_cuda(s: Snapshot) -> str | None:
    t = s.torch
    return t.cuda if isinstance(t, Torch) and t.status == "ok" else None


def check_driver(s: Snapshot, tables, stack=None) -> list[Finding]:
    """no-driver, driver-library-mismatch."""
    d = s.driver
    if known(d.driver_version):
        return []
    why = d.driver_version
    if why.code in UNKNOWN:
        return []  # a report that does not say is not a machine without a driver
    t = s.torch
    if why.code == "not_collected" and isinstance(t, Torch) and t.cuda_available:
        return []  # collect_env missed nvidia-smi, yet torch used the GPU: a driver is there
    if why.code == "driver_library_mismatch":
        facts = {"nvml": why.reason}
        if d.kernel_module_version and known(d.kernel_module_version):
            facts["kernel_module"] = d.kernel_module_version
        return [finding("driver-library-mismatch", "", facts)]
    expects_gpu = d.nvidia_on_pci or bool(_torch_cuda(s))
    if not expects_gpu:
        return [finding("no-driver", "no-gpu", {"nvml": why.reason})]
    if why.code == "driver_not_loaded":
        variant = "not-loaded-in-container" if s.system.container else "not-loaded"
    else:
        variant = "no-answer-in-container" if s.system.container else "no-answer"
    return [finding("no-driver", variant, {"nvml": why.reason, "nvidia_on_pci": d.nvidia_on_pci})]


def torch_driver_support(s: Snapshot, tables):
    """How the driver runs the installed torch's CUDA (tables.drivers.support), or None when the
    snapshot has no CUDA torch or nothing about the driver."""
    cuda = cuda_version(_torch_cuda(s) or "")
    if not cuda:
        return None
    drv, drv_cuda = s.driver.driver_version, s.driver.cuda_driver_version
    if known(drv) and not is_driver_version(drv):
        drv = None  # not a version envcheck can compare (a report's "N/A")
    support = tables.drivers.support(
        cuda,
        s.system.os,
        driver=drv if drv and known(drv) else None,
        driver_cuda=cuda_version(drv_cuda) if known(drv_cuda) and not (drv and known(drv)) else None,
    )
    return None if support.level == "unknown" else support


def driver_runs_torch(s: Snapshot, tables) -> bool | None:
    """Can this driver load the installed torch's CUDA (minor-version compatibility counts)?
    None when the snapshot cannot tell."""
    support = torch_driver_support(s, tables)
    return None if support is None else support.runs


def check_driver_too_old(s: Snapshot, tables, stack) -> list[Finding]:
    """driver-too-old (respecting minor-version compatibility), compat-table-stale."""
    out: list[Finding] = []
    drv = s.driver.driver_version
    cuda = _torch_cuda(s)
    support = torch_driver_support(s, tables)
    if support is not None and not known(drv) and support.level == "none":
        have = s.driver.cuda_driver_version
        out.append(finding("driver-too-old", "cuda-only", {"driver_cuda": have, "torch_cuda": cuda}, fix=stack.fix))
    if support is not None and known(drv):
        facts = {"driver": drv, "torch_cuda": cuda, "needs": support.full, "minor_version_compat_from": support.mvc}
        if support.level == "minor-version":
            out.append(finding("driver-too-old", "minor-version-upgradable" if support.full else "minor-version", facts))
        elif support.level == "none":
            out.append(finding("driver-too-old", "too-old", facts, fix=stack.fix, minimum=support.needs))
    t = s.torch
    if isinstance(t, Torch) and t.status == "ok" and t.version and tables.releases:
        base = t.version.split("+")[0]
        newest = tables.releases[0].torch
        if release_of(base) and pad3(vtuple(release_of(base))) > pad3(vtuple(newest)):
            out.append(finding("compat-table-stale", "", {"torch": base, "tables_newest": newest}))
    return out


def check_gpu_health(s: Snapshot, tables, stack=None) -> list[Finding]:
    """gpu-health: throttling, heat, ECC errors, other processes, MIG, persistence mode."""
    gpus = s.driver.gpus
    if not known(gpus):
        return []
    out: list[Finding] = []
    for g in gpus:
        name = f"GPU {g.index} ({g.name})" if known(g.name) else f"GPU {g.index}"
        reasons = g.clocks_event_reasons if g.clocks_event_reasons and known(g.clocks_event_reasons) else ()
        bad = [r for r in reasons if r not in BENIGN_CLOCK_REASONS | LIMIT_CLOCK_REASONS]
        limits = [r for r in reasons if r in LIMIT_CLOCK_REASONS]
        if bad:
            out.append(finding("gpu-health", "throttled", {"gpu": g.index, "reasons": list(bad)}, name=name,
                               reasons_text=", ".join(bad)))
        elif limits:
            out.append(finding("gpu-health", "clock-limit", {"gpu": g.index, "reasons": list(limits)}, name=name,
                               reasons_text=", ".join(limits)))
        if isinstance(g.temperature_c, int) and g.temperature_c >= HOT_C:
            out.append(finding("gpu-health", "hot", {"gpu": g.index, "temperature_c": g.temperature_c}, name=name))
        if isinstance(g.ecc_uncorrected_volatile, int) and g.ecc_uncorrected_volatile > 0:
            out.append(finding("gpu-health", "ecc", {"gpu": g.index, "ecc_uncorrected_volatile": g.ecc_uncorrected_volatile},
                               name=name))
        if g.processes and known(g.processes):
            used = sum(p.used_memory_mib or 0 for p in g.processes)
            out.append(finding("gpu-health", "busy", {"gpu": g.index, "pids": [p.pid for p in g.processes]}, name=name,
                               count=len(g.processes), used=used))
        if g.mig_mode is True:
            out.append(finding("gpu-health", "mig", {"gpu": g.index, "mig_mode": True}, name=name))
    cold = [g.index for g in gpus if g.persistence_mode is False]
    if len(gpus) > 1 and cold and s.system.os == "linux":
        # NVIDIA, "Driver Persistence": without it the driver tears a GPU down when its last client
        # exits and starts it again for the next, "a short (order of 1-3 second) startup cost per GPU".
        out.append(finding("gpu-health", "persistence-off", {"gpus": cold, "persistence_mode": False},
                           plural="s" if len(cold) > 1 else "", gpu_list=", ".join(map(str, cold))))
    return out


def check_nvml_bindings(s: Snapshot, tables, stack=None) -> list[Finding]:
    """nvml-bindings-broken: the nvidia-ml-py envcheck read NVML with is the release that scrambles
    the GPUs' process list on this driver, so the processes and their memory may be wrong."""
    d = s.driver
    if d.bindings_version != SCRAMBLING_BINDINGS:
        return []
    drv = d.driver_version if known(d.driver_version) and is_driver_version(d.driver_version) else None
    low, high = BINDINGS_READ_RIGHT
    if drv and low <= driver_tuple(drv)[:2] < high:
        return []  # the one driver line whose process list this release reads right
    return [finding("nvml-bindings-broken", "", {"nvidia_ml_py": d.bindings_version, "driver": drv},
                    on=f"driver {drv}" if drv else "this driver")]
