"""What the stack already installed changes in a pip or uv plan: pip keeps an installed build that
meets an unlabelled pin (PEP 440: `torch==2.14.1` is met by 2.14.1+cpu), and conda's copies must go
before pip installs over them."""

from __future__ import annotations

from typing import NamedTuple

from envcheck.compat import Mirror, Release
from envcheck.install.commands import CONDA_NAMES, Step, from_default_index, pip_verb
from envcheck.snapshot.facts import Installed

STACK = ("torch", "torchvision", "torchaudio")


class Replacing(NamedTuple):
    """Steps that go before the install, whether to pin local labels, and why."""

    steps: tuple[Step, ...] = ()
    pin_local: bool = False
    notes: tuple[str, ...] = ()


def _build_of(version: str, release: Release, plat: str) -> str:
    """The build an installed version is: its local label, or the default index's build."""
    local = version.partition("+")[2]
    return local or release.default.get(plat, "cpu")


def _kept_builds(installed: Installed, release: Release, variant: str, plat: str) -> list[str]:
    """Installed packages that pip and uv would keep though they are not the planned build: the
    same release with another local label meets an unlabelled pin (PEP 440)."""
    out = []
    for name in STACK:
        have, want = installed.version(name), getattr(release, name)
        if have and want and have.partition("+")[0] == want and _build_of(have, release, plat) != variant:
            out.append(name)
    return out


def replacing(release: Release, variant: str, plat: str, mirror: Mirror | None, manager: str, installed: Installed,
              interpreter: str | None = None) -> Replacing:
    """What the installed stack changes in a pip/uv plan for this environment (`interpreter`: its
    Python, when not the one on PATH)."""
    names = [n for n in STACK if installed.version(n)]
    if not names:
        return Replacing()
    if installed.installer == "conda":
        conda_names = tuple(CONDA_NAMES[n] for n in names)
        what = f"torch {installed.torch}" if installed.torch else "the torch stack"
        return Replacing(
            (Step("remove", ("conda", "remove", "-y", *conda_names), "torch came from conda: remove it before pip installs wheels over it"),),
            False,
            (f"{what} was installed by conda; mixing conda's and pip's copies breaks the environment, so conda removes it first",))
    stale = [n for n in names if getattr(release, n) is None]  # no release of it goes with this torch
    kept = _kept_builds(installed, release, variant, plat)
    if installed.broken and installed.torch and "torch" not in kept:
        kept = ["torch", *kept]  # the same build, but it does not import: pip would keep it as it is
    pin_local = bool(kept) and not from_default_index(release, variant, plat, mirror) and not installed.broken
    remove = stale + ([] if pin_local else kept)
    steps: list[Step] = []
    notes: list[str] = []
    if pin_local:
        have = ", ".join(f"{n} {installed.version(n)}" for n in kept)
        notes.append(f"{have} is installed, and pip counts it as meeting an unlabelled ==pin (PEP 440 local versions): "
                     f"the pins carry +{variant} so that the build is replaced")
    if remove:
        tool = pip_verb(("uv", "pip"), "uninstall", interpreter) if manager == "uv" else (*pip_verb(("pip",), "uninstall", interpreter), "-y")
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
    return Replacing(tuple(steps), pin_local, tuple(notes))
