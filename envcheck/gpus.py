"""`envcheck gpus`: the GPUs at a glance before a job starts (which ones to start it on: gpu_pick.py).

Pure functions of what the probes collected (the driver's answer, the users of the GPU processes)
and of the user's CUDA_VISIBLE_DEVICES: nothing here touches NVML, /proc or the clock, so every
rule is tested on replayed machines.

Numbering: GPUs are named by nvidia-smi's index (NVML, PCI bus order). A process started with
CUDA_VISIBLE_DEVICES sees only the GPUs it lists, numbered from 0 in the order listed: under
`CUDA_VISIBLE_DEVICES=0,2,3`, physical GPU 2 is `cuda:1`. CUDA reads the indices in its own
enumeration order, which is nvidia-smi's only under CUDA_DEVICE_ORDER=PCI_BUS_ID (the default,
FASTEST_FIRST, puts the fastest model first), so the printed command sets it (CUDA C Programming
Guide, "CUDA Environment Variables").
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Mapping, Optional, Union

from envcheck.snapshot.facts import DriverInfo, GpuInfo, Unavailable, known, permitted
from envcheck.visible_devices import cuda_devices, cuda_gpus, many_mig, mig_devices

# Load, as gpustat colours it: a GPU is busy when its kernels run most of the time or its memory
# is nearly full (a new job would not fit); in use when anything at all runs on it.
BUSY_UTILIZATION_PCT = 50
BUSY_MEMORY_FRACTION = 0.8
IN_USE_UTILIZATION_PCT = 5
IN_USE_MEMORY_FRACTION = 0.1  # above what a display server or an idle context holds
OTHER_JOB = "other job"  # the load of a GPU this process may not open (NVML_ERROR_NO_PERMISSION)


@dataclass(frozen=True)
class ProcessView:
    pid: int
    name: str  # "" where NVML could not name it (a process of another PID namespace)
    user: Optional[str]  # None where the process could not be read (gone, or not ours to read)
    used_memory_mib: Optional[int]


@dataclass(frozen=True)
class MigView:
    """One MIG device of a GPU in MIG mode: what a CUDA process uses instead of the whole GPU."""

    index: int  # NVML's MIG index under its GPU ("Device N" in nvidia-smi -L)
    uuid: Union[str, Unavailable]  # MIG-...: the CUDA_VISIBLE_DEVICES that selects it
    profile: str  # "3g.40gb"; "?" where NVML gave no name
    sm_count: Union[int, Unavailable]
    cuda_ordinal: Optional[int]  # cuda:N under the current CUDA_VISIBLE_DEVICES; None: not enumerated
    load: str
    memory_used_mib: Union[int, Unavailable, None]
    memory_total_mib: Union[int, Unavailable, None]
    processes: Union[tuple, Unavailable, None]
    utilization_pct: None = None  # NVML gives none for MIG devices


@dataclass(frozen=True)
class GpuView:
    index: int  # nvidia-smi's
    name: Union[str, Unavailable]
    uuid: Union[str, Unavailable]
    pci_bus_id: Union[str, Unavailable]
    cuda_ordinal: Optional[int]  # cuda:N under the current CUDA_VISIBLE_DEVICES; None: hidden
    load: str  # free | in use | busy | unknown | unreadable | other job
    memory_used_mib: Union[int, Unavailable, None]
    memory_total_mib: Union[int, Unavailable, None]
    utilization_pct: Union[int, Unavailable, None]
    temperature_c: Union[int, Unavailable, None]
    power_draw_w: Union[float, Unavailable, None]
    power_limit_w: Union[float, Unavailable, None]
    processes: Union[tuple, Unavailable, None]  # tuple[ProcessView, ...]
    mig_mode: Union[bool, Unavailable, None]
    problem: str = ""  # why the GPU could not be read at all ("" when it could)
    mig_devices: tuple = ()  # tuple[MigView, ...] when the GPU is in MIG mode


@dataclass(frozen=True)
class GpusReport:
    driver_version: Optional[str]
    cuda_driver_version: Optional[str]
    cuda_visible_devices: Optional[str]
    cuda_device_order: Optional[str]
    gpus: tuple  # tuple[GpuView, ...] in nvidia-smi order
    problem: str = ""  # why there is no GPU to show ("" when there are GPUs)
    warnings: tuple = ()
    notes: tuple = ()
    exit_code: int = 0  # 0 all good, 1 warnings (no GPU here included), 2 a driver that fails


# -- the view ----------------------------------------------------------------------------------


def build(driver: DriverInfo, users: Mapping[int, Optional[str]], cuda_visible_devices: Optional[str] = None,
          cuda_device_order: Optional[str] = None, unowned: str = "") -> GpusReport:
    """The report of `envcheck gpus` from the driver's answer, {pid: user}, why some processes have
    no user (`unowned`: the process probe's note, e.g. inside a container) and the environment."""
    version = driver.driver_version if known(driver.driver_version) else None
    cuda = driver.cuda_driver_version if known(driver.cuda_driver_version) else None
    head = dict(driver_version=version, cuda_driver_version=cuda, cuda_visible_devices=cuda_visible_devices,
                cuda_device_order=cuda_device_order)
    if not known(driver.gpus):
        why = driver.driver_version if not known(driver.driver_version) else driver.gpus
        if why.code == "library_not_found" and not driver.nvidia_on_pci:
            return GpusReport(**head, gpus=(), problem=f"no NVIDIA GPU or driver found: {why.reason}", exit_code=1)
        if version:
            problem = f"the NVIDIA driver {version} could not list its GPUs: {why.reason}"
        elif driver.nvidia_on_pci:
            problem = f"an NVIDIA GPU is here but its driver does not answer: {why.reason}"
        else:
            problem = f"the NVIDIA driver does not answer: {why.reason}"
        return GpusReport(**head, gpus=(), problem=problem + "; envcheck doctor shows the fix", exit_code=2)
    if not driver.gpus:
        driver_name = f"the NVIDIA driver {version}" if version else "the NVIDIA driver"
        return GpusReport(**head, gpus=(), problem=f"no NVIDIA GPU found: {driver_name} lists none", exit_code=1)

    ordered = sorted(driver.gpus, key=lambda g: g.index)
    warnings, notes = [], []
    usable = cuda_gpus(None, ordered)[0]
    visible, problem = _visible(cuda_visible_devices, ordered)
    devices = cuda_devices(cuda_visible_devices, tuple(ordered), version)[0]
    shown = as_typed(cuda_visible_devices) if cuda_visible_devices is not None else ""
    if problem:
        warnings.append(f"CUDA_VISIBLE_DEVICES={shown} is malformed: {problem}")
    if visible is not None and not visible:
        if not problem:
            warnings.append(f"CUDA_VISIBLE_DEVICES={shown} hides every GPU: CUDA programs see none (unset it to see them)")
    elif visible is not None and len(visible) < len(usable):
        hidden = [i for i in usable if i not in visible]
        notes.append(f"CUDA_VISIBLE_DEVICES={shown} hides GPU{'s' if len(hidden) > 1 else ''} {listed(hidden)}; "
                     f"CUDA numbers the others from 0")
    ordinal = {(d.gpu, d.mig): k for k, d in enumerate(devices)}

    views = tuple(_view(g, ordinal, users) for g in ordered)
    for v in views:
        if v.problem and v.load != OTHER_JOB:
            warnings.append(f"GPU {v.index} cannot be read: {v.problem}")
    others = [v.index for v in views if v.load == OTHER_JOB]
    if others:
        yours = ", ".join(f"GPU {i} is cuda:{k}" for k, i in enumerate(usable)) if usable else "none is left to it"
        notes.append(f"GPU{'s' if len(others) > 1 else ''} {listed(others)} belong{'' if len(others) > 1 else 's'} to other jobs: this "
                     f"process may not open {'them' if len(others) > 1 else 'it'} (a Slurm, Kubernetes or Docker cgroup), and CUDA "
                     f"numbers only the others: {yours}")
    models = {g.name for g in ordered if known(g.name)}
    if len(models) > 1 and (cuda_device_order or "").strip() != "PCI_BUS_ID":
        notes.append("these GPUs are of different models and CUDA_DEVICE_ORDER is not PCI_BUS_ID: CUDA numbers the fastest "
                     "first, not as shown here (export CUDA_DEVICE_ORDER=PCI_BUS_ID)")
    mig = [v.index for v in views if v.mig_mode is True]
    if mig:
        rule = ("one CUDA process uses one MIG device (drivers before R570): CUDA_VISIBLE_DEVICES=MIG-… chooses which"
                if not many_mig(version) else "a CUDA process uses one MIG device per GPU instance")
        notes.append(f"GPU{'s' if len(mig) > 1 else ''} {listed(mig)} {'are' if len(mig) > 1 else 'is'} in MIG mode: {rule}; "
                     f"NVML gives no utilisation for MIG devices")
    if unowned:
        notes.append(unowned)
    return GpusReport(**head, gpus=views, warnings=tuple(warnings), notes=tuple(notes), exit_code=1 if warnings else 0)


def _visible(cvd: Optional[str], ordered: list) -> tuple:
    """(nvidia-smi indices CUDA lets through, in its order, or None when unset; the problem).
    A malformed value lets through what comes before its first bad entry, as CUDA reads it."""
    if cvd is None:
        return None, ""
    return cuda_gpus(cvd, tuple(ordered))


def _view(g: GpuInfo, ordinal: Mapping, users: Mapping[int, Optional[str]]) -> GpuView:
    problem = ""
    if isinstance(g.name, Unavailable) and isinstance(g.memory_total_mib, Unavailable):
        problem = g.name.reason  # the handle itself failed (a GPU fallen off the bus, or another job's)
    view = GpuView(
        index=g.index, name=g.name, uuid=g.uuid, pci_bus_id=g.pci_bus_id, cuda_ordinal=ordinal.get((g.index, None)), load="unknown",
        memory_used_mib=g.memory_used_mib, memory_total_mib=g.memory_total_mib, utilization_pct=g.utilization_pct,
        temperature_c=g.temperature_c, power_draw_w=g.power_draw_w, power_limit_w=g.power_limit_w,
        processes=_processes(g.processes, users), mig_mode=g.mig_mode, problem=problem,
        mig_devices=tuple(_mig_view(g.index, d, ordinal, users) for d in mig_devices(g)),
    )
    load = OTHER_JOB if not permitted(g) else "unreadable" if problem else load_of(view)
    return replace(view, load=load)


def _processes(processes, users: Mapping[int, Optional[str]]):
    if isinstance(processes, tuple):
        return tuple(ProcessView(p.pid, p.name, users.get(p.pid), p.used_memory_mib) for p in processes)
    return processes


def _mig_view(gpu: int, d, ordinal: Mapping, users: Mapping[int, Optional[str]]) -> MigView:
    profile = d.name.rsplit(" MIG ", 1)[1] if isinstance(d.name, str) and " MIG " in d.name else "?"
    view = MigView(d.index, d.uuid, profile, d.sm_count, ordinal.get((gpu, d.index)), "unknown", d.memory_used_mib, d.memory_total_mib,
                   _processes(d.processes, users))
    return replace(view, load=load_of(view))


def as_int(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def load_of(g) -> str:
    """free, in use, busy, or unknown when NVML gave neither utilisation, memory nor processes."""
    util = as_int(g.utilization_pct)
    used, total = as_int(g.memory_used_mib), as_int(g.memory_total_mib)
    count = len(g.processes) if isinstance(g.processes, tuple) else None
    if util is None and used is None and count is None:
        return "unknown"
    share = used / total if used is not None and total else None
    if (util is not None and util >= BUSY_UTILIZATION_PCT) or (share is not None and share >= BUSY_MEMORY_FRACTION):
        return "busy"
    if (util is not None and util >= IN_USE_UTILIZATION_PCT) or count or (share is not None and share >= IN_USE_MEMORY_FRACTION):
        return "in use"
    return "free"


def busyness(g) -> tuple:
    """The order of --pick N: lowest utilisation, then least memory used, then fewest processes,
    then the lower index; a GPU whose figure is unknown comes after every GPU whose figure is known."""
    util, used = as_int(g.utilization_pct), as_int(g.memory_used_mib)
    count = len(g.processes) if isinstance(g.processes, tuple) else None
    return (util is None, util or 0, used is None, used or 0, count is None, count or 0, g.index)


# -- words -------------------------------------------------------------------------------------


def listed(indices: list) -> str:
    return ", ".join(map(str, indices))


def as_typed(text: Optional[str]) -> str:
    """The user's value as they could type it again, and always on one line."""
    if text is None:
        return ""
    return shlex.quote(text) if text.isprintable() else repr(text)
