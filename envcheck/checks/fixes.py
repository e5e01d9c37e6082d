"""The one fix for the torch stack, from install-cmd's own solver.

Every finding about torch, torchvision, torchaudio and the Python they run on carries the same
plan, so no two findings can send the user different ways. What is installed is an input of the
plan: the user's torch release is kept when a build of it runs here, and the newest release is
offered beside it.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

from envcheck import shell
from envcheck.checks.commands import FixCommands
from envcheck.checks.findings import Fix
from envcheck.errors import UserError
from envcheck.install import Installed, Plan, Request, machine_from, runs_here, solve
from envcheck.snapshot.model import Host, Snapshot, Torch
from envcheck.versions import cuda_of_variant, release_of, variant_of

KNOWN_OS = ("linux", "windows", "macos")


def target_python(snapshot: Snapshot) -> str:
    """The Python a fix plans for: 3.13, or 3.13t for a free-threaded interpreter (its own wheels)."""
    return ".".join(snapshot.python.version.split(".")[:2]) + ("t" if snapshot.python.free_threaded else "")


def installed_variant(t: Torch) -> str:
    """The build of an installed torch: its local label, else cuXY from torch.version.cuda, else cpu."""
    return variant_of(t.version, t.cuda)


def installed_stack(s: Snapshot) -> Installed:
    """torch and its companions as pip sees them in the target environment."""
    t = s.torch
    torch_version = installer = None
    if isinstance(t, Torch):
        torch_version = t.version if t.status == "ok" and t.version else t.dist_version
        installer = t.installer
    pkgs = {p.name: p.version for p in s.packages}
    broken = isinstance(t, Torch) and t.status in ("import_failed", "crashed") and bool(torch_version)
    return Installed(torch_version, pkgs.get("torchvision"), pkgs.get("torchaudio"), installer or "", broken)


class StackPlan(NamedTuple):
    plan: Plan
    alternative: Plan | None  # the newest release, when the plan keeps an older one


def stack_plan(s: Snapshot, tables, interpreter: str | None = None) -> StackPlan | None:
    """The plan every torch finding shares, or None when the snapshot cannot say the platform.
    `interpreter`: the Python inspected, when it is not the one running envcheck: its commands name it."""
    machine = _machine(s)
    if machine is None:
        return None
    installed, py = machine.installed, machine.python
    base = Request(mirror=s.python.mirror, interpreter=interpreter)
    here = base._replace(python=py)  # in this environment, with this Python
    keep = []
    release = tables.releases.get(release_of(installed.torch)) if installed.torch else None
    t = s.torch
    if release is not None and isinstance(t, Torch) and t.status == "ok":
        variant = installed_variant(t)
        if runs_here(tables, machine, release, variant):  # torch itself is fine: keep it exactly
            keep.append(here._replace(torch=release.torch, cuda=cuda_of_variant(variant), cpu=variant == "cpu"))
    if release is not None:
        keep.append(here._replace(torch=release.torch))
    # The user's release only where a build of it runs here (not its CPU build on a GPU machine);
    # else the newest release here; else in a new environment with another Python.
    plan = _first(tables, machine, keep, strict=True) or _first(tables, machine, [here, base])
    if plan is None:
        return None
    newest = _first(tables, machine, [here]) if release is not None else None
    alternative = newest if newest is not None and newest.torch != plan.torch else None
    return StackPlan(plan, alternative)


def _machine(s: Snapshot):
    """The machine the snapshot describes, with what is installed; None when it does not say the
    platform or the Python (a report): then there is no command to give."""
    py = target_python(s)
    if s.system.os not in KNOWN_OS or py.count(".") != 1:
        return None
    host = Host(s.system.os, s.system.arch, py)
    return machine_from(host, host.os, host.arch, s.driver, installed=installed_stack(s))


def restore_fix(s: Snapshot, tables, torch: str, cuda: str | None, interpreter: str | None = None) -> Fix | None:
    """The commands that put back torch `torch` (whose torch.version.cuda was `cuda`) with its own
    companions, then `envcheck pin` to keep it in place; None when that build cannot be planned here."""
    machine = _machine(s)
    release = tables.releases.get(release_of(torch))
    if machine is None or release is None:
        return None
    variant = variant_of(torch, cuda)
    request = Request(torch=release.torch, cuda=cuda_of_variant(variant), cpu=variant == "cpu", python=machine.python,
                      mirror=s.python.mirror, interpreter=interpreter)
    plan = _first(tables, machine, [request])
    if plan is None or plan.variant != variant:
        return None
    pin = shell.line(["envcheck", "pin", *(("--python", interpreter) if interpreter else ())], shell.shell_for(plan.os))
    return Fix(f"{_commands(plan)} && {pin}", plan.notes, (plan.commands("verify") or [None])[0])


def _first(tables, machine, requests, strict: bool = False) -> Plan | None:
    """The first request the solver can plan; `strict`: only a build that runs here."""
    for request in requests:
        try:
            plan = solve(tables, machine, request)
        except UserError:
            continue
        if strict and not runs_here(tables, machine, tables.releases.get(plan.torch), plan.variant):
            continue
        return plan
    return None


def _commands(plan: Plan) -> str:
    return " && ".join(plan.commands("env", "remove", "install"))


def stack_fix(s: Snapshot, tables, interpreter: str | None = None) -> Fix:
    """The fix of a finding about the torch stack: the commands, the notes that travel with them,
    the line that verifies the result, and the newest release as an alternative; Fix() when no
    plan can be made, or only the line saying why no command can be printed."""
    unprintable = FixCommands.of(s, interpreter).unprintable()
    if unprintable:
        return Fix(None, (unprintable,))
    found = stack_plan(s, tables, interpreter)
    if found is None:
        return Fix()
    plan = found.plan
    return Fix(_commands(plan), plan.notes, (plan.commands("verify") or [None])[0],
               _commands(found.alternative) if found.alternative else None)


class StackFix:
    """The torch-stack fix of one run, planned the first time a finding asks for it and then shared:
    the solver runs once per `doctor`, however many findings carry the plan. `commands` writes every
    other fix command of the run, for the same shell and interpreter."""

    def __init__(self, snapshot: Snapshot, tables, interpreter: str | None = None):
        self._snapshot, self._tables, self._interpreter = snapshot, tables, interpreter
        self.commands = FixCommands.of(snapshot, interpreter)

    @cached_property
    def fix(self) -> Fix:
        return stack_fix(self._snapshot, self._tables, self._interpreter)
