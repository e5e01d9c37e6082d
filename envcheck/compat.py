"""The compat/ tables, loaded lazily and answered from one place.

Every fact the tool knows about releases, drivers, GPUs and mirrors lives in the TOML files of
compat/ with its source; this module only reads and indexes them, so that a new torch release
is a data change, not a code change.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from functools import cached_property
from pathlib import Path
from typing import NamedTuple, Optional

from envcheck.errors import DataError, UserError
from envcheck.versions import (
    cc_tuple,
    cuda_of_variant,
    driver_tuple,
    is_free_threaded,
    pad3,
    release_of,
    vtuple,
)

PLATFORMS = ("linux", "linux_aarch64", "windows", "macos")


def data_dir() -> Path:
    """compat/ inside an installed wheel, else the repository's top-level compat/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "compat_data", here.parent / "compat"):
        if (candidate / "mirrors.toml").is_file():
            return candidate
    raise DataError(f"compat tables not found next to {here}")


def _cache_path(path: Path) -> Path | None:
    """A JSON copy of a parsed table, keyed by the TOML file's size and mtime.

    tomllib is pure Python and parsing torch.toml costs ~25 ms on every run, a fifth of the
    start-up budget of install-cmd; JSON loads in C. The cache is an optimisation only: any
    failure to read or write it falls back to the TOML file itself.
    """
    try:
        st = path.stat()
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "envcheck"
    except (OSError, RuntimeError, KeyError):  # no home directory to cache in
        return None
    where = zlib.crc32(str(path).encode())
    return base / f"{path.stem}-{where:08x}-{st.st_size}-{st.st_mtime_ns}.json"


# The list of rows each table has; a cached copy without it is not used.
_ROWS = {"torch.toml": "release", "cuda.toml": "toolkit", "wheel_archs.toml": "wheel_arch", "gpus.toml": "gpu",
         "mirrors.toml": "mirror", "error_signatures.toml": "signature"}


def _cached(cache: Path, name: str) -> dict | None:
    """The cached copy when it reads back as the table it stands for; a corrupt or foreign file
    (truncated, emptied, edited) is ignored, and rewritten from the TOML below."""
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    rows = data.get(_ROWS.get(name, "")) if isinstance(data, dict) else None
    if name in _ROWS and not (isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows)):
        return None
    return data


def _load(name: str, directory: Path | None = None) -> dict:
    path = (directory or data_dir()) / name
    cache = _cache_path(path)
    if cache is not None:
        data = _cached(cache, name)
        if data is not None:
            return data
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"{path}: {exc}") from exc
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, cache)
            for old in cache.parent.glob(f"{path.stem}-{cache.name.split('-')[1]}-*.json"):
                if old != cache:
                    old.unlink(missing_ok=True)
        except (OSError, TypeError, ValueError):  # TypeError: a TOML date JSON cannot hold
            pass
    return data


# Table rows are NamedTuples: immutable like frozen dataclasses, at a fifth of their import cost.
class PipForm(NamedTuple):
    """How the official pip command of a release addresses PyTorch's wheel index."""

    flag: str  # --index-url | --extra-index-url | -f
    url: str  # with {variant}
    local: bool  # pin torch/torchvision as X+cu121
    plain_default: bool  # the default-index build's command has no index at all


class CondaForm(NamedTuple):
    package: str  # cudatoolkit | pytorch-cuda
    cuda: tuple[str, ...]
    cpu: bool
    channels: tuple[str, ...]
    extra_channels: dict
    torchvision: Optional[str] = None  # when the conda line pins another version than pip's
    torchaudio: Optional[str] = None


class Release(NamedTuple):
    torch: str
    date: str
    torchvision: str | None
    torchaudio: str | None
    python: dict  # platform -> tuple of "3.x"
    variants: dict  # platform -> tuple of variant names
    default: dict  # platform -> variant served by the default index
    pip: PipForm
    pip_exceptions: dict  # variant -> the official lines, verbatim
    conda: CondaForm | None
    source: str
    free_threaded: dict = {}  # platform -> tuple of "3.13t": the free-threaded CPythons with wheels

    @property
    def key(self) -> tuple[int, ...]:
        return vtuple(self.torch)

    def pythons(self, platform: str, python: str = "") -> tuple[str, ...]:
        """The Pythons with wheels here of the same kind as `python`: free-threaded ('3.13t',
        wheels tagged cp313t) or with the GIL ('3.13'); their wheels are not interchangeable."""
        table = self.free_threaded if is_free_threaded(python) else self.python
        return tuple(table.get(platform, ()))

    def cuda_variants(self, platform: str) -> tuple[str, ...]:
        return tuple(v for v in self.variants.get(platform, ()) if cuda_of_variant(v))


class Toolkit(NamedTuple):
    version: tuple[int, ...]
    label: str
    linux: str
    windows: str
    source: str


class MinorCompat(NamedTuple):
    major: int
    linux: str
    windows: str
    notes: str
    source: str


class WheelArch(NamedTuple):
    variant: str
    torch: tuple  # ((operator, version tuple), ...) from a range such as ">=2.8,<2.11"
    os: str
    sm: tuple[str, ...]
    ptx: tuple[str, ...]
    status: str
    source: str


class Gpu(NamedTuple):
    id: str
    name: str
    aliases: tuple[str, ...]
    marketing: str
    arch: str
    cc: str
    sms: int
    mem_bw_gbs: float
    peaks: dict  # dtype -> dense TFLOPS
    mobile: bool
    status: str
    source: str
    memory_gib: tuple = ()  # marketed sizes (GB); a MIG device's memory share is taken against the one size


class DriverSupport(NamedTuple):
    """A driver against one CUDA release: `level` is full | minor-version | none | unknown."""

    level: str
    full: str | None  # the lowest driver with full support
    mvc: str | None  # the lowest driver that runs it through minor-version compatibility

    @property
    def runs(self) -> bool | None:
        return None if self.level == "unknown" else self.level != "none"

    @property
    def needs(self) -> str | None:
        """The lowest driver that runs it at all."""
        return self.mvc or self.full


class Mirror(NamedTuple):
    name: str
    aliases: tuple
    title: str
    pypi: str
    conda: str
    conda_channels: tuple[str, ...]
    wheels_form: str  # none | index | find-links
    wheels_url: str
    status: str
    source: str
    notes: str
    wheels_variants: tuple[str, ...] = ()  # the builds its copy holds, where known to be only some

    def wheel_url(self, variant: str) -> str:
        return self.wheels_url.format(variant=variant)

    def carries(self, variant: str) -> bool:
        """Does this mirror's copy of PyTorch's wheel index hold this build (cu126, cpu)?"""
        if self.wheels_form not in ("index", "find-links"):
            return False
        return not self.wheels_variants or variant in self.wheels_variants

    @property
    def host(self) -> str:
        return self.pypi.split("/")[2]


class TorchRoute(NamedTuple):
    """compat/mirrors.toml [torch_route]: carriers of PyTorch's wheels in order of preference."""

    order: tuple[str, ...]
    status: str
    source: str


def _release(row: dict) -> Release:
    python = {p: tuple(row.get(f"python_{p}", row["python"])) for p in PLATFORMS}
    free_threaded = {p: tuple(row.get(f"free_threaded_{p}", row.get("free_threaded", ()))) for p in PLATFORMS}
    pip = row["pip"]
    conda = row.get("conda")
    return Release(
        torch=row["torch"],
        date=row.get("date", ""),
        torchvision=row.get("torchvision") or None,
        torchaudio=row.get("torchaudio") or None,
        python=python,
        variants={p: tuple(row.get(p, ())) for p in PLATFORMS},
        default=dict(row.get("default", {})),
        pip=PipForm(pip["flag"], pip["url"], bool(pip.get("local")), bool(pip.get("plain_default"))),
        pip_exceptions={k: tuple([v] if isinstance(v, str) else v) for k, v in row.get("pip_exceptions", {}).items()},
        conda=None
        if not conda
        else CondaForm(
            package=conda["package"],
            cuda=tuple(conda.get("cuda", ())),
            cpu=bool(conda.get("cpu", True)),
            channels=tuple(conda.get("channels", ("pytorch",))),
            extra_channels=dict(row.get("conda_extra_channels", {})),
            torchvision=conda.get("torchvision"),
            torchaudio=conda.get("torchaudio"),
        ),
        source=row["source"],
        free_threaded={p: pys for p, pys in free_threaded.items() if row.get(p)},
    )


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


class Tables:
    """All compat tables; each file is read on first use only (install-cmd never reads gpus)."""

    def __init__(self, directory: Path | None = None, live: bool = False):
        self.directory = directory
        self.live = live  # join what `envcheck compat refresh` cached (envcheck/index_cache.py)

    def warm(self) -> "Tables":
        """Read the tables install-cmd needs now (e.g. while a probe waits on the driver)."""
        self.releases, self.toolkits, self.minor_compat, self.mirrors  # noqa: B018
        return self

    def raw(self, name: str) -> dict:
        return _load(name, self.directory)

    # -- torch releases ------------------------------------------------------------------
    @cached_property
    def _torch(self) -> dict:
        return self.raw("torch.toml")

    @cached_property
    def releases(self) -> tuple[Release, ...]:
        """Newest first."""
        rows = [_release(r) for r in self._torch["release"]]
        if self.live:
            from envcheck.index_cache import overlay

            rows = overlay(rows, self._torch.get("as_of", ""))
        return tuple(sorted(rows, key=lambda r: r.key, reverse=True))

    @property
    def macos_x86_64_last(self) -> str:
        return self._torch["macos_x86_64_last"]

    def release(self, version: str) -> Release | None:
        for r in self.releases:
            if r.torch == version:
                return r
        return None

    @cached_property
    def _companion_ranges(self) -> dict:
        """(package, release) -> the torch versions that release declares it works with."""
        return {(c["package"], c["version"]): parse_range(c["torch"]) for c in self._torch.get("companion", ())}

    def companion_fits(self, package: str, version: str, torch: str) -> bool:
        """Does this torchvision/torchaudio go with this torch? Yes when it was released with it, or
        when its own metadata declares this torch (torchvision 0.29.1 `Requires-Dist: torch>=2.14.0`)."""
        have, torch = release_of(version), release_of(torch)
        release = self.release(torch)
        if release is not None and getattr(release, package, None) == have:
            return True
        declared = self._companion_ranges.get((package, have))
        return declared is not None and in_range(vtuple(torch), declared)

    def releases_matching(self, text: str) -> list[Release]:
        """'2.2.1' -> that release; '2.2' -> every 2.2.x, newest first."""
        parts = text.split(".")
        if len(parts) == 3:
            r = self.release(text)
            return [r] if r else []
        return [r for r in self.releases if r.torch.split(".")[:2] == parts]

    # -- CUDA toolkits and drivers ---------------------------------------------------------
    @cached_property
    def _cuda(self) -> dict:
        return self.raw("cuda.toml")

    @cached_property
    def toolkits(self) -> tuple[Toolkit, ...]:
        rows = [
            Toolkit(_version_tuple(t["version"]), t["label"], t["linux"], t.get("windows", ""), t["source"])
            for t in self._cuda["toolkit"]
        ]
        return tuple(sorted(rows, key=lambda t: t.version))

    @cached_property
    def minor_compat(self) -> dict:
        return {
            m["major"]: MinorCompat(m["major"], m["linux"], m.get("windows", ""), m.get("notes", ""), m["source"])
            for m in self._cuda["minor_version_compat"]
        }

    def min_driver(self, cuda: tuple[int, int], os: str) -> str | None:
        """The lowest driver with full support for CUDA major.minor (its GA release's minimum).

        For CUDA 13.x NVIDIA prints no Windows driver ("N/A", written "none" in compat/cuda.toml):
        there is no full-compatibility minimum to give, so None; such a build then runs on Windows
        through CUDA minor-version compatibility only (mvc_driver), with its limits.
        """
        rows = [t for t in self.toolkits if t.version[:2] == cuda]
        found = [t.windows if os == "windows" else t.linux for t in rows]
        found = [f for f in found if f and f != "none"]
        return min(found, key=driver_tuple) if found else None

    def mvc_driver(self, major: int, os: str) -> str | None:
        """The lowest driver that runs any CUDA `major`.x under minor-version compatibility."""
        m = self.minor_compat.get(major)
        if not m:
            return None
        if os == "windows":
            return m.windows or m.linux.split(".")[0]
        return m.linux or None

    def driver_support(
        self, cuda: tuple[int, int], os: str, driver: str | None = None, driver_cuda: tuple[int, int] | None = None
    ) -> "DriverSupport":
        """Can this driver load the CUDA runtime of a cu<XY> build: fully, through CUDA minor-version
        compatibility, or not at all? The one answer that checks, install-cmd and compat share.

        `driver` is the version NVML or nvidia-smi prints; when only the newest CUDA the driver
        supports is known (`driver_cuda`, e.g. from torch's own warning), that decides instead.
        Source: NVIDIA's CUDA Compatibility guide, tables 2 and 3 (compat/cuda.toml).
        """
        full = self.min_driver(cuda, os)
        mvc = self.mvc_driver(cuda[0], os)
        if driver is not None:
            have = driver_tuple(driver)
            if full and driver_tuple(full) <= have:
                level = "full"
            elif mvc and driver_tuple(mvc) <= have:
                level = "minor-version"
            else:
                level = "none" if (full or mvc) else "unknown"
        elif driver_cuda is not None:
            if driver_cuda >= cuda:
                level = "full"
            elif driver_cuda[0] == cuda[0] and cuda[0] in self.minor_compat:
                level = "minor-version"
            else:
                level = "none"
        else:
            level = "unknown"
        return DriverSupport(level, full, mvc)

    def max_cuda_for_driver(self, driver: str, os: str) -> tuple[int, int] | None:
        """The newest CUDA major.minor whose toolkit this driver fully supports."""
        runs = [c for c in self.known_cuda() if self.driver_support(c, os, driver).level == "full"]
        return runs[-1] if runs else None

    def last_cuda_for(self, cc: str) -> tuple[str, str] | None:
        """(generation, last CUDA that targets it) for a compute capability NVIDIA has retired."""
        have = cc_tuple(cc)
        for row in self._cuda.get("arch_last_cuda", ()):
            if cc_tuple(row["cc_min"]) <= have <= cc_tuple(row["cc_max"]):
                return row["arch"], row["last_cuda"]
        return None

    def known_cuda(self) -> list[tuple[int, int]]:
        return sorted({t.version[:2] for t in self.toolkits})

    # -- GPU architectures in the wheels ---------------------------------------------------
    @cached_property
    def wheel_archs(self) -> tuple[WheelArch, ...]:
        return tuple(
            WheelArch(
                variant=w["variant"],
                torch=parse_range(w["torch"]),
                os=w.get("os", "any"),
                sm=tuple(w["sm"]),
                ptx=tuple(w.get("ptx", ())),
                status=w.get("status", ""),
                source=w["source"],
            )
            for w in self.raw("wheel_archs.toml")["wheel_arch"]
        )

    def archs(self, release: Release, variant: str, os: str, arch: str = "x86_64") -> WheelArch | None:
        """The GPU architectures of an official wheel. Linux aarch64 wheels are built for fewer GPUs
        than x86_64 ones (and for Thor, sm_110, which x86_64 wheels lack): their own rows, else None."""
        os_key = "windows" if os == "windows" else "linux_aarch64" if arch in ("aarch64", "arm64") else "linux"
        for w in self.wheel_archs:
            if w.variant == variant and w.os in (os_key, "any") and in_range(release.key, w.torch):
                return w
        return None

    # -- GPUs --------------------------------------------------------------------------------
    @cached_property
    def gpus(self) -> tuple[Gpu, ...]:
        out = []
        for g in self.raw("gpus.toml")["gpu"]:
            peaks = {k: float(g[k]) for k in ("fp32", "tf32", "fp16", "bf16", "fp8") if k in g}
            out.append(
                Gpu(
                    id=g["id"],
                    name=g["name"],
                    aliases=tuple(g.get("aliases", ())),
                    marketing=g.get("marketing", ""),
                    arch=g.get("arch", ""),
                    cc=g["cc"],
                    sms=int(g["sms"]),
                    mem_bw_gbs=float(g["mem_bw_gbs"]),
                    peaks=peaks,
                    mobile=bool(g.get("mobile", False)),
                    status=g["status"],
                    source=g["source"],
                    memory_gib=tuple(float(x) for x in g.get("memory_gib", ())),
                )
            )
        return tuple(out)

    def gpu(self, name: str) -> Gpu | None:
        """Exact NVML name (or alias) first, then a unique case-insensitive substring match."""
        for g in self.gpus:
            if name == g.name or name in g.aliases:
                return g
        needle = name.lower().replace("nvidia", "").replace("geforce", "").strip()
        hits = [g for g in self.gpus if any(needle == n.lower().replace("nvidia", "").replace("geforce", "").strip() for n in (g.name, *g.aliases))]
        if len(hits) == 1:
            return hits[0]
        hits = [g for g in self.gpus if needle and needle in g.name.lower()]
        return hits[0] if len(hits) == 1 else None

    def find_gpu(self, text: str) -> Gpu:
        """A GPU as a person writes it: an NVML name, "3090", "A100 80GB", "V100", or a compute
        capability ("8.6", "sm_86"). Several table rows of one architecture answer as one (the
        A100's variants); a name envcheck does not know is a UserError with the nearest names."""
        import difflib

        m = re.fullmatch(r"(?:sm_?)?([0-9]{1,2})\.?([0-9])", text.strip(), re.IGNORECASE)
        if m:
            cc = f"{m.group(1)}.{m.group(2)}"
            return Gpu(f"sm_{m.group(1)}{m.group(2)}", f"sm_{m.group(1)}{m.group(2)}", (), "", "", cc, 0, 0.0, {}, False, "a compute capability given", "")
        found = self.gpu(text)
        if found is not None:
            return found
        words = _gpu_words(text)
        hits = [g for g in self.gpus if words and _contains(_gpu_words(g.name), words)]
        ending = [g for g in hits if _gpu_words(g.name)[-len(words):] == words]
        hits = ending or hits
        if hits and len({g.cc for g in hits}) == 1:
            return min(hits, key=lambda g: len(g.name))
        if hits:
            names = ", ".join(sorted({g.name for g in hits})[:4])
            raise UserError(f"--gpu {text!r} names several GPUs of different architectures ({names}, …): write the name nvidia-smi prints")
        numbers = set(re.findall(r"[0-9]+", text))  # "4090D" -> the RTX 4090 rows, "H20e" -> the H20
        near = [g.name for g in self.gpus if numbers & {w for w in re.findall(r"[0-9]+", " ".join(_gpu_words(g.name)))}][:3]
        near = near or difflib.get_close_matches(text.strip(), [g.name for g in self.gpus], n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(repr(n) for n in near)}? (or give its compute capability)" if near else ""
        raise UserError(f"--gpu {text!r} is neither a GPU envcheck knows nor a compute capability (8.6, sm_86){hint}")

    # -- mirrors -----------------------------------------------------------------------------
    @cached_property
    def mirrors(self) -> tuple[Mirror, ...]:
        out = []
        for m in self.raw("mirrors.toml")["mirror"]:
            wheels = m.get("torch_wheels", {})
            out.append(
                Mirror(
                    name=m["name"],
                    aliases=tuple(m.get("aliases", ())),
                    title=m["title"],
                    pypi=m["pypi"],
                    conda=m.get("conda", ""),
                    conda_channels=tuple(m.get("conda_channels", ())),
                    wheels_form=wheels.get("form", "none"),
                    wheels_url=wheels.get("url", ""),
                    status=m["status"],
                    source=m["source"],
                    notes=m.get("notes", ""),
                    wheels_variants=tuple(wheels.get("variants", ())),
                )
            )
        return tuple(out)

    @cached_property
    def torch_route(self) -> TorchRoute:
        """The carriers of PyTorch's wheels a mirror without its own copy sends torch through."""
        row = self.raw("mirrors.toml").get("torch_route", {})
        return TorchRoute(tuple(row.get("order", ())), row.get("status", ""), row.get("source", ""))

    @property
    def carriers(self) -> tuple[Mirror, ...]:
        """The mirrors that copy PyTorch's wheel index, in the table's order of preference."""
        ranked = {name: i for i, name in enumerate(self.torch_route.order)}
        found = [m for m in self.mirrors if m.wheels_form in ("index", "find-links")]
        return tuple(sorted(found, key=lambda m: ranked.get(m.name, len(ranked))))

    def mirror(self, name: str) -> Mirror | None:
        """By name, by any name people use for it (tsinghua, 清华), or by its index URL."""
        key = name.strip().lower()
        for m in self.mirrors:
            if key == m.name or key in (a.lower() for a in m.aliases):
                return m
        return self.mirror_by_url(name.strip()) if "://" in name else None

    def mirror_names(self) -> list[str]:
        return [n for m in self.mirrors for n in (m.name, *m.aliases)]

    def unknown_mirror(self, name: str) -> str:
        """The message for a mirror envcheck does not know: the nearest names, then all of them."""
        import difflib

        near = difflib.get_close_matches(name.strip().lower(), self.mirror_names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        return f"{name!r} is not a mirror envcheck knows: {hint}choose one of {', '.join(m.name for m in self.mirrors)}, or none"

    # -- error signatures -------------------------------------------------------------------
    @cached_property
    def signatures(self) -> tuple[Signature, ...]:
        """In the table's order: a line takes the first row that matches it."""
        return tuple(
            Signature(r["id"], r["needle"], r["pattern"], r["code"], r.get("variant", r["id"]), r.get("fix") == "@stack",
                      r["source"])
            for r in self.raw("error_signatures.toml")["signature"]
        )

    def signature(self, id: str) -> Signature | None:
        return next((s for s in self.signatures if s.id == id), None)

    def mirror_by_url(self, url: str) -> Mirror | None:
        url = url.rstrip("/")
        for m in self.mirrors:
            if url == m.pypi.rstrip("/") or url.split("/")[2:3] == [m.host]:
                return m
        return None


class Signature(NamedTuple):
    """A known error message (compat/error_signatures.toml): how to recognise it and which finding
    it is; the finding's words are in the catalogue (envcheck/checks/codes/) under code and variant."""

    id: str
    needle: str
    pattern: str
    code: str
    variant: str  # the code's variant in the catalogue (the row's id unless the row names one)
    stack: bool  # fix = "@stack": the torch-stack plan, from the paste's own facts where it has them
    source: str


def _gpu_words(name: str) -> list[str]:
    """'NVIDIA GeForce RTX 3090' -> ['rtx', '3090']: the words that tell GPUs apart; a letter glued to
    a model number is a word of its own, as people write it both ways ("4090D", "3060Ti", "80GB")."""
    words = re.split(r"[\s_-]+", re.sub(r"([0-9])([a-z]+)\b", r"\1 \2", name.lower()))  # "4090D" is "4090 D"
    return [w for w in words if w and w not in ("nvidia", "geforce", "tesla")]


def _contains(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(words[i:i + n] == part for i in range(len(words) - n + 1))


_OPS = {">=": "__ge__", "<=": "__le__", "==": "__eq__", ">": "__gt__", "<": "__lt__"}


def parse_range(text: str) -> tuple:
    """'>=2.8,<2.11' -> (('>=', (2, 8, 0)), ('<', (2, 11, 0))).

    The tables need only comparisons of release numbers; packaging's SpecifierSet would cost its
    import on install-cmd's start-up path. tests/test_compat_tables.py checks both agree.
    """
    clauses = []
    for part in text.split(","):
        part = part.strip()
        op = next((o for o in (">=", "<=", "==", ">", "<") if part.startswith(o)), None)
        if op is None:
            raise DataError(f"unsupported version range {text!r}: use >=, <=, ==, >, < joined by commas")
        clauses.append((op, pad3(vtuple(part[len(op):].strip()))))
    return tuple(clauses)


def in_range(version: tuple, clauses: tuple) -> bool:
    v = pad3(version)
    return all(getattr(v, _OPS[op])(bound) for op, bound in clauses)


def wheel_runs_on(arch: WheelArch, cc: str) -> bool:
    """True when the wheel carries SASS the GPU can run, or PTX it can JIT-compile.

    SASS for sm_XY runs on sm_XZ with Z >= Y (same major); arch-specific SASS ('9.0a') runs only
    on that exact GPU; PTX for compute_XY is compiled by the driver for any newer GPU.
    Source: CUDA C Programming Guide, "Binary Compatibility" and "PTX Compatibility".
    """
    gpu = cc_tuple(cc)
    for sm in arch.sm:
        have = cc_tuple(sm)
        if sm.endswith("a"):
            if have == gpu:
                return True
        elif have[0] == gpu[0] and have[1] <= gpu[1]:
            return True
    return any(cc_tuple(p) <= gpu for p in arch.ptx)


_TABLES: Tables | None = None


def tables() -> Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = Tables(live=True)
    return _TABLES
