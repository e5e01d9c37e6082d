"""Answers to `envcheck compat` questions: pure functions of the tables, returning plain data."""

from __future__ import annotations

from dataclasses import dataclass

from envcheck.compat import Gpu, Release, Tables, platform_key, wheel_runs_on
from envcheck.errors import UserError
from envcheck.install import official_pip_lines
from envcheck.versions import cuda_of_variant, cuda_str, driver_tuple, variant_of_cuda, vtuple


@dataclass(frozen=True)
class BuildRow:
    torch: str
    variant: str
    support: str  # full | minor-version compatibility | ...


@dataclass(frozen=True)
class DriverAnswer:
    driver: str
    os: str
    max_cuda: str | None  # newest CUDA with full support
    full: tuple[str, ...]  # CUDA versions with full support
    mvc: tuple[tuple[str, str], ...]  # (major.x, note) under minor-version compatibility
    newest_builds: tuple[BuildRow, ...]  # newest torch release for each CUDA variant that runs
    mvc_limits: str


def answer_driver(tables: Tables, driver: str, os: str = "linux") -> DriverAnswer:
    driver_tuple(driver)  # a malformed version is the user's error, said once
    support = {c: tables.drivers.support(c, os, driver) for c in tables.drivers.known_cuda()}
    full = [c for c, s in support.items() if s.level == "full"]
    mvc = []
    limits = ""
    for major, row in sorted(tables.drivers.minor_compat.items()):
        extra = [c for c, s in support.items() if c[0] == major and s.level == "minor-version"]
        if extra:
            need = support[extra[0]].mvc
            mvc.append((f"{major}.x", f"CUDA {cuda_str(extra[0])}–{cuda_str(extra[-1])} through minor-version compatibility (driver ≥ {need})"))
            limits = row.notes
    plat = platform_key(os, "x86_64")
    label = {"full": "full", "minor-version": "minor-version compatibility"}
    best: dict[str, BuildRow] = {}
    for release in tables.releases:  # newest first
        for variant in release.cuda_variants(plat):
            if variant in best:
                continue
            level = tables.drivers.support(cuda_of_variant(variant), os, driver).level
            if level in label:
                best[variant] = BuildRow(release.torch, variant, label[level])
    rows = sorted(best.values(), key=lambda b: cuda_of_variant(b.variant), reverse=True)
    return DriverAnswer(
        driver=driver,
        os=os,
        max_cuda=cuda_str(full[-1]) if full else None,
        full=tuple(cuda_str(c) for c in full),
        mvc=tuple(mvc),
        newest_builds=tuple(rows),
        mvc_limits=limits,
    )


@dataclass(frozen=True)
class VariantRow:
    variant: str
    platforms: tuple[str, ...]
    command: str  # the official pip command (Linux)
    archs: str  # "sm_50 … sm_90" or "unknown"
    min_driver: str  # Linux minimum, full support


@dataclass(frozen=True)
class TorchAnswer:
    release: Release
    variants: tuple[VariantRow, ...]
    conda: str


def _arch_span(tables: Tables, release: Release, variant: str) -> str:
    a = tables.archs.find(release, variant, "linux")
    if a is None:
        return "unknown"
    sms = " ".join("sm_" + s.replace(".", "") for s in a.sm)
    if a.ptx:
        sms += " +PTX " + " ".join("compute_" + p.replace(".", "") for p in a.ptx)
    return sms


def answer_torch(tables: Tables, version: str) -> TorchAnswer:
    found = tables.releases.matching(version)
    if not found:
        known = ", ".join(r.torch for r in tables.releases[:5])
        raise UserError(f"torch {version} is not in envcheck's tables (newest: {known}, …)")
    release = found[0]
    order = []
    for plat in ("linux", "windows", "linux_aarch64", "macos"):
        for v in release.variants.get(plat, ()):
            if v not in order:
                order.append(v)
    rows = []
    for v in order:
        plats = tuple(p for p in ("linux", "windows", "linux_aarch64", "macos") if v in release.variants.get(p, ()))
        plat = "linux" if "linux" in plats else plats[0]
        cuda = cuda_of_variant(v)
        rows.append(
            VariantRow(
                variant=v,
                platforms=plats,
                command=" && ".join(" ".join(line) for line in official_pip_lines(release, v, plat)),
                archs=_arch_span(tables, release, v) if cuda else "",
                min_driver=(tables.drivers.min_driver(cuda, "linux") or "") if cuda else "",
            )
        )
    conda = ""
    if release.conda:
        conda = f"{release.conda.package}: {', '.join(release.conda.cuda)}" + (", cpuonly" if release.conda.cpu else "")
    return TorchAnswer(release, tuple(rows), conda)


@dataclass(frozen=True)
class CudaAnswer:
    cuda: str
    variant: str
    min_driver_linux: str | None
    min_driver_windows: str | None
    mvc_driver_linux: str | None
    releases: tuple[str, ...]  # torch releases with this variant on Linux or Windows


def answer_cuda(tables: Tables, cuda: tuple[int, int]) -> CudaAnswer:
    if cuda not in tables.drivers.known_cuda():
        known = ", ".join(cuda_str(c) for c in tables.drivers.known_cuda() if c[0] >= 10)
        raise UserError(f"CUDA {cuda_str(cuda)} is not a CUDA release: known are {known}")
    v = variant_of_cuda(cuda)
    releases = tuple(r.torch for r in tables.releases if v in r.variants.get("linux", ()) or v in r.variants.get("windows", ()))
    return CudaAnswer(
        cuda=cuda_str(cuda),
        variant=v,
        min_driver_linux=tables.drivers.min_driver(cuda, "linux"),
        min_driver_windows=tables.drivers.min_driver(cuda, "windows"),
        mvc_driver_linux=tables.drivers.mvc_driver(cuda[0], "linux"),
        releases=releases,
    )


@dataclass(frozen=True)
class GpuAnswer:
    gpu: Gpu
    builds: tuple[BuildRow, ...]  # newest torch per CUDA variant whose wheels run this GPU
    dropped: tuple[BuildRow, ...]  # newest release per variant that ships but lacks this GPU


def answer_gpu(tables: Tables, name: str) -> GpuAnswer:
    gpu = tables.gpus.find(name)
    ok: dict[str, BuildRow] = {}
    bad: dict[str, BuildRow] = {}
    for release in tables.releases:
        for v in release.cuda_variants("linux"):
            a = tables.archs.find(release, v, "linux")
            if a is None or v in ok:
                continue
            if wheel_runs_on(a, gpu.cc):
                ok[v] = BuildRow(release.torch, v, "runs")
            elif v not in bad:
                bad[v] = BuildRow(release.torch, v, f"lacks sm_{gpu.cc.replace('.', '')}")
    bad = {k: b for k, b in bad.items() if k not in ok or vtuple(b.torch) > vtuple(ok[k].torch)}
    key = lambda b: cuda_of_variant(b.variant)  # noqa: E731
    return GpuAnswer(gpu, tuple(sorted(ok.values(), key=key, reverse=True)), tuple(sorted(bad.values(), key=key, reverse=True)))
