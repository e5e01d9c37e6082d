"""What PyTorch's wheel indexes hold, as `envcheck compat refresh` last read it, and how that
knowledge joins the shipped tables.

The cache lives in envcheck's cache directory (envcheck/compat/paths.py) as index.json: release ×
platform × variant → Python versions, with the fetch date and the index it came from. It is read by every command and can only ADD to
the shipped table, and only when it was fetched on or after the table's `as_of` date:
- a build (variant) of a release the table knows, on a platform, that the listing has wheels for;
- a Python version of such a release on such a platform (free-threaded tags such as 3.13t are kept
  in the cache and shown by `compat refresh`; the tables do not model them).
It never removes a build (a mirror may hold part of the index; PyTorch moved old releases between
pages), never adds a release (its torchvision pairing, default build and install form are curated
facts) and never touches arch lists, drivers, mirrors or pip forms. A cache that is missing,
corrupt, of another schema or older than the table is ignored, silently; `compat refresh` rewrites it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

from envcheck.compat.paths import cache_dir
from envcheck.compat.platforms import PLATFORMS, platform_of
from envcheck.files import write_atomic

SCHEMA = 1


def cache_file() -> Path | None:
    """Where the index cache lives; None when this user has no cache directory."""
    base = cache_dir()
    return base / "index.json" if base is not None else None


class Knowledge(NamedTuple):
    """What a refresh found: builds[torch][platform][variant] = Python versions ("3.12", "3.13t")."""

    fetched: str  # ISO date (UTC) of the refresh
    source: str  # the index read: its variant URL template
    variants: tuple[str, ...]  # variants whose torch listing was read
    builds: dict

    def as_json(self) -> dict:
        return {"schema": SCHEMA, "fetched": self.fetched, "source": self.source, "variants": list(self.variants), "builds": self.builds}


def _valid(data) -> Knowledge | None:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    builds, fetched = data.get("builds"), data.get("fetched")
    if not isinstance(builds, dict) or not isinstance(fetched, str) or len(fetched) != 10:
        return None
    for plats in builds.values():
        if not isinstance(plats, dict) or not all(p in PLATFORMS and isinstance(v, dict) for p, v in plats.items()):
            return None
        for variants in plats.values():
            if not all(isinstance(pys, list) and all(isinstance(x, str) for x in pys) for pys in variants.values()):
                return None
    variants = data.get("variants")
    return Knowledge(fetched, str(data.get("source", "")), tuple(variants) if isinstance(variants, list) else (), builds)


def load(path: Path | None = None) -> Knowledge | None:
    """The cached knowledge, or None when there is none worth using (missing, corrupt, foreign)."""
    path = path or cache_file()
    if path is None:
        return None
    try:
        return _valid(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None


def save(knowledge: Knowledge, path: Path | None = None) -> str:
    """Write the cache atomically; '' or the one-line reason it could not be written."""
    path = path or cache_file()
    if path is None:
        return "no cache directory (no home directory): the listing was read but not kept"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(knowledge.as_json(), indent=1, sort_keys=True))
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return ""


# -- wheel tags -> platform and Python -------------------------------------------------------------


def python_of(interpreter: str, abi: str) -> str | None:
    """('cp312', 'cp312') -> '3.12'; ('cp313', 'cp313t') -> '3.13t'; None for py3 and others."""
    if not interpreter.startswith("cp") or not interpreter[2:].isdigit() or len(interpreter) < 4:
        return None
    version = f"{interpreter[2]}.{interpreter[3:]}"
    return version + "t" if abi.endswith("t") else version


def builds_of(listings_by_variant: dict) -> dict:
    """builds[torch][platform][variant] -> sorted Pythons, from torch listings keyed by the
    variant whose index they came from. A wheel's own local label names its build (a file
    without one, like the macOS wheels on the cpu index, is of the index's variant)."""
    found: dict = {}
    for variant, listing in listings_by_variant.items():
        for f in listing.files:
            if f.project != "torch":
                continue
            build = f.local or variant
            for tag in f.tags:
                interpreter, abi, plat = tag.split("-")
                platform, python = platform_of(plat), python_of(interpreter, abi)
                if platform and python:
                    found.setdefault(f.version, {}).setdefault(platform, {}).setdefault(build, set()).add(python)
    return {v: {p: {b: sorted(pys, key=_py_order) for b, pys in bs.items()} for p, bs in plats.items()} for v, plats in found.items()}


def _py_order(py: str) -> tuple:
    major, minor = py.rstrip("t").split(".")
    return int(major), int(minor), py.endswith("t")


def variant_order(variant: str) -> tuple:
    """The tables' order within a platform: CUDA ascending, cpu, then ROCm ascending."""
    nums = tuple(int(n) for n in re.findall(r"\d+", variant))
    if variant.startswith("cu"):
        return (0, nums)
    if variant == "cpu":
        return (1, ())
    return (2, nums)


# -- joining the shipped tables ----------------------------------------------------------------------


def additions(release, knowledge: Knowledge) -> tuple[dict, dict]:
    """(platform -> variants to add, platform -> Pythons to add) for one release of the tables."""
    add_v: dict = {}
    add_py: dict = {}
    for platform, variants in knowledge.builds.get(release.torch, {}).items():
        new = [v for v in variants if v not in release.variants.get(platform, ())]
        if new:
            add_v[platform] = sorted(new, key=variant_order)
        pys = {py for p in variants.values() for py in p if not py.endswith("t")}
        new_py = sorted(pys - set(release.python.get(platform, ())), key=_py_order)
        if new_py:
            add_py[platform] = new_py
    return add_v, add_py


def overlay(releases: list, as_of: str, knowledge: Knowledge | None = None) -> list:
    """The releases with what a refresh no older than the table (`as_of`) found added to them. A
    refresh on the table's own date counts: it only adds, so a tie cannot lose a shipped fact."""
    knowledge = knowledge if knowledge is not None else load()
    if knowledge is None or knowledge.fetched < str(as_of):
        return releases
    out = []
    for r in releases:
        add_v, add_py = additions(r, knowledge)
        if add_v or add_py:
            variants = dict(r.variants)
            python = dict(r.python)
            for p, vs in add_v.items():
                variants[p] = tuple(sorted((*variants.get(p, ()), *vs), key=variant_order))
            for p, pys in add_py.items():
                python[p] = tuple(sorted((*python.get(p, ()), *pys), key=_py_order))
            found = "; ".join([*(f"{p}: {', '.join(vs)}" for p, vs in add_v.items()),
                               *(f"{p}: Python {', '.join(pys)}" for p, pys in add_py.items())])
            r = r._replace(variants=variants, python=python,
                           source=f"{r.source} ; wheel index {knowledge.source} read {knowledge.fetched} (envcheck compat refresh) adds {found}")
        out.append(r)
    return out
