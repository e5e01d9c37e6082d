"""The commands of a plan: pip / uv installs as records (pins and indexes), conda's line, mirror
set-up, new environments and the verification line, each an argv quoted for the target's shell.

PyTorch's official lines are reproduced token for token when no mirror is asked for.
"""

from __future__ import annotations

import shlex
from typing import NamedTuple

from envcheck import shell
from envcheck.compat import PYTORCH_HOST, Mirror, Release
from envcheck.install.request import Route
from envcheck.versions import cuda_of_variant, cuda_str


class Pin(NamedTuple):
    """One requirement: torch==2.4.1+cu121 is Pin("torch", "2.4.1", "cu121")."""

    project: str
    version: str = ""  # "" for a bare name (a verbatim official line may have one)
    local: str = ""  # the build label, "" for none

    @property
    def spec(self) -> str:
        if not self.version:
            return self.project
        return f"{self.project}=={self.version}" + (f"+{self.local}" if self.local else "")

    @classmethod
    def parse(cls, token: str) -> "Pin":
        name, _, version = token.partition("==")
        public, _, local = version.partition("+")
        return cls(name, public, local)


class Install(NamedTuple):
    """A pip (or `uv pip`) install: what it pins and where it looks. The argv is derived from these
    fields, so `--check-index` reads them instead of parsing the command back."""

    tool: tuple[str, ...]  # ("pip",) or ("uv", "pip")
    pins: tuple[Pin, ...]
    index_url: str | None = None  # None: the tool's configured index
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    interpreter: str | None = None  # the Python to install into, when not the one on PATH

    @property
    def argv(self) -> tuple[str, ...]:
        """pins, then -f, --index-url and --extra-index-url, in the order PyTorch's own lines use."""
        out = [*pip_verb(self.tool, "install", self.interpreter), *(p.spec for p in self.pins)]
        for url in self.find_links:
            out += ["-f", url]
        if self.index_url:
            out += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            out += ["--extra-index-url", url]
        return tuple(out)

    def source(self) -> tuple[str, str] | None:
        """The one place a single-source line takes its wheels from: (flag, url), or None."""
        for flag, urls in (("-f", self.find_links), ("--index-url", (self.index_url,) if self.index_url else ()),
                           ("--extra-index-url", self.extra_index_urls)):
            if urls:
                return flag, urls[0]
        return None


class Step(NamedTuple):
    purpose: str  # mirror | env | remove | install | verify
    argv: tuple[str, ...]
    comment: str = ""
    install: Install | None = None  # for a pip or uv install: the record its argv comes from


def install_step(install: Install) -> Step:
    return Step("install", install.argv, install=install)


def pip_verb(tool: tuple[str, ...], verb: str, interpreter: str | None = None) -> tuple[str, ...]:
    """`pip install`, or for another interpreter `X -m pip install` (a bare pip is whichever is first
    on PATH) and `uv pip install --python X`."""
    if interpreter is None:
        return (*tool, verb)
    if tool[0] == "uv":
        return (*tool, verb, "--python", interpreter)
    return (interpreter, "-m", *tool, verb)


def quote(argv, os: str) -> str:
    """argv as a command line for the shell of the target OS (envcheck.shell: POSIX sh, or cmd.exe on
    Windows); an Unquotable error for a value that shell cannot hold."""
    return shell.line(argv, shell.shell_for(os))


# -- PyTorch's own lines ------------------------------------------------------------------------


def pins(release: Release, variant: str, local: bool, all_local: bool = False) -> tuple[Pin, ...]:
    """torch==X, torchvision==Y, torchaudio==Z. `local` pins torch and torchvision as X+cu121, as
    the official lines of that era do; `all_local` pins torchaudio too, so that no installed
    build of the same release is taken as meeting the pin."""
    label = variant if local or all_local else ""
    out = [Pin("torch", release.torch, label)]
    if release.torchvision:
        out.append(Pin("torchvision", release.torchvision, label))
    if release.torchaudio:
        out.append(Pin("torchaudio", release.torchaudio, variant if all_local else ""))
    return tuple(out)


def _parsed(line: str) -> Install:
    """A verbatim official line (`pip install PINS -f URL`) as a record."""
    tokens = shlex.split(line)[2:]
    found: dict = {"-f": [], "--index-url": [], "--extra-index-url": []}
    requirements = []
    i = 0
    while i < len(tokens):
        if tokens[i] in found:
            found[tokens[i]].append(tokens[i + 1])
            i += 2
        else:
            requirements.append(Pin.parse(tokens[i]))
            i += 1
    index = found["--index-url"][0] if found["--index-url"] else None
    return Install(("pip",), tuple(requirements), index, tuple(found["--extra-index-url"]), tuple(found["-f"]))


def official_install(release: Release, variant: str, plat: str) -> Install:
    """The one official pip line of a build (the NVIDIA and CPU builds all have one), as a record."""
    if variant in release.pip_exceptions:
        return _parsed(release.pip_exceptions[variant][-1])
    plain = plat == "macos" or (release.pip.plain_default and variant == release.default.get(plat))
    if plain:
        return Install(("pip",), pins(release, variant, False))
    url = release.pip.url.format(variant=variant)
    form = {"-f": "find_links", "--extra-index-url": "extra_index_urls"}.get(release.pip.flag)
    where = {form: (url,)} if form else {"index_url": url}
    return Install(("pip",), pins(release, variant, release.pip.local), **where)


def official_pip(release: Release, variant: str, plat: str) -> list[str]:
    """The one official pip line of a build, as argv."""
    return list(official_install(release, variant, plat).argv)


def official_pip_lines(release: Release, variant: str, plat: str) -> list[list[str]]:
    """PyTorch's own command(s) for this build, token for token (previous-versions page)."""
    if variant in release.pip_exceptions:
        return [shlex.split(line) for line in release.pip_exceptions[variant]]
    return [official_pip(release, variant, plat)]


def from_default_index(release: Release, variant: str, plat: str, mirror: Mirror | None) -> bool:
    """The plan takes this build from the default index (or a mirror of it), where versions carry
    no local label: `torch==2.14.1` there cannot be pinned to one build."""
    if variant in release.pip_exceptions:
        return False
    if plat == "macos":
        return True
    if mirror is not None:
        return release.default.get(plat) == variant
    return release.pip.plain_default and release.default.get(plat) == variant


# -- pip and uv through mirrors -----------------------------------------------------------------


class Sourced(NamedTuple):
    install: Install
    where: str  # a sentence on where the wheels come from; "" for PyTorch's own line
    wheels_from: str  # Plan.wheels_from


def pip_install(
    release: Release, variant: str, plat: str, mirror: Mirror | None, tool: tuple[str, ...] = ("pip",), pin_local: bool = False,
    route: Route = Route(None), persist: bool = False,
) -> Sourced:
    """The install for pip (or `uv pip`) and where its wheels come from.

    The default index's own build comes from it (or its mirror); another build from the copy of
    PyTorch's wheel index that `route` names, used its own way (--index-url for a PEP 503 copy, -f
    and pinned local versions for a flat folder), or from PyTorch's own index; the mirror stays an
    index for the dependencies, since a mirror of the default index never carries `+cu121` builds.
    The mirror is named on the command itself (uv reads no pip config), unless `persist`: then
    `pip config set` has made it pip's index already. `pin_local` pins every package with the
    build's local label (X+cu126): the official line otherwise, which an installed X+cpu would satisfy.
    uv searches extra indexes first and stops at the first that has a package, so for uv the torch
    wheels' index is the extra one and the mirror the main one.
    """
    uv = tool[0] == "uv"
    official = official_install(release, variant, plat)._replace(tool=tool)
    default_build = from_default_index(release, variant, plat, mirror)
    if pin_local and not default_build and variant not in release.pip_exceptions:
        official = official._replace(pins=pins(release, variant, True, all_local=True))
    default = mirror.pypi if mirror and (uv or not persist) else None
    if default_build:
        if mirror is None:
            return Sourced(official, "", "default-index")
        return Sourced(Install(tool, pins(release, variant, False), default),
                       f"{mirror.name} mirrors the default index, which serves the {variant} build of torch {release.torch} here",
                       "default-index")
    carrier = route.carrier
    because = f" ({route.why})" if route.why else ""
    rest = f"; other packages from {mirror.name}" if mirror else ""
    if carrier is None:
        where = f"the {variant} wheels come from PyTorch's own index{because}{rest}" if route.why else ""
        if mirror is None:
            return Sourced(official, where, PYTORCH_HOST)
        flag, url = official.source()
        if flag == "-f":
            install = Install(tool, official.pins, default, find_links=(url,))
        elif uv or flag == "--extra-index-url":
            install = Install(tool, official.pins, mirror.pypi if uv else default, (url,))
        else:
            install = Install(tool, official.pins, url, (mirror.pypi,))
        return Sourced(install, where, PYTORCH_HOST)
    url = carrier.wheel_url(variant)
    if carrier.wheels_form == "find-links":
        install = Install(tool, pins(release, variant, True, all_local=pin_local), default, find_links=(url,))
        return Sourced(install, f"the {variant} wheels come from {carrier.name}'s flat wheel folder, -f with the +{variant} builds "
                                f"pinned{because}{rest}", carrier.name)
    chosen = pins(release, variant, release.pip.local, all_local=pin_local)
    if mirror is None:
        primary = official.source() is not None and official.source()[0] == "--index-url"
        install = Install(tool, chosen, url) if primary else Install(tool, chosen, extra_index_urls=(url,))
    elif uv:
        install = Install(tool, chosen, mirror.pypi, (url,))
    else:
        install = Install(tool, chosen, url, (mirror.pypi,))
    return Sourced(install, f"the {variant} wheels come from {carrier.name}'s copy of PyTorch's index{because}{rest}", carrier.name)


# -- conda, mirrors, environments, verification -------------------------------------------------


# The names conda gives the stack (the pytorch channel calls torch "pytorch").
CONDA_NAMES = {"torch": "pytorch", "torchvision": "torchvision", "torchaudio": "torchaudio"}


def conda_install(release: Release, variant: str, os: str = "linux") -> list[str] | None:
    """The pytorch-channel command, or None when the channel does not have this build."""
    c = release.conda
    if c is None:
        return None
    wanted = [f"pytorch=={release.torch}"]
    if c.torchvision or release.torchvision:
        wanted.append(f"torchvision=={c.torchvision or release.torchvision}")
    if c.torchaudio or release.torchaudio:
        wanted.append(f"torchaudio=={c.torchaudio or release.torchaudio}")
    if os == "macos":  # the macOS packages are CPU/MPS builds with no cpuonly marker
        return ["conda", "install", *wanted, "-c", "pytorch"] if variant == "cpu" else None
    if variant == "cpu":
        return ["conda", "install", *wanted, "cpuonly", "-c", "pytorch"] if c.cpu else None
    cuda = cuda_of_variant(variant)
    if cuda is None or cuda_str(cuda) not in c.cuda:
        return None
    ver = cuda_str(cuda)
    channels = []
    for ch in (*c.channels, *c.extra_channels.get(ver, ())):
        channels += ["-c", ch]
    return ["conda", "install", *wanted, f"{c.package}={ver}", *channels]


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


def env_steps(manager: str, name: str | None, python: str, os: str, interpreter: str) -> list[Step]:
    """The commands that make and enter a new environment (conda always makes one). `interpreter`
    is the Python envcheck looked at: another version needs its own interpreter named."""
    if manager == "conda":
        name = name or "torch"
        return [
            Step("env", ("conda", "create", "-n", name, f"python={python}", "-y"), f"a fresh environment with Python {python}"),
            Step("env", ("conda", "activate", name)),
        ]
    if not name:
        return []
    activate = (f"{name}\\Scripts\\activate",) if os == "windows" else ("source", f"{name}/bin/activate")
    if manager == "uv":
        create = ("uv", "venv", name, "--python", python)
    elif python != interpreter:
        create = ("py", f"-{python}", "-m", "venv", name) if os == "windows" else (f"python{python}", "-m", "venv", name)
    else:
        create = ("python" if os == "windows" else "python3", "-m", "venv", name)
    return [Step("env", create, f"a fresh virtual environment ({python})"), Step("env", activate)]


def verify_argv(variant: str, os: str, interpreter: str | None = None) -> tuple[str, ...]:
    """One line that proves the right build landed: a silent fall-back to another build is the classic failure."""
    cuda = cuda_of_variant(variant)
    show = "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.cuda.device_count())"
    if cuda:
        check = f'; assert torch.version.cuda == "{cuda_str(cuda)}", "not the CUDA {cuda_str(cuda)} build"'
    elif variant == "cpu":
        check = '; assert torch.version.cuda is None, "not the CPU build"'
    else:
        check = ""
    return (interpreter or "python", "-c", show + check)
