"""Driver and GPU checks: is there a driver, does it match its kernel module, is it new enough
for the installed torch, and are the GPUs healthy."""

from __future__ import annotations

from envcheck.checks.findings import Finding
from envcheck.checks.fixes import stack_fix
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


def check_driver(s: Snapshot, tables) -> list[Finding]:
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
        return [
            Finding(
                "driver-library-mismatch",
                "error",
                "driver",
                "the NVIDIA kernel module and the user-space driver libraries are different versions",
                facts,
                fix="sudo reboot",
                why="the driver was upgraded and the old kernel module is still loaded; a reboot loads the new one",
            )
        ]
    expects_gpu = d.nvidia_on_pci or bool(_torch_cuda(s))
    if not expects_gpu:
        return [
            Finding(
                "no-driver",
                "info",
                "driver",
                "no NVIDIA GPU or driver on this machine: PyTorch will run on the CPU",
                {"nvml": why.reason},
            )
        ]
    if why.code == "driver_not_loaded":
        summary, fix = "an NVIDIA GPU is here but its driver is not loaded", "sudo modprobe nvidia"
    else:
        summary, fix = "an NVIDIA GPU is here but no NVIDIA driver answers", None
    place = " (in a container: start it with the NVIDIA runtime, e.g. docker run --gpus all)" if s.system.container else ""
    return [Finding("no-driver", "error", "driver", summary + place, {"nvml": why.reason, "nvidia_on_pci": d.nvidia_on_pci}, fix=fix)]


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


def check_driver_too_old(s: Snapshot, tables) -> list[Finding]:
    """driver-too-old (respecting minor-version compatibility), compat-table-stale."""
    out: list[Finding] = []
    drv = s.driver.driver_version
    cuda = _torch_cuda(s)
    support = torch_driver_support(s, tables)
    if support is not None and not known(drv) and support.level == "none":
        have = s.driver.cuda_driver_version
        out.append(Finding("driver-too-old", "error", "driver", f"the driver supports CUDA {have}, torch is built for CUDA {cuda}",
                           {"driver_cuda": have, "torch_cuda": cuda}, why="install a torch build for this driver (the fix), or upgrade the driver",
                           **stack_fix(s, tables)))
    if support is not None and known(drv):
        facts = {"driver": drv, "torch_cuda": cuda, "needs": support.full, "minor_version_compat_from": support.mvc}
        if support.level == "minor-version":
            out.append(
                Finding(
                    "driver-too-old",
                    "info",
                    "driver",
                    f"driver {drv} runs torch's CUDA {cuda} only through minor-version compatibility",
                    facts,
                    why="the driver cannot JIT-compile newer PTX: torch.compile/Triton kernels may fail"
                    + (f"; a driver ≥ {support.full} gives full support" if support.full else ""),
                )
            )
        elif support.level == "none":
            out.append(
                Finding(
                    "driver-too-old",
                    "error",
                    "driver",
                    f"driver {drv} is too old for torch's CUDA {cuda} (needs ≥ {support.needs})",
                    facts,
                    why="install a torch build for this driver (the fix), or upgrade the driver",
                    **stack_fix(s, tables),
                )
            )
    t = s.torch
    if isinstance(t, Torch) and t.status == "ok" and t.version and tables.releases:
        base = t.version.split("+")[0]
        newest = tables.releases[0].torch
        if release_of(base) and pad3(vtuple(release_of(base))) > pad3(vtuple(newest)):
            out.append(
                Finding(
                    "compat-table-stale",
                    "info",
                    "torch",
                    f"torch {base} is newer than envcheck's tables ({newest}); runtime checks still apply",
                    {"torch": base, "tables_newest": newest},
                    fix="pip install --upgrade envcheck",
                )
            )
    return out


def check_gpu_health(s: Snapshot, tables) -> list[Finding]:
    """gpu-health: throttling, heat, ECC errors, other processes, MIG."""
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
            out.append(Finding("gpu-health", "warn", "driver", f"{name} is throttled: {', '.join(bad)}", {"gpu": g.index, "reasons": list(bad)},
                               why="sustained throttling slows training; check cooling, power cables and the power limit"))
        elif limits:
            out.append(Finding("gpu-health", "info", "driver", f"{name} holds its clocks at a limit: {', '.join(limits)}",
                               {"gpu": g.index, "reasons": list(limits)},
                               why="normal while a job runs at full load: the board keeps its power limit"))
        if isinstance(g.temperature_c, int) and g.temperature_c >= HOT_C:
            out.append(Finding("gpu-health", "warn", "driver", f"{name} runs at {g.temperature_c} °C", {"gpu": g.index, "temperature_c": g.temperature_c}))
        if isinstance(g.ecc_uncorrected_volatile, int) and g.ecc_uncorrected_volatile > 0:
            out.append(Finding("gpu-health", "error", "driver", f"{name} has {g.ecc_uncorrected_volatile} uncorrected ECC errors since boot",
                               {"gpu": g.index, "ecc_uncorrected_volatile": g.ecc_uncorrected_volatile},
                               why="uncorrected memory errors corrupt results; drain the GPU and have it checked"))
        if g.processes and known(g.processes):
            used = sum(p.used_memory_mib or 0 for p in g.processes)
            out.append(Finding("gpu-health", "info", "driver", f"{name} is in use by {len(g.processes)} process(es) ({used} MiB)",
                               {"gpu": g.index, "pids": [p.pid for p in g.processes]}))
        if g.mig_mode is True:
            out.append(Finding("gpu-health", "info", "driver", f"{name} has MIG enabled: CUDA sees MIG instances, not the whole GPU",
                               {"gpu": g.index, "mig_mode": True}))
    cold = [g.index for g in gpus if g.persistence_mode is False]
    if len(gpus) > 1 and cold and s.system.os == "linux":
        # NVIDIA, "Driver Persistence": without it the driver tears a GPU down when its last client
        # exits and starts it again for the next, "a short (order of 1-3 second) startup cost per GPU".
        out.append(Finding("gpu-health", "info", "driver",
                           f"persistence mode is off on GPU{'s' if len(cold) > 1 else ''} {', '.join(map(str, cold))}: every program "
                           f"that opens them waits 1-3 s per GPU while the driver starts it", {"gpus": cold, "persistence_mode": False},
                           why="the driver stops an idle GPU when its last program exits; nvidia-persistenced keeps it ready",
                           fix="sudo nvidia-smi -pm 1"))
    return out


def check_nvml_bindings(s: Snapshot, tables) -> list[Finding]:
    """nvml-bindings-broken: the nvidia-ml-py envcheck read NVML with is the release that scrambles
    the GPUs' process list on this driver, so the processes and their memory may be wrong."""
    d = s.driver
    if d.bindings_version != SCRAMBLING_BINDINGS:
        return []
    drv = d.driver_version if known(d.driver_version) and is_driver_version(d.driver_version) else None
    low, high = BINDINGS_READ_RIGHT
    if drv and low <= driver_tuple(drv)[:2] < high:
        return []  # the one driver line whose process list this release reads right
    on = f"driver {drv}" if drv else "this driver"
    return [Finding("nvml-bindings-broken", "warn", "driver",
                    f"nvidia-ml-py {SCRAMBLING_BINDINGS} reads the GPUs' processes wrongly with {on}: "
                    "process IDs and memory shown here may be wrong",
                    {"nvidia_ml_py": d.bindings_version, "driver": drv},
                    fix="pip install -U nvidia-ml-py",
                    why="this release expects the process list that only drivers 535.43 to 535.86 give; later releases read newer drivers right")]
