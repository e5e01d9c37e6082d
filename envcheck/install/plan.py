"""A plan: the chosen build spelled as commands, in order (mirror set-up, environment, removals,
install, verification), with why it was chosen. `solve` is the whole pipeline: check the request,
choose the build, spell it.
"""

from __future__ import annotations

from dataclasses import dataclass

from envcheck.compat import Tables
from envcheck.install.choose import Choice, Rejection, choose
from envcheck.install.commands import (
    Install,
    Step,
    conda_install,
    env_steps,
    from_default_index,
    install_step,
    mirror_setup,
    pip_install,
    quote,
    verify_argv,
)
from envcheck.install.installed import Replacing, replacing
from envcheck.install.machine import Machine
from envcheck.install.request import Problem, Request, Route, resolve
from envcheck.versions import cuda_of_variant, cuda_str, vtuple


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

    @property
    def install(self) -> Install | None:
        """The pip or uv install of the plan (None when conda installs torch)."""
        return next((s.install for s in self.steps if s.install is not None), None)


def solve(tables: Tables, machine: Machine, request: Request) -> Plan:
    """The plan for this request on this machine; a UserError subclass (envcheck.install.errors)
    when an argument is wrong or no build fits."""
    problem = resolve(tables, machine, request)
    return spell(tables, problem, choose(tables, problem))


def spell(tables: Tables, problem: Problem, choice: Choice) -> Plan:
    """The commands of a chosen build, and the notes that go with them."""
    machine, request, sources = problem.machine, problem.request, problem.sources
    release, variant, python = choice.release, choice.variant, choice.python
    plat, mirror = problem.target.platform, sources.mirror
    notes = list(choice.notes)
    steps: list[Step] = mirror_setup(mirror, request.manager, request.persist) if mirror else []
    # The torch packages' source when the default index (or its mirror) does not serve the build.
    route = Route(None) if from_default_index(release, variant, plat, mirror) else sources.route(variant)
    made = env_steps(request.manager, choice.env, python, machine.os, machine.python)
    steps += made
    # The environment the commands install into holds the installed stack unless they make a new one.
    here = machine.local and not made and python == machine.python
    interpreter = None if made else request.interpreter  # a new environment's commands run its own Python
    where = ""
    conda_argv = conda_install(release, variant, machine.os) if request.manager == "conda" else None
    if conda_argv is not None:
        source = "conda"
        steps.append(Step("install", tuple(conda_argv)))
        notes += _conda_notes(mirror, bool(mirror or request.torch_mirror), variant)
    else:
        if request.manager == "conda":
            notes.append(_conda_lacks(release, variant))
        tool = ("uv", "pip") if request.manager == "uv" else ("pip",)
        first = (replacing(release, variant, plat, mirror, request.manager, machine.installed, interpreter)
                 if here and request.manager != "conda" else Replacing())
        install, where, source = pip_install(release, variant, plat, mirror, tool, first.pin_local, route, request.persist)
        steps += [*first.steps, install_step(install._replace(interpreter=interpreter))]
        notes += first.notes
        if request.persist and request.manager == "uv" and mirror:
            notes.append("--persist: envcheck writes no uv.toml; each uv command names the mirror itself")
    steps.append(Step("verify", verify_argv(variant, machine.os, interpreter), "check that this build really landed"))
    for step in steps:
        quote(step.argv, machine.os)  # a value the target's shell cannot hold is refused here, before anything is printed
    if where:
        notes.insert(0, where)
    if variant == "cpu" and machine.nvidia_on_pci and not request.cpu:
        notes.append("install (or load) the NVIDIA driver, then run `envcheck install-cmd` again for a CUDA build")
    if request.python and request.manager == "pip" and not choice.env and request.python != machine.python:
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
        why=_why(tables, problem, choice),
        steps=tuple(steps),
        notes=(*choice.preface, *notes),
        rejected=tuple(r for r in choice.rejected if vtuple(r.torch) >= release.key),
        wheels_from=source,
    )


def _conda_notes(mirror, any_mirror: bool, variant: str) -> list[str]:
    notes = []
    if any_mirror:
        notes.append("conda takes torch from the pytorch conda channel, through the mirror's copy set in conda's "
                     "configuration as before; a copy of PyTorch's wheel index serves pip and uv only")
    if mirror and "pytorch" not in mirror.conda_channels:
        notes.append(f"{mirror.name} does not carry the pytorch conda channel: conda fetches it from anaconda.org")
    if cuda_of_variant(variant) and mirror:
        notes.append("no mirror used here carries the nvidia conda channel: `-c nvidia` is fetched from anaconda.org")
    return notes


def _conda_lacks(release, variant: str) -> str:
    if release.conda is None:
        return (f"the pytorch conda channel has no torch {release.torch}: PyTorch stopped publishing there after 2.5 "
                "(pytorch/pytorch#138506), so pip installs it inside the conda environment")
    return f"the pytorch conda channel has no {variant} build of torch {release.torch}, so pip installs it inside the conda environment"


def _why(tables: Tables, problem: Problem, choice: Choice) -> str:
    machine, request = problem.machine, problem.request
    variant, python = choice.variant, choice.python
    build = f"torch {choice.release.torch} ({variant})"
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
