"""`envcheck gpus --pick`: which GPUs to start a job on, and the line that starts it there.

Pure functions of the view envcheck/gpus.py builds (load, CUDA ordinals, MIG devices, other
jobs' GPUs): the numbering rules in that module's docstring decide the CUDA_VISIBLE_DEVICES of
the printed line. Nothing here touches NVML, /proc or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from envcheck import shell
from envcheck.errors import UserError
from envcheck.gpus import OTHER_JOB, GpusReport, GpuView, as_int, as_typed, busyness, listed
from envcheck.numbers import ascii_int

DEFAULT_COMMAND = "torchrun --nproc-per-node={n} train.py"


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


def parse_pick(text: str) -> Union[int, tuple]:
    """--pick's value: a number of GPUs ("3") or nvidia-smi indices ("0,2,3"; "2," names GPU 2
    alone). Syntax only; pick() checks the numbers against the machine."""
    where = f"--pick {as_typed(text)}"
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


def pick(report: GpusReport, text: str, command: str = DEFAULT_COMMAND, sh: str = shell.POSIX) -> Pick:
    """The GPUs --pick asks for and the line that runs `command` on them ("{n}": how many), written
    for the shell `sh` (envcheck.shell: POSIX, or cmd.exe on Windows).

    A count takes the least busy of the GPUs CUDA_VISIBLE_DEVICES lets through (all, when unset),
    in index order; named GPUs keep the order given, as CUDA keeps the order of the variable.
    """
    where = f"--pick {as_typed(text)}"
    wanted = parse_pick(text)
    if not command.strip() or not command.isprintable():
        raise UserError(f"--cmd {as_typed(command)}: give the command on one line, e.g. --cmd {as_typed(DEFAULT_COMMAND)}")
    if report.problem:
        raise UserError(f"{where}: nothing to pick: {report.problem}")
    by_index = {g.index: g for g in report.gpus}
    everything = sorted(by_index)
    restricted = report.cuda_visible_devices is not None
    choosable = [g for g in report.gpus if not g.problem and (g.cuda_ordinal is not None or not restricted)]
    theirs = [g.index for g in report.gpus if g.load == OTHER_JOB]
    cvd = f"CUDA_VISIBLE_DEVICES={as_typed(report.cuda_visible_devices)}" if restricted else ""
    if any(g.mig_devices for g in report.gpus):
        if isinstance(wanted, int):
            return _pick_mig(report, wanted, command, where, sh)
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
                                f"{listed(sorted(g.index for g in choosable))}" if choosable else f"{where}: GPU {i} belongs to another job")
            if by_index[i].problem:
                raise UserError(f"{where}: GPU {i} cannot be read ({by_index[i].problem}): choose another")
            if restricted and by_index[i].cuda_ordinal is None:
                fix = f"unset it or choose from {listed(sorted(g.index for g in choosable))}" if choosable else "unset it"
                raise UserError(f"{where}: GPU {i} is hidden by {cvd}: {fix}")
    cuda_index = _cuda_indices(report)
    visible = ",".join(str(cuda_index[i]) for i in chosen)
    line = job_line(visible, command.strip().replace("{n}", str(len(chosen))), sh, True)
    them = "it" if len(chosen) == 1 else "them"
    notes = [f"inside the job CUDA numbers {them} from 0: " + ", ".join(f"GPU {i} is cuda:{k}" for k, i in enumerate(chosen))]
    notes += _shell_notes(visible, sh, True)
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


def job_line(visible: str, command: str, sh: str, by_bus: bool) -> str:
    """The line(s) that run the user's command on these devices alone, whatever the command is
    (`cd / && python train.py` included): envcheck.shell.with_env. `by_bus`: also number GPUs as
    nvidia-smi does (CUDA_DEVICE_ORDER=PCI_BUS_ID); a MIG device's UUID needs no order."""
    env = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": visible} if by_bus else {"CUDA_VISIBLE_DEVICES": visible}
    return shell.with_env(env, command, sh)


def _shell_notes(visible: str, sh: str, by_bus: bool) -> list:
    """On Windows the lines are for cmd.exe, whose `set` holds for the rest of its window; PowerShell
    needs its own lines (`set` there would make a PowerShell variable and leave CUDA unrestricted)."""
    if sh != shell.CMD:
        return []
    ps = "; ".join([*([shell.powershell_set("CUDA_DEVICE_ORDER", "PCI_BUS_ID")] if by_bus else []),
                    shell.powershell_set("CUDA_VISIBLE_DEVICES", visible)])
    return ["these lines are for cmd.exe; the set lines hold for the rest of that window",
            f"in PowerShell set the variables with: {ps}"]


def _cuda_indices(report: GpusReport) -> dict:
    """nvidia-smi index -> the index CUDA_VISIBLE_DEVICES takes for it: nvidia-smi's, but counted
    among the GPUs this process may open (CUDA does not enumerate other jobs' GPUs)."""
    return {i: k for k, i in enumerate(g.index for g in report.gpus if g.load != OTHER_JOB)}


def _mig_order(v) -> tuple:
    """Free before used, then the larger device (more SMs), then the less memory used: on a MIG
    machine the least busy is a big idle slice, not the smallest one that happens to hold least."""
    used, total = as_int(v.memory_used_mib), as_int(v.memory_total_mib)
    count = len(v.processes) if isinstance(v.processes, tuple) else None
    sms = getattr(v, "sm_count", None)
    share = used / total if used is not None and total else 1.0
    return (count is None, count or 0, round(share, 2), -(sms if isinstance(sms, int) else 0), getattr(v, "index", 0))


def _pick_mig(report: GpusReport, wanted: int, command: str, where: str, sh: str = shell.POSIX) -> Pick:
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
    lines = [job_line(t, one, sh, m is None) for t, (_, _, m) in zip(targets, chosen)]
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


def _count(indices: list) -> str:
    """"4 GPUs (0-3)", "GPU 0 only": the valid choices, short."""
    if len(indices) == 1:
        return f"GPU {indices[0]} only"
    span = f"{indices[0]}-{indices[-1]}" if indices == list(range(indices[0], indices[-1] + 1)) else listed(indices)
    return f"{len(indices)} GPUs ({span})"


def _usage(g: GpuView) -> str:
    """"utilisation 97%, 17845 of 24268 MiB used, 1 process of alice"."""
    parts = []
    if as_int(g.utilization_pct) is not None:
        parts.append(f"utilisation {g.utilization_pct}%")
    if as_int(g.memory_used_mib) is not None and as_int(g.memory_total_mib) is not None:
        parts.append(f"{g.memory_used_mib} of {g.memory_total_mib} MiB used")
    if isinstance(g.processes, tuple) and g.processes:
        n = len(g.processes)
        users = sorted({p.user for p in g.processes if p.user})
        parts.append(f"{n} process{'' if n == 1 else 'es'}" + (f" of {', '.join(users)}" if users else ""))
    return ", ".join(parts) or "in use"
