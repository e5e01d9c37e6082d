"""Services that ask the wheel indexes themselves: `compat refresh` (what exists, cached) and
`install-cmd --check-index` (does each exact file of a plan exist where the plan sends pip?).

Both read listings through envcheck/probes/wheel_index.py and return result objects; nothing here
prints. Which copy of PyTorch's index to read is envcheck/compat/sources.py's answer.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import urlsplit

from envcheck.compat import PLATFORMS, Tables
from envcheck.compat.index_cache import Knowledge, additions, builds_of, cache_file, python_of, save
from envcheck.compat.mirrors import listing_url
from envcheck.compat.platforms import platform_of
from envcheck.compat.sources import Source, mirror_source, pytorch_source
from envcheck.probes.wheel_index import BUDGET_S, OVER_BUDGET, Listing, read_listings

PROJECTS = ("torch", "torchvision", "torchaudio")


def all_variants(tables: Tables, since: tuple = ()) -> list[str]:
    """Every build the tables know, on any platform, of the releases from `since` on."""
    return sorted({v for r in tables.releases if r.key >= since for vs in r.variants.values() for v in vs})


# -- compat refresh ------------------------------------------------------------------------------


class Refresh(NamedTuple):
    source: Source
    knowledge: Knowledge
    errors: tuple[str, ...]  # one line per listing that could not be read
    offsite: tuple[str, ...]  # hosts the mirror's links or redirects lead to
    added: tuple[str, ...]  # what the cache adds to the shipped tables, one line each
    unknown_releases: tuple[str, ...]  # torch releases on the index the tables do not know
    cache_error: str  # "" when the cache was written
    cache_path: str
    companion_gaps: tuple[str, ...] = ()  # "torchvision 0.21.0 (with torch 2.6.0): no cu126 wheel for windows"
    refused: tuple[str, ...] = ()  # one line per listing whose links envcheck skipped
    not_read: tuple[str, ...] = ()  # variants left unread when the time budget ran out
    budget: float = BUDGET_S


def refused_links(listing: Listing) -> str:
    """'URL: skipped 2 link(s): a javascript: link, a host that does not parse', or ''."""
    if not listing.refused:
        return ""
    return f"{listing.url}: skipped {len(listing.refused)} link(s) no download can use: {', '.join(dict.fromkeys(listing.refused))}"


def refresh(tables: Tables, source: Source, variants: list[str], cache_path=None, budget: float = BUDGET_S,
            **fetch) -> Refresh:
    """Read the torch, torchvision and torchaudio listings of each variant within `budget` seconds,
    cache the torch builds that exist, and say what that adds to the shipped tables and which
    companion wheels are missing beside a torch build."""
    urls = {(v, p): source.listing_url(v, p) for v in variants for p in PROJECTS}
    got = read_listings(list(urls.values()), budget=budget, **fetch)
    listings = {key: got[url] for key, url in urls.items()}
    torch_ok = {v: listings[(v, "torch")] for v in variants if listings[(v, "torch")].ok}
    builds = builds_of(torch_ok)
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    knowledge = Knowledge(today, source.template, tuple(sorted(torch_ok)), builds)
    late = {key for key, lst in listings.items() if lst.error.endswith(OVER_BUDGET)}
    not_read = tuple(v for v in variants if any((v, p) in late for p in PROJECTS))
    errors = tuple(dict.fromkeys(lst.error for key, lst in listings.items() if lst.error and key not in late))
    offsite = tuple(sorted({h for lst in listings.values() for h in lst.offsite if h != source.host}))
    shipped = Tables(tables.directory)  # what the cache adds is measured against the tables alone
    added = []
    for r in shipped.releases:
        add_v, add_py = additions(r, knowledge)
        for p, vs in add_v.items():
            added.append(f"torch {r.torch} {p}: builds {', '.join(vs)}")
        for p, pys in add_py.items():
            added.append(f"torch {r.torch} {p}: Python {', '.join(pys)}")
    from envcheck.versions import vtuple

    known = {r.torch for r in shipped.releases}
    unknown = sorted((v for v in builds if v not in known and all(x.isdigit() for x in v.split("."))), key=vtuple)
    path = cache_path or cache_file()
    cache_error = save(knowledge, path) if torch_ok else "no listing could be read: the cache was left as it was"
    refused = tuple(line for line in map(refused_links, listings.values()) if line)
    return Refresh(source, knowledge, errors, offsite, tuple(added), tuple(unknown), cache_error, str(path or ""),
                   companion_gaps(shipped, knowledge, listings), refused, not_read, budget)


def companion_gaps(tables: Tables, knowledge: Knowledge, listings: dict) -> tuple[str, ...]:
    """torchvision / torchaudio releases paired with a torch build on the index that have no wheel
    of that build for that platform there: the pairing the tables claim, which pip cannot install."""
    have: dict = {}
    for (variant, project), lst in listings.items():
        if project == "torch" or not lst.ok:
            continue
        for f in lst.files:
            if f.project == project:
                for tag in f.tags:
                    plat = tag.split("-")[2]
                    where = set(PLATFORMS) if plat == "any" else {platform_of(plat)}
                    have.setdefault((project, f.version, f.local or variant), set()).update(where)
    gaps = []
    for r in tables.releases:
        for platform, variants in knowledge.builds.get(r.torch, {}).items():
            for variant in variants:
                for project in ("torchvision", "torchaudio"):
                    version = getattr(r, project)
                    if version and listings.get((variant, project), Listing("")).ok and platform not in have.get((project, version, variant), ()):
                        gaps.append(f"{project} {version} (with torch {r.torch}): no {variant} wheel for {platform}")
    return tuple(gaps)


# -- install-cmd --check-index ----------------------------------------------------------------------


class Wanted(NamedTuple):
    """One file a plan makes pip download."""

    project: str
    version: str  # public version
    local: str | None  # the build label the file must carry; None: unlabelled or the variant's
    variant: str
    where: str  # the listing URL asked
    source: str  # the index's name as a person says it
    default_index: bool  # from the default index (or a mirror of it): files carry no label


class Checked(NamedTuple):
    wanted: Wanted
    filename: str  # the file that fits; "" when none
    error: str  # the listing could not be read
    alternative: str  # where the missing file does exist (a source name and its URL)
    elsewhere_unread: bool = False  # missing, and not every other copy was read before the budget ran out

    @property
    def late(self) -> bool:
        """Its listing was not read: the time budget ran out first."""
        return self.error.endswith(OVER_BUDGET)


class IndexCheck(NamedTuple):
    files: tuple[Checked, ...]
    offsite: tuple[str, ...]  # "sjtu's links lead to download.pytorch.org"
    target: str  # "cp312 manylinux x86_64"
    unchecked: str = ""  # why the plan has nothing a wheel index could confirm
    refused: tuple[str, ...] = ()  # one line per listing whose links envcheck skipped
    budget: float = BUDGET_S  # seconds for every listing together (--budget)

    @property
    def missing(self) -> tuple[Checked, ...]:
        return tuple(c for c in self.files if not c.filename and not c.error)

    @property
    def unreadable(self) -> tuple[Checked, ...]:
        """Files whose listing failed (the network, the server); not those the budget left unread."""
        return tuple(c for c in self.files if c.error and not c.late)

    @property
    def not_checked(self) -> tuple[Checked, ...]:
        """Files whose listing was not read before the budget ran out."""
        return tuple(c for c in self.files if c.late)


def wanted_files(plan, tables: Tables, default_index: str | None) -> list[Wanted]:
    """The torch / torchvision / torchaudio files the plan's install downloads, and the listing
    that must hold each: the copy of PyTorch's index the install names, or (for the default build)
    the default index or its mirror. `default_index` is what pip uses without --index-url."""
    install = plan.install
    if install is None:
        return []
    pypi = tables.mirrors.get(plan.mirror).pypi if plan.mirror else None
    index = install.index_url or pypi or default_index
    wheel_urls = [u for u in (install.index_url, *install.extra_index_urls) if u and u != pypi]
    out = []
    for pin in install.pins:
        if pin.project.lower() not in PROJECTS or not pin.version:  # a bare name has no exact file
            continue
        if install.find_links:
            where, form, on_default = install.find_links[0], "find-links", False
        elif wheel_urls:
            where, form, on_default = wheel_urls[0], "index", False
        else:
            where, form, on_default = index, "index", True
        if where is None:
            where = "pip's default index (pip not importable, so its URL is unknown)"
        listing = listing_url(where, form, pin.project.lower())
        m = tables.mirrors.by_url(where)
        name = m.name if m else ("PyTorch's index" if urlsplit(where).netloc == pytorch_source(tables).host else urlsplit(where).netloc)
        out.append(Wanted(pin.project.lower(), pin.version, pin.local or None, plan.variant, listing, name, on_default))
    return out


def platform_fits(tag_platform: str, os: str, arch: str) -> bool:
    """Would pip on this OS and CPU take a wheel of this platform tag?"""
    if tag_platform == "any":
        return True
    if os == "linux":
        machine = "aarch64" if arch in ("aarch64", "arm64") else "x86_64"
        return tag_platform.startswith(("manylinux", "linux_")) and tag_platform.endswith(machine)
    if os == "windows":
        return tag_platform == "win_amd64"
    if os == "macos":
        machine = "x86_64" if arch == "x86_64" else "arm64"
        return tag_platform.startswith("macosx_") and (tag_platform.endswith(machine) or tag_platform.endswith("universal2"))
    return False


def file_fits(f, python: str, os: str, arch: str) -> bool:
    """Would pip take this wheel for this Python (3.12, or 3.13t free-threaded) and platform?"""
    if f.requires_python:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            if not SpecifierSet(f.requires_python).contains(python.rstrip("t") + ".0", prereleases=True):
                return False
        except InvalidSpecifier:
            pass
    for tag in f.tags:
        interpreter, abi, plat = tag.split("-")
        if not platform_fits(plat, os, arch):
            continue
        if interpreter.startswith("py3") and abi == "none":
            return True
        py = python_of(interpreter, abi)
        if py == python or (abi == "abi3" and py and not python.endswith("t") and _order(py) <= _order(python)):
            return True
    return False


def _order(py: str) -> tuple:
    major, minor = py.rstrip("t").split(".")
    return int(major), int(minor)


def _match(listing: Listing, w: Wanted, python: str, os: str, arch: str) -> str:
    for f in listing.files:
        if f.project != w.project or f.version != w.version:
            continue
        if w.default_index:
            label_ok = f.local == ""
        elif w.local is not None:
            label_ok = f.local == w.local
        else:
            label_ok = f.local in ("", w.variant)
        if label_ok and file_fits(f, python, os, arch):
            return f.filename
    return ""


def target_tags(python: str, os: str, arch: str) -> str:
    py = "cp" + python.rstrip("t").replace(".", "") + ("t" if python.endswith("t") else "")
    plat = {"linux": f"manylinux {'aarch64' if arch in ('aarch64', 'arm64') else 'x86_64'}", "windows": "win_amd64",
            "macos": f"macosx {'x86_64' if arch == 'x86_64' else 'arm64'}"}.get(os, os)
    return f"{py} {plat}"


def check_plan(plan, tables: Tables, default_index: str | None, budget: float = BUDGET_S, **fetch) -> IndexCheck:
    """Each exact file of the plan on the listing the plan sends pip to; for a missing one, the
    other copies of PyTorch's index (PyTorch's own, the mirrors) that have it. All of it within
    `budget` seconds, as `compat refresh --budget`: a file whose listing was not read by then is
    left unchecked (Checked.late), so a slow mirror costs the budget, not minutes per listing."""
    end = time.monotonic() + budget
    wanted = wanted_files(plan, tables, default_index)
    target = target_tags(plan.python, plan.os, plan.arch)
    if not wanted:
        conda = plan.install is None
        why = ("this plan installs through conda's channels, which were not checked" if conda
               else "the install line pins no exact versions, so there is no exact file to look for")
        return IndexCheck((), (), target, why, budget=budget)
    got = read_listings([w.where for w in wanted], budget=budget, **fetch)
    checked = []
    offsite = set()
    pytorch_host = pytorch_source(tables).host
    for w in wanted:
        listing = got[w.where]
        if listing.error:
            checked.append(Checked(w, "", listing.error, ""))
            continue
        # The default index itself may serve files from another host; a mirror's links must stay on it.
        for host in listing.offsite if (plan.mirror or not w.default_index) else ():
            if host != urlsplit(w.where).netloc:
                offsite.add(f"{w.source}'s {w.project} links lead to {host}: pip would download from there, not from {w.source}")
        name = _match(listing, w, plan.python, plan.os, plan.arch)
        where, unread = ("", False) if name else _elsewhere(w, tables, plan, pytorch_host, end, fetch)
        checked.append(Checked(w, name, "", where, unread))
    refused = tuple(dict.fromkeys(line for line in (refused_links(got[w.where]) for w in wanted) if line))
    return IndexCheck(tuple(checked), tuple(sorted(offsite)), target, "", refused, budget)


def _elsewhere(w: Wanted, tables: Tables, plan, pytorch_host: str, end: float, fetch: dict) -> tuple[str, bool]:
    """('nju has it (--mirror nju)' / 'PyTorch's index has it (--mirror none)', or '';
    whether a copy was left unread because the budget, which ends at `end`, ran out)."""
    if w.default_index:
        return "", False
    sources = [pytorch_source(tables), *(s for s in (mirror_source(m) for m in tables.mirrors) if s)]
    sources = [s for s in sources if s.listing_url(w.variant, w.project) != w.where]
    urls = {s: s.listing_url(w.variant, w.project) for s in sources}
    got = read_listings(list(urls.values()), budget=max(end - time.monotonic(), 0.0), **fetch)
    for s, url in urls.items():
        listing = got[url]
        if listing.ok and _match(listing, w, plan.python, plan.os, plan.arch):
            how = "--mirror none" if s.host == pytorch_host else f"--mirror {s.name}"
            return f"{s.name} has it ({how}: {s.template.format(variant=w.variant)})", False
    return "", any(lst.error.endswith(OVER_BUDGET) for lst in got.values())
