"""`envcheck pin`: a constraints file that keeps a working torch stack in place, and the commands
that make pip, uv and conda honour it.

A later `pip install -r requirements.txt` (or a plugin's installer) that asks for plain `torch`
may replace the CUDA build with a CPU one or another release; with the file as a constraint
(`pip install -c FILE`, `PIP_CONSTRAINT`) pip keeps the exact build. A `+cu126` build lives only
on PyTorch's index (or a mirror's copy of it), so pip must be told that index too, or it cannot
meet the constraint. Where each build comes from is the planner's own answer: the same route
install-cmd takes (request.Sources.route, commands.official_install).
Pure: what is installed is an input. Command line equivalent: `pip freeze | grep torch > FILE`.
"""

from __future__ import annotations

import ntpath
import posixpath
from typing import NamedTuple

from envcheck import shell
from envcheck.compat import Mirror, Tables
from envcheck.install.commands import CONDA_NAMES, official_install, pip_verb
from envcheck.install.request import Sources
from envcheck.snapshot.facts import Installed
from envcheck.versions import release_of, variant_of

DEFAULT_FILE = "envcheck-constraints.txt"


class Source(NamedTuple):
    """Where pip finds a pinned build: `flag` and `url` to add (None: the configured index has it)."""

    words: str
    flag: str | None = None  # --extra-index-url | -f
    url: str | None = None


class Pinned(NamedTuple):
    name: str
    version: str
    source: Source

    @property
    def line(self) -> str:
        return f"{self.name}=={self.version}"


class Usage(NamedTuple):
    """One way to use the file: a title, the lines to run (quoted for the shell), and a note."""

    title: str
    lines: tuple[str, ...]
    note: str = ""


class PinFile(NamedTuple):
    pins: tuple[Pinned, ...]
    text: str  # the file's content
    cuda: str | None = None  # torch.version.cuda of the pinned torch

    @property
    def torch_source(self) -> Source:
        return self.pins[0].source


def build_source(tables: Tables, version: str, cuda: str | None, plat: str, mirror: Mirror | None) -> Source:
    """Where pip finds this build of torch (or of a companion with the same label). A version
    without a local label is the default index's (or its mirror's) own; a `+cu126` one lives on
    PyTorch's index, or the mirror's copy of it that install-cmd would route the build through."""
    if "+" not in version:
        return Source(f"{mirror.name}'s mirror of the default index" if mirror else "the default index")
    variant = variant_of(version, cuda)
    release = tables.releases.get(release_of(version)) or next(iter(tables.releases))  # newer than the tables: the newest's URL scheme
    route = Sources(mirror, None, False, tables.mirrors.carriers, tables.mirrors.route.order).route(variant)
    if route.carrier is not None:
        flag = "-f" if route.carrier.wheels_form == "find-links" else "--extra-index-url"
        return Source(f"{route.carrier.name}'s copy of PyTorch's index", flag, route.carrier.wheel_url(variant))
    found = official_install(release, variant, plat).source()
    if found is None:  # PyTorch's own line for this build names no index: the default index has it
        return Source("the default index")
    return Source("PyTorch's own index", "-f" if found[0] == "-f" else "--extra-index-url", found[1])


def pin_file(tables: Tables, installed: Installed, cuda: str | None, plat: str, mirror: Mirror | None,
             onnxruntime_gpu: str | None, where: str) -> PinFile:
    """The constraints for the installed stack; `where` names the environment in the file's header."""
    pins = []
    for name in ("torch", "torchvision", "torchaudio"):
        version = installed.version(name)
        if version:
            pins.append(Pinned(name, version, build_source(tables, version, cuda, plat, mirror)))
    if onnxruntime_gpu:
        pins.append(Pinned("onnxruntime-gpu", onnxruntime_gpu, build_source(tables, onnxruntime_gpu, None, plat, mirror)))
    lines = [f"# Written by `envcheck pin`: the torch stack that works in {where}.",
             "# Use it as a constraint so that later installs keep these exact builds (run `envcheck pin` to see how)."]
    for p in pins:
        lines.append(f"# {p.name} {p.version}: from {p.source.words}" + (f", {p.source.url}" if p.source.url else ""))
        lines.append(p.line)
    return PinFile(tuple(pins), "\n".join(lines) + "\n", cuda)


def _index_args(source: Source, uv: bool) -> list[str]:
    if source.flag is None:
        return []
    flag = "--find-links" if uv and source.flag == "-f" else source.flag
    return [flag, source.url]


def usage(pinned: PinFile, file: str, absolute: str, os_name: str, mirror: Mirror | None, interpreter: str | None = None,
          conda_prefix: str | None = None, conda_torch: bool = False) -> tuple[Usage, ...]:
    """How to keep the stack with pip, uv and conda, each line quoted for the target OS's shell.
    `file` as the user named it (for commands run here), `absolute` for variables read anywhere;
    `conda_prefix`: the conda environment the interpreter is in; `conda_torch`: conda installed torch."""
    sh = shell.shell_for(os_name)
    src = pinned.torch_source
    env_var = {"--extra-index-url": "PIP_EXTRA_INDEX_URL", "-f": "PIP_FIND_LINKS"}.get(src.flag or "")
    found = "" if src.flag is None else f" ({src.flag} lets pip find the {pinned.pins[0].version} build)"
    out = [
        Usage("pip, for one install", (shell.line([*pip_verb(("pip",), "install", interpreter), "-c", file, "-r", "requirements.txt",
                                                   *_index_args(src, False)], sh),),
              f"in place of -r requirements.txt, any packages you install{found}"),
        Usage("pip, for every install in this window", tuple(
            [shell.env_line("PIP_CONSTRAINT", absolute, sh)] + ([shell.env_line(env_var, src.url, sh)] if env_var else [])),
            "pip reads these variables; put them in your shell's start-up file"
            + (", or use the conda command below," if conda_prefix else "") + " to keep them"),
    ]
    uv_index = ["--index-url", mirror.pypi] if mirror else []  # uv reads no pip configuration
    out.append(Usage("uv", (shell.line([*pip_verb(("uv", "pip"), "install", interpreter), "--constraint", file, "-r", "requirements.txt",
                                        *uv_index, *_index_args(src, True)], sh),
                            shell.env_line("UV_CONSTRAINT", absolute, sh)),
                     "uv looks in the extra index first for torch, so it finds the pinned build there"
                     if src.flag == "--extra-index-url" else ""))
    if conda_prefix is not None:
        out.append(_conda(pinned, absolute, env_var, src, conda_prefix, conda_torch, sh, os_name))
    return tuple(out)


def _conda(pinned: PinFile, absolute: str, env_var: str | None, src: Source, prefix: str, conda_torch: bool, sh: str,
           os_name: str) -> Usage:
    """conda reads no pip constraints: its own pins live in the environment's conda-meta/pinned file,
    named in the target OS's path style (the lines may be planned on another OS)."""
    pinned_file = (ntpath if os_name == "windows" else posixpath).join(prefix, "conda-meta", "pinned")
    if conda_torch:
        build = "*cpu*" if variant_of(pinned.pins[0].version, pinned.cuda) == "cpu" else "*cuda*"
        specs = tuple(f"{CONDA_NAMES[p.name]}=={p.version.partition('+')[0]}" + (f"={build}" if p.name == "torch" else "")
                      for p in pinned.pins if p.name in CONDA_NAMES)
        return Usage(f"conda: add these lines to {pinned_file}", specs,
                     "conda keeps what that file names in every install and update of this environment")
    argv = ["conda", "env", "config", "vars", "set", "-p", prefix, f"PIP_CONSTRAINT={absolute}"]
    if env_var:
        argv.append(f"{env_var}={src.url}")
    return Usage("conda: torch came from pip here, so pip is what must keep it", (shell.line(argv, sh),),
                 "conda sets these variables each time the environment is activated; pip then honours the file")
