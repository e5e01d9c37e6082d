"""Would one build of one release run on the machine? The driver (fully, or through CUDA
minor-version compatibility), every GPU's compute capability against the wheel's arch list, and
the target Python and platform, each a verdict with its reason."""

from __future__ import annotations

from typing import NamedTuple

from envcheck.compat import Release, Tables, platform_key, wheel_runs_on
from envcheck.install.machine import Machine
from envcheck.versions import cc_tuple, cuda_of_variant, cuda_str


class Verdict(NamedTuple):
    ok: bool
    reason: str = ""
    rank: tuple = ()  # among the builds that run, the higher the better
    notes: tuple[str, ...] = ()
    kind: str = ""  # why not: python | driver | no-driver | arch | not-nvidia
    needs: str = ""  # for kind == driver: the lowest driver that would run it


def driver_verdict(tables: Tables, machine: Machine, cuda: tuple[int, int]) -> Verdict:
    """Can this driver load the CUDA runtime of a cu<XY> wheel? Full support, MVC, or no."""
    support = tables.drivers.support(cuda, machine.os, machine.driver)
    if support.level == "full":
        return Verdict(True, rank=(2,))
    if support.level == "minor-version":
        note = (
            f"CUDA {cuda_str(cuda)} runs on driver {machine.driver} through CUDA minor-version "
            f"compatibility (needs ≥ {support.mvc}); the driver cannot JIT-compile newer PTX, so "
            f"torch.compile/Triton kernels may fail"
            + (f" — a driver ≥ {support.full} gives full support" if support.full else "")
        )
        return Verdict(True, rank=(1,), notes=(note,))
    need = support.needs or "a newer driver"
    return Verdict(False, f"driver {machine.driver} too old for CUDA {cuda_str(cuda)} (needs ≥ {need})", kind="driver", needs=need)


def driver_needed(tables: Tables, machine: Machine, cuda: tuple[int, int]) -> str:
    """For a GPU described without a driver: the driver this build needs, as a note."""
    support = tables.drivers.support(cuda, machine.os)
    label = {"linux": "Linux", "windows": "Windows"}.get(machine.os, machine.os)
    if support.full and support.mvc and support.full != support.mvc:
        return (f"CUDA {cuda_str(cuda)} needs an NVIDIA {label} driver ≥ {support.full} "
                f"(≥ {support.mvc} runs it through minor-version compatibility, with its limits)")
    if support.needs:
        return f"CUDA {cuda_str(cuda)} needs an NVIDIA {label} driver ≥ {support.needs}"
    return f"envcheck's tables do not list the driver CUDA {cuda_str(cuda)} needs"


def arch_verdict(tables: Tables, machine: Machine, release: Release, variant: str) -> Verdict:
    """Does the wheel carry kernels for every GPU's architecture?"""
    archs = tables.archs.find(release, variant, machine.os, machine.arch)
    if archs is None:
        return Verdict(True, notes=(f"envcheck's tables do not list the GPU architectures of torch {release.torch} {variant}",))
    for gpu in {g.cc: g for g in machine.gpus}.values():  # one judgement per architecture
        if gpu.cc and not wheel_runs_on(archs, gpu.cc):
            sm = "sm_" + gpu.cc.replace(".", "")
            lowest, highest = min(archs.sm, key=cc_tuple), max(archs.sm, key=cc_tuple)
            if cc_tuple(gpu.cc) < cc_tuple(lowest):
                what = f"drops {sm} ({gpu.name}; its wheels start at sm_{lowest.replace('.', '')})"
            else:
                what = f"has no kernels for {sm} ({gpu.name}; newest is sm_{highest.replace('.', '')})"
            return Verdict(False, what, kind="arch")
    return Verdict(True)


def judge(tables: Tables, machine: Machine, release: Release, variant: str, plat: str, python: str, explicit: bool) -> Verdict:
    """One (release, variant) on this machine. `explicit`: the user named the build, so
    machine facts become warnings instead of reasons to reject."""
    pys = release.pythons(plat, python)
    if python not in pys:
        span = f"{pys[0]}–{pys[-1]}" if pys else "none"
        return Verdict(False, f"no wheels for Python {python} (has {span})", kind="python")
    cuda = cuda_of_variant(variant)
    if cuda is None:
        if variant != "cpu":
            return Verdict(False, f"{variant} is not an NVIDIA build", kind="not-nvidia")
        return Verdict(True, rank=(0 if machine.has_gpu else 3, 0))
    if machine.gpu_without_driver:
        arch = arch_verdict(tables, machine, release, variant)
        if not arch.ok and not explicit:
            return arch
        notes = ((f"{variant}: {arch.reason}",) if not arch.ok else ()) + arch.notes
        return Verdict(True, rank=(2 if arch.ok else 0, cuda), notes=(*notes, driver_needed(tables, machine, cuda)))
    if not machine.local and machine.driver is None:
        return Verdict(True, rank=(1, cuda))
    if machine.driver is None:
        why = machine.no_driver_reason or "no NVIDIA driver found"
        if not explicit:
            return Verdict(False, why, kind="no-driver")
        return Verdict(True, rank=(0, cuda), notes=(f"this build needs an NVIDIA driver, and none answered here ({why})",))
    # Architecture first: a build rejected for the driver alone is one a driver upgrade unlocks.
    arch = arch_verdict(tables, machine, release, variant)
    drv = driver_verdict(tables, machine, cuda)
    notes: list[str] = []
    for v in (arch, drv):
        if not v.ok:
            if not explicit:
                return v
            notes.append(f"{variant}: {v.reason}")
        notes.extend(v.notes)
    return Verdict(True, rank=(drv.rank[0] if drv.ok else 0, cuda), notes=tuple(notes))


def runs_here(tables: Tables, machine: Machine, release: Release, variant: str) -> bool:
    """Would this build of this release run on the machine, judged on its own merits (driver,
    GPU architectures, Python, platform)? A CPU build on a machine with NVIDIA GPUs does not."""
    plat = platform_key(machine.os, machine.arch)
    if variant not in release.variants.get(plat, ()):
        return False
    if variant == "cpu":
        return not machine.has_gpu and machine.python in release.pythons(plat, machine.python)
    return judge(tables, machine, release, variant, plat, machine.python, explicit=False).ok
