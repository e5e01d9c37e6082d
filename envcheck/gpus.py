"""`envcheck gpus`: the GPUs at a glance before a job starts, and which ones to start it on.

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

from envcheck.errors import UserError
from envcheck.numbers import ascii_int
from envcheck.snapshot.facts import DriverInfo, GpuInfo, Unavailable, known, permitted
from envcheck.visible_devices import cuda_devices, cuda_gpus, many_mig, mig_devices

DEFAULT_COMMAND = "torchrun --nproc-per-node={n} train.py"

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


@dataclass(frozen=True)
class Pick:
    gpus: tuple  # nvidia-smi indices, in the order CUDA numbers them inside the job (a MIG device's: its GPU's)
    named: bool  # the user named them (--pick 0,2,3) rather than asked for the least busy
    cuda_visible_devices: str  # "0,2,3"; MIG devices' UUIDs
    command: str  # the line to run; one line per job where MIG devices were picked (each its own job)
    warnings: tuple = ()
    notes: tuple = ()
    mig_devices: tuple = ()  # the MIG UUIDs picked, in order; () when whole GPUs were
    labels: tuple = ()  # each device as the report names it: "GPU 0's MIG device 1 (3g.40gb)"


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
    shown = _shown(cuda_visible_devices) if cuda_visible_devices is not None else ""
    if problem:
        warnings.append(f"CUDA_VISIBLE_DEVICES={shown} is malformed: {problem}")
    if visible is not None and not visible:
        if not problem:
            warnings.append(f"CUDA_VISIBLE_DEVICES={shown} hides every GPU: CUDA programs see none (unset it to see them)")
    elif visible is not None and len(visible) < len(usable):
        hidden = [i for i in usable if i not in visible]
        notes.append(f"CUDA_VISIBLE_DEVICES={shown} hides GPU{'s' if len(hidden) > 1 else ''} {_list(hidden)}; "
                     f"CUDA numbers the others from 0")
    ordinal = {(d.gpu, d.mig): k for k, d in enumerate(devices)}

    views = tuple(_view(g, ordinal, users) for g in ordered)
    for v in views:
        if v.problem and v.load != OTHER_JOB:
            warnings.append(f"GPU {v.index} cannot be read: {v.problem}")
    others = [v.index for v in views if v.load == OTHER_JOB]
    if others:
        yours = ", ".join(f"GPU {i} is cuda:{k}" for k, i in enumerate(usable)) if usable else "none is left to it"
        notes.append(f"GPU{'s' if len(others) > 1 else ''} {_list(others)} belong{'' if len(others) > 1 else 's'} to other jobs: this "
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
        notes.append(f"GPU{'s' if len(mig) > 1 else ''} {_list(mig)} {'are' if len(mig) > 1 else 'is'} in MIG mode: {rule}; "
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


def _int(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def load_of(g) -> str:
    """free, in use, busy, or unknown when NVML gave neither utilisation, memory nor processes."""
    util = _int(g.utilization_pct)
    used, total = _int(g.memory_used_mib), _int(g.memory_total_mib)
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
    util, used = _int(g.utilization_pct), _int(g.memory_used_mib)
    count = len(g.processes) if isinstance(g.processes, tuple) else None
    return (util is None, util or 0, used is None, used or 0, count is None, count or 0, g.index)


# -- picking -----------------------------------------------------------------------------------


def parse_pick(text: str) -> Union[int, tuple]:
    """--pick's value: a number of GPUs ("3") or nvidia-smi indices ("0,2,3"; "2," names GPU 2
    alone). Syntax only; pick() checks the numbers against the machine."""
    where = f"--pick {_shown(text)}"
    form = "give a number of GPUs (--pick 2) or their nvidia-smi indices (--pick 0,2,3)"
    if "," not in text:
        count = ascii_int(text)
        if count is None:
            raise UserError(f"{where}: {text.strip()!r} is not a number: {form}")
        if count == 0:
            raise UserError(f"{where}: a single number is how many GPUs to pick; pick at least 1, or name GPU 0 alone with a comma: --pick 0,")
        return count
    entries = [x.strip() for x in text.split(",")]
    if len(entries) == 2 and entries[1] == "" and entries[0]:
        entries = entries[:1]  # "2,": GPU 2 alone
    indices: list = []
    for entry in entries:
        if not entry:
            raise UserError(f"{where}: an entry is empty: separate GPU indices by single commas (e.g. 0,2)")
        i = ascii_int(entry)
        if i is None:
            raise UserError(f"{where}: {entry!r} is not a GPU index: {form}")
        if i in indices:
            raise UserError(f"{where}: GPU {i} is listed twice: list each GPU once")
        indices.append(i)
    return tuple(indices)


def pick(report: GpusReport, text: str, command: str = DEFAULT_COMMAND) -> Pick:
    """The GPUs --pick asks for and the line that runs `command` on them ("{n}": how many).

    A count takes the least busy of the GPUs CUDA_VISIBLE_DEVICES lets through (all, when unset),
    in index order; named GPUs keep the order given, as CUDA keeps the order of the variable.
    """
    where = f"--pick {_shown(text)}"
    wanted = parse_pick(text)
    if not command.strip() or not command.isprintable():
        raise UserError(f"--cmd {_shown(command)}: give the command on one line, e.g. --cmd {_shown(DEFAULT_COMMAND)}")
    if report.problem:
        raise UserError(f"{where}: nothing to pick: {report.problem}")
    by_index = {g.index: g for g in report.gpus}
    everything = sorted(by_index)
    restricted = report.cuda_visible_devices is not None
    choosable = [g for g in report.gpus if not g.problem and (g.cuda_ordinal is not None or not restricted)]
    theirs = [g.index for g in report.gpus if g.load == OTHER_JOB]
    cvd = f"CUDA_VISIBLE_DEVICES={_shown(report.cuda_visible_devices)}" if restricted else ""
    if any(g.mig_devices for g in report.gpus):
        if isinstance(wanted, int):
            return _pick_mig(report, wanted, command, where)
        mig = [i for i in wanted if i in by_index and by_index[i].mig_devices]
        if mig:
            raise UserError(f"{where}: GPU {mig[0]} is in MIG mode: CUDA uses its MIG devices, not the whole GPU; pick a number of "
                            f"devices (--pick 1) to get the least busy MIG device, or set CUDA_VISIBLE_DEVICES=MIG-… (nvidia-smi -L)")
    if isinstance(wanted, int):
        if wanted > len(choosable):
            if restricted and len(choosable) < len(everything):
                why = f"{cvd} lets {len(choosable)} of the {len(everything)} GPUs through"
                fix = f"pick at most {len(choosable)}, or unset CUDA_VISIBLE_DEVICES" if choosable else "unset CUDA_VISIBLE_DEVICES"
            elif theirs and len(choosable) == len(everything) - len(theirs):
                why, fix = f"this process may use {len(choosable)} of the machine's {len(everything)} GPUs (the others are other jobs')", f"pick at most {len(choosable)}"
            elif len(choosable) < len(everything):
                why, fix = f"only {len(choosable)} of this machine's {len(everything)} GPUs can be read", f"pick at most {len(choosable)}"
            else:
                why, fix = f"this machine has {_count(everything)}", f"pick at most {len(everything)}"
            raise UserError(f"{where}: {why}: {fix}")
        chosen = sorted(g.index for g in sorted(choosable, key=busyness)[:wanted])
    else:
        chosen = list(wanted)
        for i in chosen:
            if i not in by_index:
                raise UserError(f"{where}: there is no GPU {i} (this machine has {_count(everything)}: run nvidia-smi -L)")
            if by_index[i].load == OTHER_JOB:
                raise UserError(f"{where}: GPU {i} belongs to another job (this process may not open it): choose from "
                                f"{_list(sorted(g.index for g in choosable))}" if choosable else f"{where}: GPU {i} belongs to another job")
            if by_index[i].problem:
                raise UserError(f"{where}: GPU {i} cannot be read ({by_index[i].problem}): choose another")
            if restricted and by_index[i].cuda_ordinal is None:
                fix = f"unset it or choose from {_list(sorted(g.index for g in choosable))}" if choosable else "unset it"
                raise UserError(f"{where}: GPU {i} is hidden by {cvd}: {fix}")
    cuda_index = _cuda_indices(report)
    visible = ",".join(str(cuda_index[i]) for i in chosen)
    line = f"CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={visible} {command.strip().replace('{n}', str(len(chosen)))}"
    them = "it" if len(chosen) == 1 else "them"
    notes = [f"inside the job CUDA numbers {them} from 0: " + ", ".join(f"GPU {i} is cuda:{k}" for k, i in enumerate(chosen))]
    if theirs:
        notes.append("CUDA_VISIBLE_DEVICES counts only the GPUs this process may open: " +
                     ", ".join(f"GPU {i} is {k}" for i, k in cuda_index.items()))
    if restricted:
        notes.append(f"the line replaces your {cvd} for this job only")
    warnings = []
    for i in chosen:
        g = by_index[i]
        if g.load in ("busy", "in use"):
            warnings.append(f"GPU {i} is {'busy' if g.load == 'busy' else 'not free'} ({_usage(g)}): the job will share it")
        if g.mig_mode is True:
            warnings.append(f"GPU {i} is in MIG mode: the job gets one MIG instance of it, not the whole GPU")
    return Pick(tuple(chosen), not isinstance(wanted, int), visible, line, tuple(warnings), tuple(notes))


def _cuda_indices(report: GpusReport) -> dict:
    """nvidia-smi index -> the index CUDA_VISIBLE_DEVICES takes for it: nvidia-smi's, but counted
    among the GPUs this process may open (CUDA does not enumerate other jobs' GPUs)."""
    return {i: k for k, i in enumerate(g.index for g in report.gpus if g.load != OTHER_JOB)}


def _mig_order(v) -> tuple:
    """Free before used, then the larger device (more SMs), then the less memory used: on a MIG
    machine the least busy is a big idle slice, not the smallest one that happens to hold least."""
    used, total = _int(v.memory_used_mib), _int(v.memory_total_mib)
    count = len(v.processes) if isinstance(v.processes, tuple) else None
    sms = getattr(v, "sm_count", None)
    share = used / total if used is not None and total else 1.0
    return (count is None, count or 0, round(share, 2), -(sms if isinstance(sms, int) else 0), getattr(v, "index", 0))


def _pick_mig(report: GpusReport, wanted: int, command: str, where: str) -> Pick:
    """--pick on a machine with GPUs in MIG mode: the least busy devices CUDA can be given, whole
    GPUs outside MIG mode and MIG devices alike. A CUDA process before driver R570 uses a single MIG
    device, and NCCL (torch.distributed on GPUs) does not run across MIG devices (NVIDIA MIG User
    Guide, "Application Considerations"): each picked device gets a job, and a line, of its own."""
    restricted = report.cuda_visible_devices is not None
    units = []  # (view, GPU index, MIG view or None)
    for g in report.gpus:
        if g.problem or g.load == OTHER_JOB:
            continue
        if g.mig_devices:
            units += [(d, g.index, d) for d in g.mig_devices if isinstance(d.uuid, str) and (d.cuda_ordinal is not None or not restricted)]
        elif g.cuda_ordinal is not None or not restricted:
            units.append((g, g.index, None))
    if wanted > len(units):
        raise UserError(f"{where}: {len(units)} device{'s' if len(units) != 1 else ''} (GPUs and MIG devices) can be picked here: "
                        f"pick at most {len(units)}" if units else f"{where}: no GPU or MIG device can be picked here")
    chosen = sorted(units, key=lambda u: _mig_order(u[0]))[:wanted]
    cuda_index = _cuda_indices(report)
    targets = [m.uuid if m is not None else str(cuda_index[i]) for _, i, m in chosen]
    one = command.strip().replace("{n}", "1")
    lines = [f"CUDA_VISIBLE_DEVICES={t} {one}" if m is not None else f"CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={t} {one}"
             for t, (_, _, m) in zip(targets, chosen)]
    labels = tuple(f"GPU {i}'s MIG device {m.index} ({m.profile})" if m is not None else f"GPU {i}" for _, i, m in chosen)
    warnings = [f"{label} is {'busy' if v.load == 'busy' else 'not free'} ({_usage(v)}): the job will share it"
                for label, (v, _, _) in zip(labels, chosen) if v.load in ("busy", "in use")]
    notes = ["inside each job CUDA numbers its device cuda:0"]
    if len(chosen) > 1:
        notes.append(f"these are {len(chosen)} separate jobs, one per device: a MIG device runs a process of its own, and NCCL "
                     f"(torch.distributed on GPUs) does not run across MIG devices")
    return Pick(tuple(i for _, i, _ in chosen), False, ",".join(targets), "\n".join(lines), tuple(warnings), tuple(notes),
                tuple(m.uuid for _, _, m in chosen if m is not None), labels)


def exit_code(report: GpusReport, chosen: Optional[Pick] = None) -> int:
    """The worst of the view's and the pick's: 1 when a picked GPU is shared or in MIG mode."""
    return max(report.exit_code, 1 if chosen is not None and chosen.warnings else 0)


# -- words -------------------------------------------------------------------------------------


def _usage(g: GpuView) -> str:
    """"utilisation 97%, 17845 of 24268 MiB used, 1 process of alice"."""
    parts = []
    if _int(g.utilization_pct) is not None:
        parts.append(f"utilisation {g.utilization_pct}%")
    if _int(g.memory_used_mib) is not None and _int(g.memory_total_mib) is not None:
        parts.append(f"{g.memory_used_mib} of {g.memory_total_mib} MiB used")
    if isinstance(g.processes, tuple) and g.processes:
        n = len(g.processes)
        users = sorted({p.user for p in g.processes if p.user})
        parts.append(f"{n} process{'' if n == 1 else 'es'}" + (f" of {', '.join(users)}" if users else ""))
    return ", ".join(parts) or "in use"


def _list(indices: list) -> str:
    return ", ".join(map(str, indices))


def _count(indices: list) -> str:
    """"4 GPUs (0-3)", "GPU 0 only": the valid choices, short."""
    if len(indices) == 1:
        return f"GPU {indices[0]} only"
    span = f"{indices[0]}-{indices[-1]}" if indices == list(range(indices[0], indices[-1] + 1)) else _list(indices)
    return f"{len(indices)} GPUs ({span})"


def _shown(text: Optional[str]) -> str:
    """The user's value as they could type it again, and always on one line."""
    if text is None:
        return ""
    return shlex.quote(text) if text.isprintable() else repr(text)
