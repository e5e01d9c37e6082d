"""Plan a working PyTorch install: choose a release and build, then spell the commands.

Pure functions of (machine, request, tables): no probing, no printing. The solver walks the
releases newest first and takes the first one with a build that runs here — the driver can load
its CUDA runtime (fully, or through minor-version compatibility), every GPU's compute
capability is in its wheels, and it has wheels for the target Python and platform. Commands
reproduce PyTorch's official ones exactly when no mirror is asked for.
"""

from __future__ import annotations

import shlex
import subprocess  # only list2cmdline, to quote for Windows shells (pyproject: importlinter)
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from envcheck.compat import (
    PLATFORM_LABELS,
    PYTORCH_HOST,
    Mirror,
    Release,
    Tables,
    platform_key,
    wheel_runs_on,
)
from envcheck.errors import UserError
from envcheck.snapshot.facts import DriverInfo, Host, Installed, known
from envcheck.versions import (
    cc_tuple,
    cuda_of_variant,
    cuda_str,
    driver_tuple,
    pad3,
    py_key,
    variant_of_cuda,
    vtuple,
)

# The solver's inputs and small records are NamedTuples (cheap to define: this module is on
# install-cmd's start-up path); the Plan it returns is a frozen dataclass.
MANAGERS = ("pip", "conda", "uv")
OSES = ("linux", "windows", "macos")
ARCHES = ("x86_64", "aarch64", "arm64")


class TargetGpu(NamedTuple):
    name: str
    cc: str | None  # "8.6"; None when NVML could not say


class Machine(NamedTuple):
    """What the solver needs to know of the machine the commands are for."""

    os: str
    arch: str
    python: str
    driver: str | None = None  # NVIDIA driver version; None: no driver
    gpus: tuple[TargetGpu, ...] = ()
    nvidia_on_pci: bool = False  # an NVIDIA device is on the bus even though no driver answered
    local: bool = True  # facts were read from this machine (False: planning for another)
    no_driver_reason: str = ""
    described: bool = False  # the user described the driver or GPUs (--driver, --gpu)
    installed: Installed = Installed()

    @property
    def has_gpu(self) -> bool:
        """The plan is for NVIDIA GPUs: found here with their driver, or described by the user."""
        if self.described:
            return self.driver is not None or bool(self.gpus)
        return self.local and self.driver is not None and bool(self.gpus)


class Request(NamedTuple):
    torch: str | None = None
    cuda: tuple[int, int] | None = None
    cpu: bool = False
    python: str | None = None
    manager: str = "pip"
    mirror: str | None = None  # mirror name, or None for the default index
    env: str | None = None
    torch_mirror: str | None = None  # the copy of PyTorch's wheel index to use, or PYTORCH_HOST
    persist: bool = False  # also make the mirror pip's configured index (`pip config set`)


class Rejection(NamedTuple):
    torch: str
    variant: str
    reason: str
    kind: str = ""  # python | driver | no-driver | arch | not-nvidia
    needs: str = ""  # for kind == driver: the lowest driver that would run it


class Step(NamedTuple):
    purpose: str  # mirror | env | remove | install | verify
    argv: tuple[str, ...]
    comment: str = ""


@dataclass(frozen=True)
class Plan:
    torch: str
    torchvision: str | None
    torchaudio: str | None
    variant: str
    cuda: str | None
    manager: str
    python: str
    os: str
    arch: str
    mirror: str | None
    why: str
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    wheels_from: str = "default-index"  # default-index | pytorch | conda | the carrier mirror's name

    def shell(self, step: Step) -> str:
        return quote(step.argv, self.os)

    def commands(self, *purposes: str) -> list[str]:
        """The shell lines of the steps with these purposes, in order."""
        return [self.shell(s) for s in self.steps if s.purpose in purposes]


class SolveError(UserError):
    """No build fits; `rejected` says why each one considered was turned down (--explain)."""

    def __init__(self, message: str, rejected: tuple = ()):
        super().__init__(message)
        self.rejected = tuple(rejected)


def quote(argv, os: str) -> str:
    """Shell-quote for the target's shell: POSIX sh, or the Windows (MSVCRT) convention."""
    if os == "windows":
        return subprocess.list2cmdline(list(argv))
    return shlex.join(argv)


def machine_from(
    host: Host, os: str, arch: str, info: DriverInfo | None, gpus: tuple = (), driver: str | None = None,
    installed: Installed = Installed(),
) -> Machine:
    """The solver's view of a machine: the NVML facts of this one, or what the user described.

    `info` is None when the plan is not for this machine's GPUs (another OS or CPU, a --driver given,
    or --cpu); `gpus` and `driver` are what the user described with --gpu and --driver. A GPU
    described without a driver is planned for with the driver it needs named, never as "no driver
    here, so the CPU build". `installed` is what the target environment holds now.
    """
    local = (os, arch) == (host.os, host.arch)
    if driver is not None:
        return Machine(os, arch, host.python, driver=driver, gpus=gpus, local=local, described=True, installed=installed)
    if os == "macos":
        return Machine(os, arch, host.python, no_driver_reason="macOS has no CUDA", installed=installed)
    if not local:
        return Machine(os, arch, host.python, gpus=gpus, local=False, described=bool(gpus))
    if info is None or (gpus and not known(info.driver_version)):
        return Machine(os, arch, host.python, gpus=gpus, described=bool(gpus), installed=installed)
    if not known(info.driver_version):
        reason = info.driver_version.reason
        if info.nvidia_on_pci:
            reason = f"an NVIDIA GPU is on the PCI bus but its driver does not answer: {reason}"
        return Machine(os, arch, host.python, nvidia_on_pci=info.nvidia_on_pci, no_driver_reason=reason, installed=installed)
    found = list(gpus)
    for g in info.gpus if known(info.gpus) else ():
        name = g.name if known(g.name) else f"GPU {g.index}"
        found.append(TargetGpu(name, g.compute_capability if known(g.compute_capability) else None))
    return Machine(os, arch, host.python, driver=info.driver_version, gpus=tuple(found), installed=installed)


def target_of(host: Host, os: str | None, arch: str | None) -> tuple[str, str]:
    """--os/--arch over this host's; another OS defaults to its common CPU."""
    target_os = os or host.os
    if arch:
        return target_os, arch
    if target_os == host.os:
        return target_os, host.arch
    return target_os, "arm64" if target_os == "macos" else "x86_64"


# -- judging one build ----------------------------------------------------------------------------


@dataclass
class _Verdict:
    ok: bool
    reason: str = ""
    rank: tuple = ()
    notes: list = field(default_factory=list)
    kind: str = ""
    needs: str = ""


def _driver_verdict(tables: Tables, machine: Machine, cuda: tuple[int, int]) -> _Verdict:
    """Can this driver load the CUDA runtime of a cu<XY> wheel? Full support, MVC, or no."""
    support = tables.drivers.support(cuda, machine.os, machine.driver)
    if support.level == "full":
        return _Verdict(True, rank=(2,))
    if support.level == "minor-version":
        note = (
            f"CUDA {cuda_str(cuda)} runs on driver {machine.driver} through CUDA minor-version "
            f"compatibility (needs ≥ {support.mvc}); the driver cannot JIT-compile newer PTX, so "
            f"torch.compile/Triton kernels may fail"
            + (f" — a driver ≥ {support.full} gives full support" if support.full else "")
        )
        return _Verdict(True, rank=(1,), notes=[note])
    need = support.needs or "a newer driver"
    return _Verdict(False, f"driver {machine.driver} too old for CUDA {cuda_str(cuda)} (needs ≥ {need})", kind="driver", needs=need)


def _driver_needed(tables: Tables, machine: Machine, cuda: tuple[int, int]) -> str:
    """For a GPU described without a driver: the driver this build needs, as a note."""
    support = tables.drivers.support(cuda, machine.os)
    label = {"linux": "Linux", "windows": "Windows"}.get(machine.os, machine.os)
    if support.full and support.mvc and support.full != support.mvc:
        return (f"CUDA {cuda_str(cuda)} needs an NVIDIA {label} driver ≥ {support.full} "
                f"(≥ {support.mvc} runs it through minor-version compatibility, with its limits)")
    if support.needs:
        return f"CUDA {cuda_str(cuda)} needs an NVIDIA {label} driver ≥ {support.needs}"
    return f"envcheck's tables do not list the driver CUDA {cuda_str(cuda)} needs"


def _arch_verdict(tables: Tables, machine: Machine, release: Release, variant: str) -> _Verdict:
    archs = tables.archs.find(release, variant, machine.os, machine.arch)
    if archs is None:
        return _Verdict(True, notes=[f"envcheck's tables do not list the GPU architectures of torch {release.torch} {variant}"])
    for gpu in {g.cc: g for g in machine.gpus}.values():  # one judgement per architecture
        if gpu.cc and not wheel_runs_on(archs, gpu.cc):
            sm = "sm_" + gpu.cc.replace(".", "")
            lowest, highest = min(archs.sm, key=cc_tuple), max(archs.sm, key=cc_tuple)
            if cc_tuple(gpu.cc) < cc_tuple(lowest):
                what = f"drops {sm} ({gpu.name}; its wheels start at sm_{lowest.replace('.', '')})"
            else:
                what = f"has no kernels for {sm} ({gpu.name}; newest is sm_{highest.replace('.', '')})"
            return _Verdict(False, what, kind="arch")
    return _Verdict(True)


def _judge(tables: Tables, machine: Machine, release: Release, variant: str, plat: str, python: str, explicit: bool) -> _Verdict:
    """One (release, variant) on this machine. `explicit`: the user named the build, so
    machine facts become warnings instead of reasons to reject."""
    pys = release.pythons(plat, python)
    if python not in pys:
        span = f"{pys[0]}–{pys[-1]}" if pys else "none"
        return _Verdict(False, f"no wheels for Python {python} (has {span})", kind="python")
    cuda = cuda_of_variant(variant)
    if cuda is None:
        if variant != "cpu":
            return _Verdict(False, f"{variant} is not an NVIDIA build", kind="not-nvidia")
        return _Verdict(True, rank=(0 if machine.has_gpu else 3, 0))
    notes: list[str] = []
    if machine.driver is None and machine.gpus and (machine.described or not machine.local):
        # A GPU the user described, with no driver known: its architecture decides, and the
        # driver it needs is named.
        arch = _arch_verdict(tables, machine, release, variant)
        if not arch.ok and not explicit:
            return arch
        notes += ([f"{variant}: {arch.reason}"] if not arch.ok else []) + arch.notes
        notes.append(_driver_needed(tables, machine, cuda))
        return _Verdict(True, rank=(2 if arch.ok else 0, cuda), notes=notes)
    if not machine.local and machine.driver is None:
        return _Verdict(True, rank=(1, cuda))
    if machine.driver is None:
        why = machine.no_driver_reason or "no NVIDIA driver found"
        if not explicit:
            return _Verdict(False, why, kind="no-driver")
        notes.append(f"this build needs an NVIDIA driver, and none answered here ({why})")
        return _Verdict(True, rank=(0, cuda), notes=notes)
    # Architecture first: a build rejected for the driver alone is one a driver upgrade unlocks.
    arch = _arch_verdict(tables, machine, release, variant)
    drv = _driver_verdict(tables, machine, cuda)
    for v in (arch, drv):
        if not v.ok:
            if not explicit:
                return v
            notes.append(f"{variant}: {v.reason}")
        notes.extend(v.notes)
    return _Verdict(True, rank=(drv.rank[0] if drv.ok else 0, cuda), notes=notes)


def runs_here(tables: Tables, machine: Machine, release: Release, variant: str) -> bool:
    """Would this build of this release run on the machine, judged on its own merits (driver,
    GPU architectures, Python, platform)? A CPU build on a machine with NVIDIA GPUs does not."""
    plat = platform_key(machine.os, machine.arch)
    if variant not in release.variants.get(plat, ()):
        return False
    if variant == "cpu":
        return not machine.has_gpu and machine.python in release.pythons(plat, machine.python)
    return _judge(tables, machine, release, variant, plat, machine.python, explicit=False).ok


# -- choosing ---------------------------------------------------------------------------------


def _candidates(tables: Tables, request: Request) -> list[Release]:
    if not request.torch:
        return list(tables.releases)
    found = tables.releases.matching(request.torch)
    if found:
        return found
    newest, oldest = tables.releases[0], tables.releases[-1]
    known = [r.torch for r in tables.releases]
    near = sorted(known, key=lambda v: _distance(v, request.torch))[:3]
    if vtuple(request.torch) > vtuple(newest.torch):
        raise UserError(
            f"torch {request.torch} is newer than envcheck's tables ({oldest.torch} … {newest.torch}); "
            f"nearest known: {', '.join(near)} — upgrade envcheck for newer releases"
        )
    raise UserError(f"torch {request.torch} is not a release: nearest are {', '.join(near)}")


def _distance(a: str, b: str) -> tuple:
    return tuple(abs(x - y) for x, y in zip(pad3(vtuple(a)), pad3(vtuple(b))))


def _wanted(release: Release, plat: str, request: Request, gpu_machine: bool) -> list[str]:
    """The builds worth judging: NVIDIA and CPU ones; on a machine with working GPUs, CUDA only."""
    variants = [v for v in release.variants.get(plat, ()) if v == "cpu" or cuda_of_variant(v)]
    if request.cpu:
        return [v for v in variants if v == "cpu"]
    if request.cuda:
        return [v for v in variants if v == variant_of_cuda(request.cuda)]
    if gpu_machine:
        return [v for v in variants if v != "cpu"]
    return variants


def _explain_empty(tables: Tables, releases: list[Release], plat: str, request: Request, python: str) -> str:
    """The error for a request no release satisfies, naming the nearest valid choices."""
    label = PLATFORM_LABELS[plat]
    if request.cuda:
        v = variant_of_cuda(request.cuda)
        with_v = [r.torch for r in tables.releases if v in r.variants.get(plat, ())]
        if request.torch and len(releases) >= 1:
            r = releases[0]
            has = ", ".join(r.variants.get(plat, ())) or "nothing"
            where = f"; {v} builds exist for torch {with_v[-1]} … {with_v[0]}" if with_v else f"; no torch release has a {v} build for {label}"
            return f"torch {r.torch} has no {v} build for {label} (it has {has}){where}"
        if with_v:
            return f"no {v} build fits: {v} builds exist for torch {with_v[-1]} … {with_v[0]} on {label}"
        cudas = sorted({cuda_of_variant(x) for r in tables.releases for x in r.variants.get(plat, ()) if cuda_of_variant(x)})
        return f"no torch release has a {v} build for {label}; CUDA builds exist for {', '.join(cuda_str(c) for c in cudas)}"
    if request.torch:
        r = releases[0]
        pys = r.pythons(plat, python)
        if python not in pys:
            first = [x.torch for x in reversed(tables.releases) if python in x.pythons(plat, python)]
            also = f"; the oldest torch with Python {python} wheels is {first[0]}" if first else ""
            return f"torch {r.torch} has no wheels for Python {python} on {label} (it supports {', '.join(pys) or 'none'}){also}"
    return f"no torch build fits this request on {label}"


def solve(tables: Tables, machine: Machine, request: Request) -> Plan:
    plat = platform_key(machine.os, machine.arch)
    python = request.python or machine.python
    releases = _candidates(tables, request)
    if machine.os == "macos" and machine.arch == "x86_64":
        releases = [r for r in releases if r.key <= vtuple(tables.releases.macos_x86_64_last)]
        if not releases:
            raise UserError(f"PyTorch's last macOS x86_64 wheels are for torch {tables.releases.macos_x86_64_last}")
    explicit = bool(request.cuda or request.cpu)
    rejected: list[Rejection] = []
    plan = _fit(tables, machine, request, releases, plat, python, explicit, rejected)
    if plan is not None:
        return plan
    if request.python is None and request.env is None:
        plan = _fit_in_new_env(tables, machine, request, releases, plat, python, explicit)
        if plan is not None:
            return plan
    if explicit or request.torch:
        message = _explain_empty(tables, releases, plat, request, python)
    else:
        message = f"no torch build runs on {machine.os} {machine.arch} with Python {python}"
    raise SolveError(message + _python_hint(releases, plat, request, python, rejected), rejected)


def _fit(tables, machine, request, releases, plat, python, explicit, rejected) -> Plan | None:
    """The first fitting build, GPU builds first on a GPU machine, then the CPU build."""
    gpu_machine = machine.has_gpu and not explicit
    plan = _first_fit(tables, machine, request, releases, plat, python, explicit, gpu_machine, rejected)
    if plan is None and gpu_machine:
        plan = _first_fit(tables, machine, request, releases, plat, python, explicit, False, [])
        if plan is not None:
            gpus = ", ".join(sorted({g.name for g in machine.gpus})) or "this GPU"
            with_driver = f" with driver {machine.driver}" if machine.driver else ""
            plan = replace(plan, notes=(f"no CUDA build of any torch release runs on {gpus}{with_driver}: CPU build", *plan.notes))
    return plan


def _fit_in_new_env(tables, machine, request, releases, plat, python, explicit) -> Plan | None:
    """When this Python has no wheels for what was asked: the plan in a new environment with a
    Python that has them (the newest such Python)."""
    pythons = sorted({py for r in releases for py in r.python.get(plat, ())}, key=py_key, reverse=True)
    for py in pythons:
        if py == python:
            continue
        env = "torch" if request.manager == "conda" else "torch-env"
        plan = _fit(tables, machine, request._replace(python=py, env=env), releases, plat, py, explicit, [])
        if plan is not None:
            note = (f"Python {python} has no wheels for this build: these commands make a new environment "
                    f"with Python {py} (`--python {py}` plans for it directly)")
            return replace(plan, notes=(note, *plan.notes))
    return None


def _python_hint(releases, plat, request, python, rejected) -> str:
    """For a request that failed on the Python version alone: the Pythons that would work."""
    if not rejected or any(r.kind != "python" for r in rejected):
        return ""
    pythons = sorted({py for r in releases for py in r.pythons(plat, python)}, key=py_key)
    if not pythons or python in pythons:
        return ""
    return f"; plan for Python {pythons[-1]} with --python {pythons[-1]} --env NAME (a new environment)"


def _first_fit(tables, machine, request, releases, plat, python, explicit, gpu_machine, rejected) -> Plan | None:
    for release in releases:
        py = _python_for(release, plat, request, machine, python)
        wanted = _wanted(release, plat, request, gpu_machine)
        if not wanted:
            continue
        judged = []
        for variant in wanted:
            v = _judge(tables, machine, release, variant, plat, py, explicit)
            if v.ok:
                judged.append((v.rank, variant, v))
            else:
                rejected.append(Rejection(release.torch, variant, v.reason, v.kind, v.needs))
        if not judged:
            continue
        judged.sort(key=lambda t: t[0], reverse=True)
        _, variant, verdict = judged[0]
        notes = list(verdict.notes) + _upgrade_hint(rejected, release)
        return _plan(tables, machine, request, release, variant, py, notes, rejected)
    return None


def _upgrade_hint(rejected: list[Rejection], chosen: Release) -> list[str]:
    """If a newer release failed only on the driver, say which driver would unlock it."""
    newer = [r for r in rejected if vtuple(r.torch) > vtuple(chosen.torch)]
    if not newer:
        return []
    top = newer[0].torch
    driver_only = [r for r in newer if r.torch == top and r.kind == "driver"]
    if not driver_only:
        return []
    best = min(driver_only, key=lambda r: driver_tuple(r.needs) if r.needs[:1].isdigit() else (9999,))
    return [f"a driver ≥ {best.needs} would run torch {top} ({best.variant}); this driver tops out at {chosen.torch}"]


def _python_for(release: Release, plat: str, request: Request, machine: Machine, python: str) -> str:
    """conda creates its environment, so it may pick the Python; pip and uv use the target's."""
    if request.manager != "conda" or request.python:
        return python
    pys = release.python.get(plat, ())
    if machine.python in pys or not pys:
        return machine.python
    return max(pys, key=py_key)


# -- spelling the commands ----------------------------------------------------------------------


def _pins(release: Release, variant: str, local: bool, all_local: bool = False) -> list[str]:
    """torch==X, torchvision==Y, torchaudio==Z. `local` pins torch and torchvision as X+cu121, as
    the official lines of that era do; `all_local` pins torchaudio too, so that no installed
    build of the same release is taken as meeting the pin."""
    suffix = f"+{variant}" if local or all_local else ""
    pins = [f"torch=={release.torch}{suffix}"]
    if release.torchvision:
        pins.append(f"torchvision=={release.torchvision}{suffix}")
    if release.torchaudio:
        pins.append(f"torchaudio=={release.torchaudio}" + (suffix if all_local else ""))
    return pins


def official_pip_lines(release: Release, variant: str, plat: str) -> list[list[str]]:
    """PyTorch's own command(s) for this build, token for token (previous-versions page)."""
    if variant in release.pip_exceptions:
        return [shlex.split(line) for line in release.pip_exceptions[variant]]
    return [official_pip(release, variant, plat)]


def official_pip(release: Release, variant: str, plat: str) -> list[str]:
    """The one official pip line of a build (the NVIDIA and CPU builds all have one)."""
    if variant in release.pip_exceptions:
        return shlex.split(release.pip_exceptions[variant][-1])
    plain = plat == "macos" or (release.pip.plain_default and variant == release.default.get(plat))
    if plain:
        return ["pip", "install", *_pins(release, variant, False)]
    url = release.pip.url.format(variant=variant)
    return ["pip", "install", *_pins(release, variant, release.pip.local), release.pip.flag, url]


def _is_default(release: Release, variant: str, plat: str) -> bool:
    return release.default.get(plat) == variant


def from_default_index(release: Release, variant: str, plat: str, mirror: Mirror | None) -> bool:
    """The plan takes this build from the default index (or a mirror of it), where versions carry
    no local label: `torch==2.14.1` there cannot be pinned to one build."""
    if variant in release.pip_exceptions:
        return False
    if plat == "macos":
        return True
    if mirror is not None:
        return _is_default(release, variant, plat)
    return release.pip.plain_default and _is_default(release, variant, plat)




class Route(NamedTuple):
    """Where a build's torch packages come from: a mirror's copy of PyTorch's wheel index
    (`carrier`), or PyTorch's own index (None); `why` says why, for the plan's notes."""

    carrier: Mirror | None
    why: str = ""


def torch_route(tables: Tables, mirror: Mirror | None, variant: str, torch_mirror: str | None = None) -> Route:
    """Which copy of PyTorch's wheel index serves this build: --torch-mirror's choice, else the
    chosen mirror's own copy, else the first carrier in compat/mirrors.toml's order that holds the
    build, else PyTorch's own index. Without a mirror, PyTorch's own index, as its own lines say."""
    if torch_mirror == PYTORCH_HOST:
        return Route(None, "chosen with --torch-mirror pytorch")
    if torch_mirror:
        chosen = tables.mirrors.carrier(torch_mirror)
        if not chosen.carries(variant):
            others = ", ".join([*(c.name for c in tables.mirrors.carriers if c.carries(variant)), PYTORCH_HOST])
            raise UserError(f"--torch-mirror {chosen.name}: its copy of PyTorch's index has no {variant} builds "
                            f"(compat/mirrors.toml): choose {others}")
        return Route(chosen, f"chosen with --torch-mirror {chosen.name}")
    if mirror is None:
        return Route(None)
    if mirror.carries(variant):
        return Route(mirror)
    lacks = "copies only the default index" if not mirror.copies_wheels else f"has no {variant} builds in its copy of PyTorch's index"
    order = ", ".join(tables.mirrors.route.order)
    for carrier in tables.mirrors.carriers:
        if carrier.carries(variant):
            return Route(carrier, f"{mirror.name} {lacks}; {carrier.name} comes first of the copies with {variant} "
                                  f"builds in compat/mirrors.toml's order: {order}")
    return Route(None, f"{mirror.name} {lacks}, and no copy of PyTorch's index envcheck knows has {variant} builds")


class Install(NamedTuple):
    argv: list[str]
    where: str  # a sentence on where the wheels come from; "" for PyTorch's own line
    source: str  # Plan.wheels_from


def pip_install(
    release: Release, variant: str, plat: str, mirror: Mirror | None, tool: tuple[str, ...] = ("pip",), pin_local: bool = False,
    route: Route = Route(None), persist: bool = False,
) -> Install:
    """The install command for pip (or `uv pip`) and where its wheels come from.

    The default index's own build comes from it (or its mirror); another build from the copy of
    PyTorch's wheel index that `route` names, used its own way (--index-url for a PEP 503 copy, -f
    and pinned local versions for a flat folder), or from PyTorch's own index; the mirror stays an
    index for the dependencies, since a mirror of the default index never carries `+cu121` builds.
    The mirror is named on the command itself (uv reads no pip config), unless `persist`: then
    `pip config set` has made it pip's index already. `pin_local` pins every package with the
    build's local label (X+cu126): the official line otherwise, which an installed X+cpu would satisfy.
    """
    uv = tool[0] == "uv"
    official = official_pip(release, variant, plat)
    if pin_local and not from_default_index(release, variant, plat, mirror) and variant not in release.pip_exceptions:
        n = len(_pins(release, variant, False))
        official = [official[0], official[1], *_pins(release, variant, True, all_local=True), *official[2 + n:]]
    default = ["--index-url", mirror.pypi] if mirror and (uv or not persist) else []
    if from_default_index(release, variant, plat, mirror):
        if mirror is None:
            return Install([*tool, *official[1:]], "", "default-index")
        return Install([*tool, "install", *_pins(release, variant, False), *default],
                       f"{mirror.name} mirrors the default index, which serves the {variant} build of torch {release.torch} here",
                       "default-index")
    carrier = route.carrier
    because = f" ({route.why})" if route.why else ""
    rest = f"; other packages from {mirror.name}" if mirror else ""
    if carrier is None:
        where = f"the {variant} wheels come from PyTorch's own index{because}{rest}" if route.why else ""
        if mirror is None:
            return Install([*tool, *official[1:]], where, PYTORCH_HOST)
        flag, url = official[-2], official[-1]
        pins = official[2:-2]
        if uv:  # uv searches extra indexes first and stops at the first that has a package
            argv = [*tool, "install", *pins, "--extra-index-url" if flag == "--index-url" else flag, url, "--index-url", mirror.pypi]
        elif flag == "--index-url":
            argv = [*tool, "install", *pins, flag, url, "--extra-index-url", mirror.pypi]
        else:
            argv = [*tool, "install", *pins, flag, url, *default]
        return Install(argv, where, PYTORCH_HOST)
    url = carrier.wheel_url(variant)
    if carrier.wheels_form == "find-links":
        argv = [*tool, "install", *_pins(release, variant, True, all_local=pin_local), "-f", url, *default]
        return Install(argv, f"the {variant} wheels come from {carrier.name}'s flat wheel folder, -f with the +{variant} builds pinned{because}{rest}", carrier.name)
    pins = _pins(release, variant, release.pip.local, all_local=pin_local)
    if mirror is None:
        argv = [*tool, "install", *pins, "--index-url" if official[-2] == "--index-url" else "--extra-index-url", url]
    elif uv:
        argv = [*tool, "install", *pins, "--index-url", mirror.pypi, "--extra-index-url", url]
    else:
        argv = [*tool, "install", *pins, "--index-url", url, "--extra-index-url", mirror.pypi]
    return Install(argv, f"the {variant} wheels come from {carrier.name}'s copy of PyTorch's index{because}{rest}", carrier.name)


def conda_install(release: Release, variant: str, os: str = "linux") -> list[str] | None:
    """The pytorch-channel command, or None when the channel does not have this build."""
    c = release.conda
    if c is None:
        return None
    pins = [f"pytorch=={release.torch}"]
    if c.torchvision or release.torchvision:
        pins.append(f"torchvision=={c.torchvision or release.torchvision}")
    if c.torchaudio or release.torchaudio:
        pins.append(f"torchaudio=={c.torchaudio or release.torchaudio}")
    if os == "macos":  # the macOS packages are CPU/MPS builds with no cpuonly marker
        return ["conda", "install", *pins, "-c", "pytorch"] if variant == "cpu" else None
    if variant == "cpu":
        return ["conda", "install", *pins, "cpuonly", "-c", "pytorch"] if c.cpu else None
    cuda = cuda_of_variant(variant)
    if cuda is None or cuda_str(cuda) not in c.cuda:
        return None
    ver = cuda_str(cuda)
    pkg = f"{c.package}={ver}"
    channels = []
    for ch in (*c.channels, *c.extra_channels.get(ver, ())):
        channels += ["-c", ch]
    return ["conda", "install", *pins, pkg, *channels]


def mirror_setup(mirror: Mirror, manager: str, persist: bool = False) -> list[Step]:
    """The commands that make conda (and with `persist`, pip) use a mirror from now on; `envcheck
    mirror set` runs the same. Without `persist`, pip's configuration is left alone: each pip
    command names the mirror itself. uv reads no pip config and gets no step."""
    steps = []
    if persist and manager != "uv":
        steps.append(Step("mirror", ("pip", "config", "set", "global.index-url", mirror.pypi), f"use the {mirror.title} mirror of the default index"))
    if manager == "conda" and mirror.conda:
        steps += [Step("mirror", argv, "") for argv in conda_mirror_argv(mirror)]
    return steps


def conda_mirror_argv(mirror: Mirror) -> list[tuple[str, ...]]:
    base = mirror.conda.rstrip("/")
    out = [("conda", "config", "--set", "show_channel_urls", "yes")]
    for ch in mirror.conda_channels:
        out.append(("conda", "config", "--set", f"custom_channels.{ch}", f"{base}/cloud"))
    return out


def verify_argv(variant: str, os: str) -> tuple[str, ...]:
    """One line that proves the right build landed: a silent fall-back to another build is the classic failure."""
    cuda = cuda_of_variant(variant)
    show = "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.cuda.device_count())"
    if cuda:
        check = f'; assert torch.version.cuda == "{cuda_str(cuda)}", "not the CUDA {cuda_str(cuda)} build"'
    elif variant == "cpu":
        check = '; assert torch.version.cuda is None, "not the CPU build"'
    else:
        check = ""
    return ("python", "-c", show + check)


def _env_steps(request: Request, python: str, machine: Machine) -> list[Step]:
    name = request.env
    os = machine.os
    if request.manager == "conda":
        name = name or "torch"
        return [
            Step("env", ("conda", "create", "-n", name, f"python={python}", "-y"), f"a fresh environment with Python {python}"),
            Step("env", ("conda", "activate", name)),
        ]
    if not name:
        return []
    activate = (f"{name}\\Scripts\\activate",) if os == "windows" else ("source", f"{name}/bin/activate")
    if request.manager == "uv":
        create = ("uv", "venv", name, "--python", python)
    elif python != machine.python:  # another interpreter than the one envcheck looked at
        create = ("py", f"-{python}", "-m", "venv", name) if os == "windows" else (f"python{python}", "-m", "venv", name)
    else:
        create = ("python" if os == "windows" else "python3", "-m", "venv", name)
    return [Step("env", create, f"a fresh virtual environment ({python})"), Step("env", activate)]


_CONDA_NAMES = {"torch": "pytorch", "torchvision": "torchvision", "torchaudio": "torchaudio"}


def _build_of(version: str, release: Release, plat: str) -> str:
    """The build an installed version is: its local label, or the default index's build."""
    local = version.partition("+")[2]
    return local or release.default.get(plat, "cpu")


def _kept_builds(installed: Installed, release: Release, variant: str, plat: str) -> list[str]:
    """Installed packages that pip and uv would keep though they are not the planned build: the
    same release with another local label meets an unlabelled pin (PEP 440)."""
    out = []
    for name in ("torch", "torchvision", "torchaudio"):
        have, want = installed.version(name), getattr(release, name)
        if have and want and have.partition("+")[0] == want and _build_of(have, release, plat) != variant:
            out.append(name)
    return out


def _replace_installed(release: Release, variant: str, plat: str, mirror: Mirror | None, manager: str, installed: Installed) -> tuple[list[Step], bool, list[str]]:
    """What the installed stack changes in a pip/uv plan for this environment: steps that go
    first, whether to pin local labels, and notes."""
    names = [n for n in ("torch", "torchvision", "torchaudio") if installed.version(n)]
    if not names:
        return [], False, []
    steps: list[Step] = []
    notes: list[str] = []
    if installed.installer == "conda":
        conda_names = tuple(_CONDA_NAMES[n] for n in names)
        steps.append(Step("remove", ("conda", "remove", "-y", *conda_names), "torch came from conda: remove it before pip installs wheels over it"))
        what = f"torch {installed.torch}" if installed.torch else "the torch stack"
        notes.append(f"{what} was installed by conda; mixing conda's and pip's copies breaks the environment, so conda removes it first")
        return steps, False, notes
    stale = [n for n in names if getattr(release, n) is None]  # no release of it goes with this torch
    kept = _kept_builds(installed, release, variant, plat)
    if installed.broken and installed.torch and "torch" not in kept:
        kept = ["torch", *kept]  # the same build, but it does not import: pip would keep it as it is
    pin_local = bool(kept) and not from_default_index(release, variant, plat, mirror) and not installed.broken
    remove = stale + ([] if pin_local else kept)
    if pin_local:
        have = ", ".join(f"{n} {installed.version(n)}" for n in kept)
        notes.append(f"{have} is installed, and pip counts it as meeting an unlabelled ==pin (PEP 440 local versions): "
                     f"the pins carry +{variant} so that the build is replaced")
    if remove:
        tool = ("uv", "pip", "uninstall") if manager == "uv" else ("pip", "uninstall", "-y")
        steps.append(Step("remove", (*tool, *remove), "remove what the install would otherwise keep"))
        for n in kept:
            if n in remove and n == "torch" and installed.broken:
                notes.append(f"torch {installed.torch} is installed but does not import: it is removed first, "
                             "or pip would call the requirement met and keep it as it is")
            elif n in remove:
                notes.append(f"{n} {installed.version(n)} is installed, and pip counts it as meeting {n}=={getattr(release, n)} "
                             f"(PEP 440 local versions): it is removed first so that the {variant} build goes in")
        for n in stale:
            notes.append(f"{n} {installed.version(n)} has no release for torch {release.torch}: it is removed, or it would break on import")
    return steps, pin_local, notes


def _plan(tables: Tables, machine: Machine, request: Request, release: Release, variant: str, python: str, notes: list[str], rejected: list[Rejection]) -> Plan:
    plat = platform_key(machine.os, machine.arch)
    mirror = None
    if request.mirror:
        mirror = tables.mirrors.get(request.mirror)
        if mirror is None:
            raise UserError(f"--mirror {tables.mirrors.unknown(request.mirror)}")
    if request.torch_mirror and request.torch_mirror != PYTORCH_HOST:
        tables.mirrors.carrier(request.torch_mirror)  # a wrong name is an error whatever the build
    notes = list(notes)
    steps: list[Step] = []
    if mirror:
        steps += mirror_setup(mirror, request.manager, request.persist)
    # The torch packages' source when the default index (or its mirror) does not serve the build.
    route = Route(None) if from_default_index(release, variant, plat, mirror) else torch_route(tables, mirror, variant, request.torch_mirror)
    env_steps = _env_steps(request, python, machine)
    steps += env_steps
    # The environment the commands install into holds the installed stack unless they make a new one.
    here = machine.local and not env_steps and python == machine.python
    where = ""
    if request.manager == "conda":
        argv = conda_install(release, variant, machine.os)
        if argv is not None:
            source = "conda"
            steps.append(Step("install", tuple(argv)))
            if mirror or request.torch_mirror:
                notes.append("conda takes torch from the pytorch conda channel, through the mirror's copy set in conda's "
                             "configuration as before; a copy of PyTorch's wheel index serves pip and uv only")
            if mirror and "pytorch" not in mirror.conda_channels:
                notes.append(f"{mirror.name} does not carry the pytorch conda channel: conda fetches it from anaconda.org")
            if cuda_of_variant(variant) and mirror:
                notes.append("no mirror used here carries the nvidia conda channel: `-c nvidia` is fetched from anaconda.org")
        else:
            if release.conda is None:
                notes.append(
                    f"the pytorch conda channel has no torch {release.torch}: PyTorch stopped publishing there after 2.5 "
                    "(pytorch/pytorch#138506), so pip installs it inside the conda environment"
                )
            else:
                notes.append(f"the pytorch conda channel has no {variant} build of torch {release.torch}, so pip installs it inside the conda environment")
            argv, where, source = pip_install(release, variant, plat, mirror, route=route, persist=request.persist)
            steps.append(Step("install", tuple(argv)))
    else:
        tool = ("uv", "pip") if request.manager == "uv" else ("pip",)
        first, pin_local, why_first = _replace_installed(release, variant, plat, mirror, request.manager, machine.installed) if here else ([], False, [])
        argv, where, source = pip_install(release, variant, plat, mirror, tool, pin_local=pin_local, route=route, persist=request.persist)
        steps += first
        steps.append(Step("install", tuple(argv)))
        notes += why_first
        if request.persist and request.manager == "uv" and mirror:
            notes.append("--persist: envcheck writes no uv.toml; each uv command names the mirror itself")
    steps.append(Step("verify", verify_argv(variant, machine.os), "check that this build really landed"))
    if where:
        notes.insert(0, where)
    if variant == "cpu" and machine.nvidia_on_pci and not request.cpu:
        notes.append("install (or load) the NVIDIA driver, then run `envcheck install-cmd` again for a CUDA build")
    if request.python and request.manager == "pip" and not request.env and request.python != machine.python:
        notes.append(f"run these with Python {request.python} (this interpreter is {machine.python})")
    cuda = cuda_of_variant(variant)
    return Plan(
        torch=release.torch,
        torchvision=release.torchvision,
        torchaudio=release.torchaudio,
        variant=variant,
        cuda=cuda_str(cuda) if cuda else None,
        manager=request.manager,
        python=python,
        os=machine.os,
        arch=machine.arch,
        mirror=mirror.name if mirror else None,
        why=_why(tables, machine, request, release, variant, python),
        steps=tuple(steps),
        notes=tuple(notes),
        rejected=tuple(r for r in rejected if vtuple(r.torch) >= vtuple(release.torch)),
        wheels_from=source,
    )


def _why(tables: Tables, machine: Machine, request: Request, release: Release, variant: str, python: str) -> str:
    build = f"torch {release.torch} ({variant})"
    asked = []
    if request.torch:
        asked.append(f"torch {request.torch}")
    if request.cuda:
        asked.append(f"CUDA {cuda_str(request.cuda)}")
    if request.cpu:
        asked.append("the CPU build")
    if asked:
        return f"{build}: the build you asked for ({', '.join(asked)}), for Python {python} on {machine.os} {machine.arch}."
    gpus = ", ".join(sorted({f"{g.name} (sm_{g.cc.replace('.', '')})" if g.cc else g.name for g in machine.gpus})) or "no GPU listed"
    if machine.driver is None and machine.gpus and variant != "cpu":
        return f"{build}: the newest release with a build for {gpus}, for Python {python} on {machine.os} {machine.arch} (the driver it needs is noted)."
    if not machine.local and machine.driver is None:
        return f"{build}: the newest release for Python {python} on {machine.os} {machine.arch}; pass --cuda or --cpu to choose the build."
    if variant == "cpu" and machine.has_gpu:
        return f"{build}: the newest release for Python {python}; CPU build because no CUDA build runs on {gpus} (see the note)."
    if variant == "cpu":
        reason = machine.no_driver_reason or "no NVIDIA driver found"
        return f"{build}: the newest release for Python {python}; CPU build because {reason}."
    top = tables.drivers.max_cuda(machine.driver, machine.os)
    drv = f"driver {machine.driver}" + (f" (CUDA ≤ {cuda_str(top)})" if top else "")
    if not machine.gpus:
        return f"{build}: the newest release with a build that {drv} can run, for Python {python}; --gpu checks a GPU's architecture too."
    return f"{build}: the newest release with a build that {drv} and {gpus} can run, for Python {python}."
