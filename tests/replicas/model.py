"""Which files each replica holds, computed from compat/ (envcheck.compat.Tables), and where.

Local layout (under http://127.0.0.1:PORT), with the real URL each part stands for:

  /pytorch/whl/                            https://download.pytorch.org/whl/
    {variant}/                             PEP 503 root of one variant (cu126, cpu, rocm6.0 ...)
    {variant}/{project}/                   every file of that project for that variant, across
                                           all releases, platforms and Pythons in the tables
    {variant}/{file}                       the files themselves (filelock too)
    {project}/                             every variant's files at once (the real /whl/torch/)
    torch_stable.html                      flat page of all variants, hrefs "cu113/torch-...whl"
    {variant}/torch_stable.html            flat page of one variant, hrefs "torch-...whl"
  /pypi/simple/{project}/                  the default index (one build per release and
  /pypi/packages/{file}                    platform: release.default[platform], no local label)
  /mirror/{name}/pypi/simple/{project}/    mirror.pypi: a copy of the default index
  /mirror/{name}/pypi/packages/{file}
  /mirror/{name}/wheels/{variant}/         mirror.wheels_url, per its form:
                                           "index": a PEP 503 index, the same as
                                           /pytorch/whl/{variant}/ (filelock included)
                                           "find-links": one flat page of torch/torchvision/
                                           torchaudio files, no project pages, no dependencies

The PyTorch index holds filelock because the real one hosts torch's dependencies beside it
(so `--index-url https://download.pytorch.org/whl/cu126` alone installs torch).

Index-form mirrors hold filelock too. The evidence (shared/research/mirrors.md, section 3) is
that they copy the whole variant index, not just torch: NJU's sync script, tuna/tunasync-scripts
pip-index.py (adapted from ustclug's pytorch/sync.py), crawls every href of the variant root page
recursively, which reaches the dependency projects the real root lists; SJTUG's help page says
to replace download.pytorch.org/whl with its URL in the official command, which only works
when the dependencies are there. Aliyun's find-links folder holds wheels of the three projects
only (user reports; the research file records its form, not a listing).

Platform tags: linux `linux_x86_64` before 2.6, `manylinux_2_28_x86_64` from 2.6 (on the
default index before 2.6, `manylinux1_x86_64`, as the default index accepts no `linux_` tag);
linux_aarch64 `manylinux_2_28_aarch64`; windows `win_amd64`; macos `macosx_11_0_arm64` plus
`macosx_10_9_x86_64` up to Tables.releases.macos_x86_64_last. macOS files carry no local label.
"""

from __future__ import annotations

import html
import re
import threading
from typing import NamedTuple, Sequence
from urllib.parse import quote

from envcheck.compat import PLATFORMS, Release, Tables
from envcheck.versions import cuda_of_variant, vtuple

from .wheels import WheelSpec, companion_wheel, filelock_wheel, torch_wheel

PYTORCH_URL = "https://download.pytorch.org/whl/"
PROJECTS = ("torch", "torchvision", "torchaudio")
FILELOCK = filelock_wheel()


def normalize(project: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", project).lower()


def python_tag(python: str) -> str:
    """'3.11' -> 'cp311-cp311'; free-threaded '3.13t' -> 'cp313-cp313t' (PEP 703's ABI tag)."""
    major, minor = python.split(".")[:2]
    base = f"cp{major}{minor.rstrip('t')}"
    return f"{base}-{base}{'t' if minor.endswith('t') else ''}"


def platform_tags(release: Release, platform: str, macos_x86_64_last: str, *, default_index: bool = False) -> tuple[str, ...]:
    key = release.key
    if platform == "linux":
        if key >= (2, 6):
            return ("manylinux_2_28_x86_64",)
        return ("manylinux1_x86_64",) if default_index else ("linux_x86_64",)
    if platform == "linux_aarch64":
        return ("manylinux_2_28_aarch64",)
    if platform == "windows":
        return ("win_amd64",)
    if platform == "macos":
        x86 = ("macosx_10_9_x86_64",) if key <= vtuple(macos_x86_64_last) else ()
        return ("macosx_11_0_arm64", *x86)
    raise ValueError(f"unknown platform {platform!r}")


def requires_python(release: Release, platform: str) -> str | None:
    pythons = release.python.get(platform) or ()
    if not pythons:
        return None
    return ">=" + min(pythons, key=vtuple)


def cuda_string(variant: str) -> str | None:
    cuda = cuda_of_variant(variant)
    return f"{cuda[0]}.{cuda[1]}" if cuda else None


def hip_string(variant: str) -> str | None:
    return variant[4:] if variant.startswith("rocm") else None


class ReplicaModel:
    """The files of every replica, computed lazily from the tables and memoised."""

    def __init__(self, tables: Tables | None = None):
        self.tables = tables or Tables()
        self._lock = threading.Lock()
        self._variant: dict[str, dict[str, tuple[WheelSpec, ...]]] = {}
        self._default: dict[str, tuple[WheelSpec, ...]] | None = None

    @property
    def mirrors(self):
        return self.tables.mirrors

    def mirror(self, name: str):
        return next((m for m in self.tables.mirrors if m.name == name), None)

    @property
    def variants(self) -> tuple[str, ...]:
        """Every variant any release serves on any platform, sorted."""
        names = {v for r in self.tables.releases for p in PLATFORMS for v in r.variants.get(p, ())}
        return tuple(sorted(names))

    def _release_files(self, release: Release, platform: str, variant: str, *, default_index: bool) -> list[WheelSpec]:
        local = "" if default_index or platform == "macos" else f"+{variant}"
        rp = requires_python(release, platform)
        tags = platform_tags(release, platform, self.tables.releases.macos_x86_64_last, default_index=default_index)
        out = []
        for py in (*release.python.get(platform, ()), *release.free_threaded.get(platform, ())):
            for plat in tags:
                tag = f"{python_tag(py)}-{plat}"
                out.append(
                    torch_wheel(
                        release.torch + local, tag, cuda=cuda_string(variant), hip=hip_string(variant), requires_python=rp
                    )
                )
                for name in ("torchvision", "torchaudio"):
                    version = getattr(release, name)
                    if version:
                        out.append(companion_wheel(name, version + local, tag, torch=release.torch, requires_python=rp))
        return out

    def pytorch(self, variant: str) -> dict[str, tuple[WheelSpec, ...]]:
        """project -> files of PyTorch's index for `variant` (torch, torchvision, torchaudio only)."""
        with self._lock:
            hit = self._variant.get(variant)
        if hit is not None:
            return hit
        by: dict[str, list[WheelSpec]] = {}
        for release in self.tables.releases:
            for platform in PLATFORMS:
                if variant in release.variants.get(platform, ()):
                    for spec in self._release_files(release, platform, variant, default_index=False):
                        by.setdefault(spec.name, []).append(spec)
        result = {name: tuple(specs) for name, specs in by.items()}
        with self._lock:
            self._variant[variant] = result
        return result

    def pytorch_index(self, variant: str) -> dict[str, tuple[WheelSpec, ...]]:
        """The PEP 503 index of a variant: its files plus the dependency filelock."""
        files = self.pytorch(variant)
        return {**files, "filelock": (FILELOCK,)} if files else {}

    def default(self) -> dict[str, tuple[WheelSpec, ...]]:
        """project -> files of the default index: release.default[platform] as plain X.Y.Z."""
        with self._lock:
            if self._default is not None:
                return self._default
        by: dict[str, list[WheelSpec]] = {}
        for release in self.tables.releases:
            for platform in PLATFORMS:
                variant = release.default.get(platform)
                if variant and release.variants.get(platform):
                    for spec in self._release_files(release, platform, variant, default_index=True):
                        by.setdefault(spec.name, []).append(spec)
        by["filelock"] = [FILELOCK]
        result = {name: tuple(specs) for name, specs in by.items()}
        with self._lock:
            self._default = result
        return result


# -- HTML --------------------------------------------------------------------------------------


def _href(prefix: str, spec: WheelSpec) -> str:
    return prefix + quote(spec.filename)


def _link(href: str, text: str, requires: str | None = None) -> str:
    attr = f' data-requires-python="{html.escape(requires)}"' if requires else ""
    return f'<a href="{html.escape(href)}"{attr}>{html.escape(text)}</a><br/>'


def simple_root(projects: Sequence[str]) -> str:
    links = "\n".join(_link(f"{p}/", p) for p in sorted(projects))
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>Simple index</title></head><body>\n{links}\n</body></html>\n"
    )


def simple_project(project: str, files: Sequence[tuple[str, WheelSpec]]) -> str:
    """A PEP 503 project page; `files` are (href prefix, spec). No hashes: PEP 503 allows none."""
    links = "\n".join(_link(_href(prefix, s), s.filename, s.requires_python) for prefix, s in files)
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>Links for {html.escape(project)}</title></head><body>\n"
        f"<h1>Links for {html.escape(project)}</h1>\n{links}\n</body></html>\n"
    )


def flat_page(title: str, files: Sequence[tuple[str, WheelSpec]], *, autoindex: bool = False) -> str:
    """A find-links page: torch_stable.html, or a web server's listing of a folder."""
    links = "\n".join(_link(_href(prefix, s), prefix + s.filename) for prefix, s in files)
    up = '<a href="../">../</a>\n' if autoindex else ""
    return (
        f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{up}{links}\n</body></html>\n"
    )


# -- routing -----------------------------------------------------------------------------------


class Page(NamedTuple):
    body: str


class File(NamedTuple):
    spec: WheelSpec


class Redirect(NamedTuple):
    location: str


class Site:
    """Maps a request path (unquoted, no query) to a Page, a File, a Redirect or None (404).

    A folder asked for without its trailing slash redirects to it, as real index servers do.
    """

    def __init__(self, model: ReplicaModel):
        self.model = model
        self._pages: dict[str, Page | File | Redirect | None] = {}
        self._lock = threading.Lock()

    def route(self, path: str) -> Page | File | Redirect | None:
        with self._lock:
            if path in self._pages:
                return self._pages[path]
        found = self._route(path)
        with self._lock:
            self._pages[path] = found
        return found

    def _route(self, path: str):
        if not path.startswith("/") or "//" in path:
            return None
        segs = path.strip("/").split("/") if path.strip("/") else []
        if any(s in (".", "..") for s in segs):
            return None
        is_dir = path.endswith("/")
        found = self._resolve(segs)
        if found is None:
            return None
        kind, make = found
        if kind == "dir" and not is_dir:
            return Redirect(path + "/")
        if kind != "dir" and is_dir:
            return None
        return make()

    # Each resolver returns (kind, thunk) where kind is "dir" or "file"; thunk builds the answer.
    def _resolve(self, segs: list[str]):
        if segs[:2] == ["pytorch", "whl"]:
            return self._pytorch(segs[2:])
        if segs[:1] == ["pypi"]:
            return self._simple(segs[1:], "/pypi")
        if segs[:1] == ["mirror"] and len(segs) >= 3:
            m = self.model.mirror(segs[1])
            if m is None:
                return None
            if segs[2] == "pypi":
                return self._simple(segs[3:], f"/mirror/{m.name}/pypi")
            if segs[2] == "wheels" and m.copies_wheels and len(segs) >= 4:
                return self._mirror_wheels(m, segs[3], segs[4:])
        return None

    def _files(self, index: dict[str, tuple[WheelSpec, ...]], name: str):
        for specs in index.values():
            for s in specs:
                if s.filename == name:
                    return ("file", lambda s=s: File(s))
        return None

    def _pep503(self, index, rest: list[str], prefix: str):
        """A PEP 503 index at `prefix`/ whose files live in the same folder."""
        if not index:
            return None
        if not rest:
            return ("dir", lambda: Page(simple_root(list(index))))
        if len(rest) != 1:
            return None
        if rest[0].endswith(".whl"):
            return self._files(index, rest[0])
        specs = index.get(normalize(rest[0]))
        if not specs:
            return None
        return ("dir", lambda: Page(simple_project(normalize(rest[0]), [(prefix + "/", s) for s in specs])))

    def _pytorch(self, rest: list[str]):
        model = self.model
        if not rest:
            return ("dir", lambda: Page(simple_root([*PROJECTS, "filelock"])))
        head = rest[0]
        if rest == ["torch_stable.html"]:
            def page():
                files = [(f"{v}/", s) for v in model.variants for specs in model.pytorch(v).values() for s in specs]
                return Page(flat_page("torch_stable", files))
            return ("file", page)
        if head in model.variants:
            if rest[1:] == ["torch_stable.html"]:
                return ("file", lambda: Page(flat_page("torch_stable", [("", s) for specs in model.pytorch(head).values() for s in specs])))
            return self._pep503(model.pytorch_index(head), rest[1:], f"/pytorch/whl/{head}")
        if len(rest) == 1 and normalize(head) in (*PROJECTS, "filelock"):
            name = normalize(head)

            def project():
                files = [
                    (f"/pytorch/whl/{v}/", s)
                    for v in model.variants
                    for s in model.pytorch_index(v).get(name, ())
                    if name != "filelock" or v == "cpu"
                ]
                return Page(simple_project(name, files))
            return ("dir", project)
        return None

    def _simple(self, rest: list[str], prefix: str):
        index = self.model.default()
        if rest[:1] == ["simple"]:
            return self._pep503_split(index, rest[1:], prefix)
        if rest[:1] == ["packages"] and len(rest) == 2:
            return self._files(index, rest[1])
        return None

    def _pep503_split(self, index, rest: list[str], prefix: str):
        """A PEP 503 index at `prefix`/simple/ whose files live in `prefix`/packages/."""
        if not rest:
            return ("dir", lambda: Page(simple_root(list(index))))
        if len(rest) != 1:
            return None
        specs = index.get(normalize(rest[0]))
        if not specs:
            return None
        return ("dir", lambda: Page(simple_project(normalize(rest[0]), [(prefix + "/packages/", s) for s in specs])))

    def _mirror_wheels(self, mirror, variant: str, rest: list[str]):
        if variant not in self.model.variants:
            return None
        prefix = f"/mirror/{mirror.name}/wheels/{variant}"
        if mirror.wheels_form == "index":
            return self._pep503(self.model.pytorch_index(variant), rest, prefix)
        # find-links: one flat folder listing; no project pages (the real folder answers 404).
        files = self.model.pytorch(variant)
        if not rest:
            title = f"Index of {prefix}/"
            return ("dir", lambda: Page(flat_page(title, [("", s) for specs in files.values() for s in specs], autoindex=True)))
        if len(rest) == 1 and rest[0].endswith(".whl"):
            return self._files(files, rest[0])
        return None


# -- real URL -> local path ----------------------------------------------------------------------


class UrlRule(NamedTuple):
    pattern: re.Pattern  # matches a whole real URL; groups: rest, optionally variant
    local: str  # local path prefix, may hold {variant}
    literal: str  # the fixed real prefix, to try the most specific rule first


def url_rules(tables: Tables) -> list[UrlRule]:
    """Rules mapping each real index URL this project prints to its local replica path."""

    def rule(literal: str, middle: str, tail: str, local: str) -> UrlRule:
        tail = tail.rstrip("/")
        pattern = re.compile("^" + re.escape(literal) + middle + re.escape(tail) + r"(?P<rest>/.*)?$")
        return UrlRule(pattern, local, literal)

    rules = [rule(PYTORCH_URL.rstrip("/"), "", "", "/pytorch/whl")]
    for m in tables.mirrors:
        rules.append(rule(m.pypi.rstrip("/"), "", "", f"/mirror/{m.name}/pypi/simple"))
        if m.copies_wheels and "{variant}" in m.wheels_url:
            head, tail = m.wheels_url.split("{variant}", 1)
            rules.append(rule(head, r"(?P<variant>[^/?#]+)", tail, f"/mirror/{m.name}/wheels/{{variant}}"))
    return sorted(rules, key=lambda r: len(r.literal), reverse=True)


def map_url(url: str, rules: Sequence[UrlRule]) -> str | None:
    """The local path for a real URL, or None when no rule knows it. Trailing slash normalised."""
    for r in rules:
        m = r.pattern.match(url)
        if m:
            local = r.local.format(variant=m.groupdict().get("variant") or "")
            return local + (m.group("rest") or "/")
    return None
