"""Which GPUs `envcheck bench --gpus ...` runs on, and the environment each worker gets.

Pure functions: the caller passes the DriverInfo it probed and the environment it runs in, so
every rule here is tested against replayed machines without a GPU.

Rules, decided once for the whole command:
- `--gpus` always uses nvidia-smi's numbering (NVML index, PCI bus order), whatever the user's
  CUDA_DEVICE_ORDER and CUDA_VISIBLE_DEVICES say; a GPU may also be named by its UUID (GPU-... or
  MIG-..., in full or by a unique prefix of at least 8 characters after the dash).
- The user's CUDA_VISIBLE_DEVICES is respected, not overridden: its entries are read in
  nvidia-smi's numbering too (as CUDA reads them under CUDA_DEVICE_ORDER=PCI_BUS_ID), a GPU it
  hides cannot be chosen, and without --gpus only the GPUs it lets through are benchmarked.
  A malformed value is an error, since CUDA would silently drop part of it.
- Devices keep the order the user gave, as CUDA keeps the order of CUDA_VISIBLE_DEVICES.
- Each worker gets CUDA_DEVICE_ORDER=PCI_BUS_ID and CUDA_VISIBLE_DEVICES=<that GPU's UUID> (its
  index when NVML could not read the UUID), so the worker's cuda:0 is exactly that GPU.
- Every bad request raises UserError with one line naming the problem and the valid choices.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Mapping

from envcheck.errors import UserError
from envcheck.numbers import spans
from envcheck.snapshot.facts import permitted
from envcheck.snapshot.model import DriverInfo, Unavailable, known
from envcheck.visible_devices import cuda_devices, cuda_gpus, label, mig_devices

_INDEX = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also accepts "²" and "١"
_NEGATIVE = re.compile(r"-[0-9]+")
_TORCH_NAME = re.compile(r"cuda:[0-9]+", re.IGNORECASE)
_UUID = re.compile(r"(GPU|MIG)-[0-9a-f-]*", re.IGNORECASE)
DASH = "–"  # between the first and last of a run of GPU indices: "0–3"
MIN_UUID_PREFIX = 8  # characters after "GPU-": "GPU-4b2a1c77" is the shortest prefix accepted


@dataclass(frozen=True)
class Selected:
    """One GPU to benchmark, named every way the report needs, and its worker's environment."""

    nvml_index: int  # as nvidia-smi numbers it (PCI bus order)
    uuid: str | Unavailable
    pci_bus_id: str | Unavailable
    name: str | Unavailable
    # env for this device's worker process, added to os.environ: {"CUDA_DEVICE_ORDER":
    # "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "<uuid or index>"}, so the worker's cuda:0 is this GPU
    worker_env: dict = field(hash=False)
    mig: object = field(default=None, hash=False)  # the MigDevice benchmarked, for a GPU in MIG mode

    @property
    def label(self) -> str:
        """How the report names it: "GPU 2", or "GPU 0 MIG 1" (nvidia-smi -L's device under GPU 0)."""
        return f"GPU {self.nvml_index}" if self.mig is None else f"GPU {self.nvml_index} MIG {self.mig.index}"


@dataclass(frozen=True)
class Selection:
    devices: tuple  # tuple[Selected, ...], in the order the user named them
    notes: tuple = ()  # tuple[str, ...]: how CUDA, torch and torchrun number these GPUs


def parse_gpus(text: str, *, count: int | None = None) -> list[str]:
    """The --gpus text as tokens (indices or UUIDs), checking only their syntax.

    Split here, resolved in select(), so that a typo is reported before any NVML fact is needed.
    `count` (the number of GPUs, when known) only makes the error lines name the valid indices.
    Whitespace around entries is ignored; whitespace inside one is an error, not a separator.
    """
    where = f"--gpus {_shown(text)}"
    indices = f"a GPU index ({spans(range(count), DASH)})" if count else "a GPU index"
    if not text.strip():
        raise UserError(f"{where}: no GPU given: list GPU indices or UUIDs separated by commas (e.g. 0,2), or leave --gpus out for every GPU")
    tokens: list[str] = []
    seen: dict = {}
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            raise UserError(f"{where}: an entry is empty: separate GPU indices or UUIDs by single commas (e.g. 0,2)")
        if _INDEX.fullmatch(token):
            key: object = int(token)
        elif _NEGATIVE.fullmatch(token):
            raise UserError(f"{where}: {token!r} is not {indices}: indices count up from 0 as nvidia-smi -L lists them")
        elif _UUID.fullmatch(token):
            if len(token) - 4 < MIN_UUID_PREFIX:
                raise UserError(f"{where}: {token!r} is too short for a UUID prefix: give at least {MIN_UUID_PREFIX} characters after "
                                f"{token[:4]!r} (nvidia-smi -L lists the UUIDs)")
            key = token.lower()
        elif _TORCH_NAME.fullmatch(token):
            raise UserError(f"{where}: {token!r} is torch's name for a device: --gpus takes {indices} as nvidia-smi numbers it, or a GPU UUID")
        else:
            hint = " (separate GPUs by commas)" if any(c.isspace() for c in token) else " (nvidia-smi -L lists both)"
            raise UserError(f"{where}: {token!r} is neither {indices} nor a GPU UUID{hint}")
        if key in seen:
            same = "" if seen[key] == token else f" ({seen[key]!r} and {token!r})"
            what = f"GPU {key}" if isinstance(key, int) else f"UUID {seen[key]!r}"
            raise UserError(f"{where}: {what} is chosen twice{same}: list each GPU once")
        seen[key] = token
        tokens.append(token)
    return tokens


def select(text: str | None, driver: DriverInfo, env: Mapping[str, str]) -> Selection:
    """The GPUs named by --gpus (`text`; None: every GPU that CUDA_VISIBLE_DEVICES lets through).

    Validated against the driver's own list before any worker starts, so a wrong index costs the
    user one line instead of a half-finished benchmark on the wrong card.
    """
    gpus = driver.gpus
    if not known(gpus):
        raise UserError(f"no NVIDIA GPU to benchmark ({gpus.reason}): use --device cpu")
    if not gpus:
        raise UserError("no NVIDIA GPU to benchmark (the driver lists none): use --device cpu")
    by_index = {g.index: g for g in gpus}
    everything = sorted(by_index)
    tokens = None if text is None else parse_gpus(text, count=len(gpus))
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if any(mig_devices(g) for g in gpus if permitted(g)):
        return _select_mig(text, tokens, driver, cvd, env)
    visible = _visible(cvd, gpus)

    if tokens is None:
        chosen = list(visible) if visible is not None else cuda_gpus(None, gpus)[0]
        if not chosen:
            raise UserError(f"CUDA_VISIBLE_DEVICES={_shown(cvd)} hides every GPU: unset it to benchmark GPUs, or use --device cpu")
    else:
        where = f"--gpus {_shown(text)}"
        chosen, named = [], {}
        for token in tokens:
            i = _resolve(token, gpus, everything, where)
            if not permitted(by_index[i]):
                raise UserError(_other_jobs(where, i, cuda_gpus(None, gpus)[0]))
            if i in named:
                raise UserError(f"{where}: GPU {i} is chosen twice ({named[i]!r} and {token!r} are the same GPU): list each GPU once")
            named[i] = token
            chosen.append(i)
        if visible is not None:
            for i in chosen:
                if i not in visible:
                    hidden_by = f"CUDA_VISIBLE_DEVICES={_shown(cvd)}"
                    if not visible:
                        raise UserError(f"{where}: GPU {i} is hidden by {hidden_by}, which hides every GPU; unset it")
                    raise UserError(f"{where}: GPU {i} is hidden by {hidden_by}; unset it or choose from {spans(visible, DASH)}")

    devices = tuple(_selected(by_index[i]) for i in chosen)
    return Selection(devices, tuple(_notes(text, chosen, visible, env, len(gpus))))


def _select_mig(text, tokens, driver: DriverInfo, cvd, env) -> Selection:
    """select() on a machine with GPUs in MIG mode: a GPU in MIG mode is benchmarked as its MIG
    devices, one worker each (CUDA_VISIBLE_DEVICES=<its MIG UUID>), since a process uses one MIG
    device; --gpus takes GPU indices and UUIDs as elsewhere and MIG UUIDs too."""
    gpus = driver.gpus
    by_index = {g.index: g for g in gpus}
    every = cuda_devices(None, gpus, driver.driver_version, one_process=False)[0]
    allowed = every
    if cvd is not None:
        allowed, problem = cuda_devices(cvd, gpus, driver.driver_version, one_process=False)
        if problem:
            raise UserError(f"CUDA_VISIBLE_DEVICES={_shown(cvd)} is malformed: {problem}; fix it or unset it")
    if tokens is None:
        chosen = list(allowed)
        if not chosen:
            raise UserError(f"CUDA_VISIBLE_DEVICES={_shown(cvd)} hides every GPU: unset it to benchmark GPUs, or use --device cpu")
    else:
        where = f"--gpus {_shown(text)}"
        chosen = []
        for token in tokens:
            if token.upper().startswith("MIG-"):
                named = [d for d in every if d.mig is not None and _mig_uuid(by_index[d.gpu], d).lower().startswith(token.lower())]
                if len(named) != 1:
                    raise UserError(f"{where}: {token!r} matches {'no' if not named else 'more than one'} MIG device's UUID "
                                    f"(nvidia-smi -L lists them)")
            else:
                i = _resolve(token, gpus, sorted(by_index), where)
                if not permitted(by_index[i]):
                    raise UserError(_other_jobs(where, i, cuda_gpus(None, gpus)[0]))
                named = [d for d in every if d.gpu == i]
            for d in named:
                if d in chosen:
                    raise UserError(f"{where}: {label(d, gpus)} is chosen twice: list each device once")
                if d not in allowed:
                    raise UserError(f"{where}: {label(d, gpus)} is hidden by CUDA_VISIBLE_DEVICES={_shown(cvd)}; unset it or choose "
                                    f"another")
            chosen += named
    devices = tuple(_selected(by_index[d.gpu], d.mig) for d in chosen)
    notes = []
    if any(d.mig is not None for d in chosen):
        notes.append("MIG devices are benchmarked one worker each, as a process uses one MIG device; each is judged against its "
                     "share of the GPU's datasheet figures (its SMs of the GPU's, its memory of the GPU's)")
    return Selection(devices, tuple(notes))


def _other_jobs(where: str, i: int, yours: list) -> str:
    """The one line for --gpus naming a GPU this process may not open."""
    return (f"{where}: GPU {i} belongs to another job: this process may not open it (a Slurm, Kubernetes or Docker cgroup)"
            + (f"; choose from {spans(yours, DASH)}" if yours else ""))


def _mig_uuid(gpu, device) -> str:
    found = [d.uuid for d in mig_devices(gpu) if d.index == device.mig and isinstance(d.uuid, str)]
    return found[0] if found else ""


def busy(selection: Selection, driver: DriverInfo) -> list[str]:
    """A warning per selected GPU that other processes already use: they share its SMs and memory
    bandwidth, so its figures would be low and it would look slower than its siblings."""
    by_index = {g.index: g for g in driver.gpus} if known(driver.gpus) else {}
    lines = []
    for device in selection.devices:
        gpu = device.mig if device.mig is not None else by_index.get(device.nvml_index)  # a MIG device's own processes
        if gpu is None or not known(gpu.processes) or not gpu.processes:
            continue  # None: not asked; Unavailable: NVML could not say; (): idle
        n = len(gpu.processes)
        used = [p.used_memory_mib for p in gpu.processes if p.used_memory_mib is not None]
        memory = f" ({sum(used)} MiB)" if used else ""
        lines.append(f"{device.label} is in use by {n} process{'' if n == 1 else 'es'}{memory}: results will be low")
    return lines


# -- helpers -----------------------------------------------------------------------------------


def _shown(text: str) -> str:
    """The user's value as they could type it again, and always on one line."""
    return shlex.quote(text) if text.isprintable() else repr(text)


def _visible(cvd: str | None, gpus: tuple) -> list[int] | None:
    """NVML indices the user's CUDA_VISIBLE_DEVICES lets through, in its order; None when unset."""
    if cvd is None:
        return None
    shown, problem = cuda_gpus(cvd, gpus)
    if problem:
        raise UserError(f"CUDA_VISIBLE_DEVICES={_shown(cvd)} is malformed: {problem}; fix it or unset it")
    return shown


def _resolve(token: str, gpus: tuple, everything: list, where: str) -> int:
    """The NVML index a parsed token names. UUIDs compare case-insensitively here (CUDA itself wants
    the case nvidia-smi prints; the worker is given NVML's own spelling)."""
    machine_has = f"this machine has GPU {everything[0]}" if len(everything) == 1 else f"this machine has GPUs {spans(everything, DASH)}"
    if _INDEX.fullmatch(token):
        i = int(token)
        if i not in everything:
            raise UserError(f"{where}: there is no GPU {i} ({machine_has}: run nvidia-smi -L)")
        return i
    want = token.lower()
    hits = [g.index for g in gpus if known(g.uuid) and str(g.uuid).lower().startswith(want)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise UserError(f"{where}: {token!r} matches GPUs {spans(sorted(hits), DASH)}: give more of the UUID (nvidia-smi -L lists them)")
    if want.startswith("mig-"):
        raise UserError(f"{where}: {token!r} is not a GPU's UUID: envcheck benchmarks whole GPUs, so name the MIG instance's "
                        f"GPU by index or GPU- UUID ({machine_has}: run nvidia-smi -L)")
    raise UserError(f"{where}: {token!r} matches no GPU's UUID ({machine_has}: run nvidia-smi -L for their UUIDs)")


def _selected(gpu, mig: int | None = None) -> Selected:
    """Name the GPU by UUID in the worker's CUDA_VISIBLE_DEVICES: an index would depend on the
    order CUDA enumerates in and on GPUs CUDA does not count; a UUID means one board. A MIG device
    by its MIG UUID, the only way to give a process one MIG device."""
    if mig is not None:
        d = next(x for x in mig_devices(gpu) if x.index == mig)
        env = {"CUDA_VISIBLE_DEVICES": d.uuid if isinstance(d.uuid, str) else ""}
        return Selected(gpu.index, d.uuid, gpu.pci_bus_id, d.name, env, d)
    target = gpu.uuid if known(gpu.uuid) and gpu.uuid else str(gpu.index)
    env = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": target}
    return Selected(gpu.index, gpu.uuid, gpu.pci_bus_id, gpu.name, env)


def _notes(text, chosen: list, visible, env: Mapping[str, str], count: int) -> list[str]:
    """What a user who also runs torch or torchrun needs to know to map these GPUs to theirs."""
    notes = []
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if visible:
        ordinals = ", ".join(f"cuda:{k}" for k in range(len(visible)))
        them, gpus = ("it", "GPU") if len(visible) == 1 else ("them", "GPUs")
        notes.append(f"with CUDA_VISIBLE_DEVICES={_shown(cvd)} torch calls {them} {ordinals} "
                     f"(nvidia-smi's {gpus} {', '.join(map(str, visible))})")
        if text is None and len(visible) < count:
            notes.append(f"without --gpus, envcheck benchmarks only the GPUs CUDA_VISIBLE_DEVICES lets through: {spans(visible, DASH)}")
    order = env.get("CUDA_DEVICE_ORDER")
    if count > 1 and (order or "").strip() != "PCI_BUS_ID":
        if order is None:
            what = "CUDA_DEVICE_ORDER is unset, so CUDA numbers GPUs fastest first"
        elif order.strip() == "FASTEST_FIRST":
            what = "CUDA_DEVICE_ORDER=FASTEST_FIRST, so CUDA numbers GPUs fastest first"
        else:
            what = f"CUDA_DEVICE_ORDER={_shown(order)} is neither FASTEST_FIRST nor PCI_BUS_ID"
        reads = ""
        if cvd is not None and any(_INDEX.fullmatch(t.strip()) for t in cvd.split(",")):
            reads = ", and reads the indices in CUDA_VISIBLE_DEVICES as nvidia-smi's"
        notes.append(f"{what}: CUDA's own numbering may differ from nvidia-smi's PCI bus order; envcheck sets CUDA_DEVICE_ORDER=PCI_BUS_ID "
                     f"for its workers{reads}")
    if chosen:
        listed = ",".join(map(str, chosen))
        ranks = ",".join(map(str, range(len(chosen))))
        whom = f"local rank 0 GPU {listed}" if len(chosen) == 1 else f"local ranks {ranks} the GPUs {listed}"
        notes.append(f"CUDA_VISIBLE_DEVICES={listed} torchrun --nproc_per_node={len(chosen)} gives {whom} "
                     f"(set CUDA_DEVICE_ORDER=PCI_BUS_ID so these are nvidia-smi's numbers)")
    return notes
