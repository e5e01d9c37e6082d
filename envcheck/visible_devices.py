"""How CUDA reads CUDA_VISIBLE_DEVICES: one answer for doctor's checks, bench's selection and `gpus`.

A fact about CUDA, not a check: services that choose GPUs need it as much as the checks that judge
a snapshot, so it lives below both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from envcheck.numbers import ascii_int
from envcheck.snapshot.facts import permitted

_UUID = re.compile(r"^(GPU|MIG)-[0-9a-fA-F-]+$")


def visible_gpus(value: str | None, count: int, uuids: tuple = ()) -> tuple[list[int] | None, str]:
    """Which NVML indices CUDA exposes under CUDA_VISIBLE_DEVICES, or (None, problem).

    CUDA reads the list left to right and stops at the first entry it cannot use: an index out of
    range, a negative one, or an entry of the other kind (a list that starts with indices ends at
    the first UUID, one that starts with UUIDs at the first index). A GPU listed twice leaves CUDA
    no device at all. UUIDs match exactly, case included, or by a unique prefix. Each rule as CUDA
    counted it on a real GPU (tests/test_checks.py; CUDA C Programming Guide, "CUDA Environment
    Variables"; torch.cuda's own _parse_visible_devices follows the same rules).
    """
    if value is None:
        return list(range(count)), ""
    if not value.strip():
        return [], ""  # set but empty: CUDA sees no device at all
    out: list[int] = []
    by_uuid = None  # the kind of list, set by its first entry
    for raw in value.split(","):
        token = raw.strip()
        number = ascii_int(token.lstrip("-"))
        if number is not None and by_uuid is not True:
            by_uuid = False
            i = -number if token.startswith("-") else number
            if i < 0 or i >= count:
                return out, f"entry {token!r} is not a GPU index (0–{count - 1}): CUDA ignores it and everything after it"
        elif _UUID.match(token) and by_uuid is not False:
            by_uuid = True
            hits = [k for k, u in enumerate(uuids) if isinstance(u, str) and u.startswith(token)]
            if len(hits) != 1:
                return out, f"{token!r} matches no GPU's UUID: CUDA ignores it and everything after it"
            i = hits[0]
        elif by_uuid is not None:
            kind = "UUIDs" if by_uuid else "GPU indices"
            return out, f"entry {token!r} is not one of the list's {kind}: CUDA ignores it and everything after it"
        else:
            return out, f"entry {token!r} is neither a GPU index nor a UUID: CUDA ignores it and everything after it"
        if i in out:
            return [], f"GPU {i} is listed twice: CUDA then sees no GPU at all"
        out.append(i)
    return out, ""


def cuda_gpus(value: str | None, gpus: tuple) -> tuple[list[int], str]:
    """The NVML indices of the GPUs a CUDA process here enumerates, in CUDA's order (as under
    CUDA_DEVICE_ORDER=PCI_BUS_ID), and the problem with CUDA_VISIBLE_DEVICES, if any.

    Only GPUs this process may open count: NVML counts every GPU of the machine, but under a
    Slurm or Kubernetes cgroup CUDA enumerates only the job's own, and CUDA_VISIBLE_DEVICES
    indices count among those (Slurm sets CUDA_VISIBLE_DEVICES=0,1 for a job given GPUs 4 and 5).
    """
    usable = [g for g in sorted(gpus, key=lambda g: g.index) if permitted(g)]
    shown, problem = visible_gpus(value, len(usable), tuple(g.uuid for g in usable))
    return [usable[k].index for k in shown], problem


# -- MIG ----------------------------------------------------------------------------------------
# NVIDIA's MIG User Guide, "CUDA Device Enumeration": with CUDA 11/R450 and CUDA 12/R525 a CUDA
# process enumerates a single MIG device ("the first one available"), and then no non-MIG GPU at all;
# from CUDA 12/R570 it enumerates one compute instance per GPU instance, non-MIG GPUs too, at most 64.
# Drivers R470+ name MIG devices MIG-<UUID>; older ones MIG-GPU-<GPU UUID>/<GI id>/<CI id>.
MANY_MIG_DRIVER = 570
MAX_MIG_DEVICES = 64
_LEGACY_MIG = re.compile(r"^MIG-(GPU-[0-9a-fA-F-]+)/([0-9]+)/([0-9]+)$")


@dataclass(frozen=True)
class CudaDevice:
    """One device a CUDA process enumerates: a whole GPU, or one MIG device of a GPU in MIG mode."""

    gpu: int  # NVML index of the GPU (the parent of a MIG device)
    mig: int | None = None  # NVML's MIG index within that GPU; None for the whole GPU


def label(device: CudaDevice, gpus: tuple = ()) -> str:
    """"GPU 2", or "GPU 1's MIG device 2 (3g.40gb)" when the GPU's MIG devices are at hand."""
    if device.mig is None:
        return f"GPU {device.gpu}"
    profile = ""
    for g in gpus:
        if g.index == device.gpu:
            for d in mig_devices(g):
                if d.index == device.mig and isinstance(d.name, str) and " MIG " in d.name:
                    profile = f" ({d.name.rsplit(' MIG ', 1)[1]})"
    return f"GPU {device.gpu}'s MIG device {device.mig}{profile}"


def mig_devices(gpu) -> tuple:
    """The GPU's MIG devices CUDA can use: one compute instance per GPU instance (the first listed)."""
    devices = gpu.mig_devices if gpu.mig_mode is True and isinstance(gpu.mig_devices, tuple) else ()
    seen, out = set(), []
    for d in devices:
        if d.gpu_instance_id not in seen:
            seen.add(d.gpu_instance_id)
            out.append(d)
    return tuple(out)


def many_mig(driver_version) -> bool:
    """Does this driver let one process enumerate several MIG devices (R570 and later)?"""
    major = ascii_int(str(driver_version).split(".")[0]) if isinstance(driver_version, str) else None
    return major is not None and major >= MANY_MIG_DRIVER


def cuda_devices(value: str | None, gpus: tuple, driver_version=None, one_process: bool = True) -> tuple[list[CudaDevice], str]:
    """What a CUDA process here enumerates under CUDA_VISIBLE_DEVICES, in CUDA's order, and the
    problem with the variable, if any: cuda_gpus() where no GPU is in MIG mode; with MIG, a GPU in
    MIG mode stands for its MIG devices, a list may name MIG devices by UUID (MIG-<UUID>, or the
    pre-R470 MIG-GPU-<UUID>/<GI>/<CI>), and the driver's rule decides how many a process gets.
    one_process=False leaves that rule out: every device the variable names, for a caller that
    gives each device a process of its own (bench's workers)."""
    usable = [g for g in sorted(gpus, key=lambda g: g.index) if permitted(g)]
    if not any(mig_devices(g) for g in usable):
        shown, problem = cuda_gpus(value, gpus)
        return [CudaDevice(i) for i in shown], problem
    if value is not None and value.strip().startswith("MIG-"):
        listed, problem = _mig_list(value, usable)
    else:
        indices, problem = cuda_gpus(value, gpus)
        by_index = {g.index: g for g in usable}
        listed = []
        for i in indices:
            migs = mig_devices(by_index[i])
            listed += [CudaDevice(i, d.index) for d in migs] if by_index[i].mig_mode is True else [CudaDevice(i)]
    if one_process and any(d.mig is not None for d in listed):
        if not many_mig(driver_version):
            listed = [next(d for d in listed if d.mig is not None)]
        else:
            listed = listed[:MAX_MIG_DEVICES]
    return listed, problem


def _mig_list(value: str, usable: list) -> tuple[list[CudaDevice], str]:
    """A CUDA_VISIBLE_DEVICES of MIG devices: read up to its first entry that names none."""
    out: list[CudaDevice] = []
    for raw in value.split(","):
        token = raw.strip()
        hits = [CudaDevice(g.index, d.index) for g in usable for d in mig_devices(g) if _names(token, g, d)]
        if len(hits) != 1:
            return out, f"{token!r} matches no MIG device's UUID: CUDA ignores it and everything after it"
        if hits[0] in out:
            return [], f"MIG device {token!r} is listed twice: CUDA then sees no device at all"
        out.append(hits[0])
    return out, ""


def _names(token: str, gpu, mig) -> bool:
    legacy = _LEGACY_MIG.match(token)
    if legacy:
        return (gpu.uuid == legacy.group(1) and str(mig.gpu_instance_id) == legacy.group(2)
                and str(mig.compute_instance_id) == legacy.group(3))
    return isinstance(mig.uuid, str) and token.startswith("MIG-") and mig.uuid.startswith(token)
