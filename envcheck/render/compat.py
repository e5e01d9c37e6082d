"""`envcheck compat` answers as text tables or plain data."""

from __future__ import annotations

from envcheck.compat import PLATFORM_LABELS
from envcheck.compat_query import CudaAnswer, DriverAnswer, GpuAnswer, TorchAnswer
from envcheck.render.console import Output
from envcheck.render.output import View
from envcheck.snapshot.facts import jsonable


def as_dict(answer) -> dict:
    d = jsonable(answer)
    return d


def driver(a: DriverAnswer, c: Output) -> None:
    c.print(f"NVIDIA driver {a.driver} ({a.os})", style="bold", markup=False)
    if a.full:
        c.wrap(f"full support: CUDA {a.full[0]} … {a.full[-1]} (newest: CUDA {a.max_cuda})", "  ")
    else:
        c.wrap("full support: no CUDA release envcheck knows", "  ")
    for _, note in a.mvc:
        c.wrap(f"also: {note}", "  ")
    if a.mvc:
        c.wrap("limits of minor-version compatibility: no JIT of newer PTX (torch.compile/Triton may fail); "
               "features that need a newer driver fail with cudaErrorCallRequiresNewerDriver", "  ", style="dim")
    if a.newest_builds:
        c.wrap("newest torch per CUDA build this driver runs:", "  ")
        width = max(len(b.variant) for b in a.newest_builds)
        for b in a.newest_builds:
            c.print(f"    {b.variant:<{width}}  torch {b.torch:<7}  {b.support}", markup=False)
    else:
        c.wrap("no torch CUDA build runs on this driver: use the CPU build or upgrade the driver", "  ")


def torch(a: TorchAnswer, c: Output) -> None:
    r = a.release
    c.print(f"torch {r.torch}" + (f" (released {r.date})" if r.date else ""), style="bold", markup=False)
    c.wrap(f"torchvision {r.torchvision or '—'}   torchaudio {r.torchaudio or '— (none released with it)'}", "  ")
    for plat, pys in r.python.items():
        if r.variants.get(plat):
            pys = (*pys, *r.free_threaded.get(plat, ()))  # free-threaded builds last: 3.13t
            c.wrap(f"Python on {PLATFORM_LABELS[plat]}: {', '.join(pys)}; default index serves: {r.default.get(plat, '—')}", "  ")
    c.wrap(f"conda (pytorch channel): {a.conda or 'not published there'}", "  ")
    c.wrap("builds:", "  ")
    for v in a.variants:
        where = ", ".join(PLATFORM_LABELS[p] for p in v.platforms)
        facts = [where]
        if v.archs:
            facts.append(v.archs)
        if v.min_driver:
            facts.append(f"Linux driver ≥ {v.min_driver}")
        c.print(f"    {v.variant}: " + "; ".join(facts), style="bold", markup=False)
        c.print(f"      {v.command}", markup=False)
    c.wrap(f"source: {r.source}", "  ", style="dim")


def cuda(a: CudaAnswer, c: Output) -> None:
    c.print(f"CUDA {a.cuda} ({a.variant})", style="bold", markup=False)
    c.wrap(f"minimum driver: Linux {a.min_driver_linux or '—'}, Windows {a.min_driver_windows or '—'}", "  ")
    if a.mvc_driver_linux:
        c.wrap(f"runs on Linux driver ≥ {a.mvc_driver_linux} through minor-version compatibility (with its limits)", "  ")
    if a.releases:
        c.wrap(f"torch releases with a {a.variant} build: {', '.join(a.releases)}", "  ")
    else:
        c.wrap(f"no torch release has a {a.variant} build", "  ")


# How sure the datasheet figures are, in a few words; the research notes behind it stay in compat/gpus.toml.
_SURE = {"partial": " (not all from a datasheet)", "unconfirmed": " (unconfirmed figures)"}


def gpu(a: GpuAnswer, c: Output) -> None:
    g = a.gpu
    if not g.sms:  # a compute capability given, not a GPU of the table: no datasheet to show
        c.print(f"compute capability {g.cc} ({g.name})", style="bold", markup=False)
    else:
        c.print(f"{g.name} — {g.arch}, compute capability {g.cc} (sm_{g.cc.replace('.', '')}), {g.sms} SMs", style="bold", markup=False)
        peaks = ", ".join(f"{k} {v:g}" for k, v in g.peaks.items())
        c.wrap(f"dense peak TFLOPS: {peaks}; memory {g.mem_bw_gbs:g} GB/s{_SURE.get(g.status.split(':')[0].strip(), '')}", "  ")
    if a.builds:
        c.wrap("newest torch per CUDA variant with kernels for it: " + ", ".join(f"{b.variant} → {b.torch}" for b in a.builds), "  ")
    if a.dropped:
        c.wrap("builds without kernels for it: " + ", ".join(f"{b.variant} (torch {b.torch})" for b in a.dropped), "  ")


def view(answer) -> View:
    """The answer to one question (driver, torch, cuda or gpu); its markdown is its text."""
    show = {DriverAnswer: driver, TorchAnswer: torch, CudaAnswer: cuda, GpuAnswer: gpu}[type(answer)]
    return View(lambda c: show(answer, c), lambda: as_dict(answer))
