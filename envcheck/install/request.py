"""What the user asks for, checked whole before anything is solved: the target platform and
Python, where the packages come from (`Sources`), and the releases in question.

Every argument is validated here, up front, so that a mistyped mirror is reported even when the
torch release asked for is wrong too, and nothing downstream resolves a name again.
"""

from __future__ import annotations

from typing import NamedTuple

from envcheck import shell
from envcheck.compat import PYTORCH_HOST, Mirror, Release, Tables, platform_key
from envcheck.errors import UserError
from envcheck.install.errors import (
    BadRequest,
    CarrierLacksBuild,
    NoBuildFits,
    NotACarrier,
    UnknownMirror,
    UnknownRelease,
)
from envcheck.install.machine import Machine
from envcheck.versions import vtuple

MANAGERS = ("pip", "conda", "uv")


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
    interpreter: str | None = None  # the Python the commands install into, when not the one on PATH (doctor --python)


class Target(NamedTuple):
    """The platform and Python the wheels must fit, and whether the user named the build."""

    os: str
    arch: str
    platform: str  # the tables' key: linux, linux_aarch64, windows, macos
    python: str
    explicit: bool  # --cuda or --cpu: machine facts become warnings, not reasons to reject


class Route(NamedTuple):
    """Where a build's torch packages come from: a mirror's copy of PyTorch's wheel index
    (`carrier`), or PyTorch's own index (None); `why` says why, for the plan's notes."""

    carrier: Mirror | None
    why: str = ""


class Sources(NamedTuple):
    """Where packages come from: the mirror of the default index (None: pip's own index), the copy
    of PyTorch's wheel index the user chose, and the copies known, in the tables' order."""

    mirror: Mirror | None
    chosen: Mirror | None  # the copy named by the user
    pytorch_chosen: bool  # PyTorch's own index named by the user
    carriers: tuple[Mirror, ...]
    order: tuple[str, ...]
    persist: bool = False

    @property
    def default_index(self) -> str | None:
        """The index for everything but the torch builds, when it is a mirror's."""
        return self.mirror.pypi if self.mirror else None

    def route(self, variant: str) -> Route:
        """Which copy of PyTorch's wheel index serves this build: the user's choice, else the
        mirror's own copy, else the first copy in compat/mirrors.toml's order that holds the build,
        else PyTorch's own index. Without a mirror, PyTorch's own index, as its own lines say."""
        if self.pytorch_chosen:
            return Route(None, f"chosen with --torch-mirror {PYTORCH_HOST}")
        if self.chosen is not None:
            if not self.chosen.carries(variant):
                others = (*(c.name for c in self.carriers if c.carries(variant)), PYTORCH_HOST)
                raise CarrierLacksBuild(self.chosen.name, variant, others)
            return Route(self.chosen, f"chosen with --torch-mirror {self.chosen.name}")
        mirror = self.mirror
        if mirror is None:
            return Route(None)
        if mirror.carries(variant):
            return Route(mirror)
        lacks = ("copies only the default index" if not mirror.copies_wheels
                 else f"has no {variant} builds in its copy of PyTorch's index")
        for carrier in self.carriers:
            if carrier.carries(variant):
                return Route(carrier, f"{mirror.name} {lacks}; {carrier.name} comes first of the copies with {variant} "
                                      f"builds in compat/mirrors.toml's order: {', '.join(self.order)}")
        return Route(None, f"{mirror.name} {lacks}, and no copy of PyTorch's index envcheck knows has {variant} builds")


class Problem(NamedTuple):
    """A request checked whole: what the solver and the spelling of the commands work from."""

    machine: Machine
    request: Request
    target: Target
    sources: Sources
    releases: tuple[Release, ...]  # the candidates, newest first


def resolve(tables: Tables, machine: Machine, request: Request) -> Problem:
    """Check every argument before solving; several wrong ones are reported together, the mirror first."""
    errors: list[UserError] = []

    def checked(check, *args):
        try:
            return check(*args)
        except UserError as exc:
            errors.append(exc)
            return None

    mirror = checked(_mirror, tables, request.mirror)
    chosen = checked(_carrier, tables, request.torch_mirror)
    platform = checked(platform_key, machine.os, machine.arch)
    releases = checked(_candidates, tables, request, machine)
    if request.env is not None:
        checked(_env_name, request.env, machine.os)
    if errors:
        raise errors[0] if len(errors) == 1 else BadRequest(tuple(errors))
    sources = Sources(mirror, chosen, request.torch_mirror == PYTORCH_HOST, tables.mirrors.carriers, tables.mirrors.route.order,
                      request.persist)
    target = Target(machine.os, machine.arch, platform, request.python or machine.python, bool(request.cuda or request.cpu))
    return Problem(machine, request, target, sources, releases)


def _mirror(tables: Tables, name: str | None) -> Mirror | None:
    """The mirror of the default index asked for, by any name people use or by URL."""
    if not name:
        return None
    mirror = tables.mirrors.get(name)
    if mirror is None:
        raise UnknownMirror(name, tables.mirrors.unknown(name))
    return mirror


def _env_name(name: str, os: str) -> None:
    """An environment's name the commands can carry as it is, in the target's shell."""
    shell.not_an_option(name, "--env")
    try:
        shell.line([name], shell.shell_for(os))
    except shell.Unquotable as exc:
        raise shell.Unquotable(f"--env {exc}") from None


def _carrier(tables: Tables, name: str | None) -> Mirror | None:
    """The copy of PyTorch's wheel index asked for by name (None: chosen per build, or PyTorch's own)."""
    if not name or name == PYTORCH_HOST:
        return None
    chosen = tables.mirrors.get(name)
    if chosen is None or not chosen.copies_wheels:
        choices = (*(c.name for c in tables.mirrors.carriers), PYTORCH_HOST)
        raise NotACarrier(chosen.name if chosen else name, chosen is not None, choices)
    return chosen


def _candidates(tables: Tables, request: Request, machine: Machine) -> tuple[Release, ...]:
    """The releases asked for (all of them when none was named), newest first."""
    releases = tables.releases.matching(request.torch) if request.torch else list(tables.releases)
    if not releases:
        raise unknown_release(tables, request.torch)
    if machine.os == "macos" and machine.arch == "x86_64":
        releases = [r for r in releases if r.key <= vtuple(tables.releases.macos_x86_64_last)]
        if not releases:
            raise NoBuildFits(f"PyTorch's last macOS x86_64 wheels are for torch {tables.releases.macos_x86_64_last}")
    return tuple(releases)


def unknown_release(tables: Tables, torch: str) -> UnknownRelease:
    """A release the tables lack, with the known ones nearest in version order: the newest three
    for one past the newest (2.51, 9.9), else the two just below it and the one just above."""
    ordered = sorted(tables.releases, key=lambda r: r.key)
    span = (ordered[0].torch, ordered[-1].torch)
    asked = vtuple(torch)
    if asked > ordered[-1].key:
        return UnknownRelease(torch, tuple(r.torch for r in ordered[-3:]), True, span)
    below = [r.torch for r in ordered if r.key < asked]
    above = [r.torch for r in ordered if r.key > asked]
    near = below[-2:] + above[:3 - len(below[-2:])]
    return UnknownRelease(torch, tuple(near), False, span)
