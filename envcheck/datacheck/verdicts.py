"""Judging the figures of `envcheck data`: the best DataLoader setting, what limits the pipeline
(disk, filesystem, decode, workers, shm), whether it keeps a GPU busy, and the environment's
warnings. Pure: data in, Verdicts out."""

from __future__ import annotations

import math

from envcheck.datacheck.results import Verdict
from envcheck.numbers import figure
from envcheck.snapshot.facts import known

PREFETCH = 2  # DataLoader's prefetch_factor default: batches each worker keeps ready
DOCKER_SHM = 64 * 1024 * 1024  # Docker's default /dev/shm (docker run --shm-size, "64m")
SHM_FIX = "start the container with `docker run --shm-size=8g ...` (or `--ipc=host`)"
NETWORK = ("nfs", "lustre", "cifs", "smb", "9p", "drvfs", "fuse")
FALLS_SHORT = 0.7  # a DataLoader under this share of what reads and decoding allow is held back by its workers


def best_row(rows) -> object | None:
    """The fastest setting that ran; of those within 5% of it, the one with fewest workers."""
    ran = [r for r in rows if r.samples_per_s]
    if not ran:
        return None
    top = max(r.samples_per_s for r in ran)
    return min((r for r in ran if r.samples_per_s >= 0.95 * top), key=lambda r: (r.workers, r.pin_memory))


def shm_need(workers: int, batch_size: int, sample_bytes: int) -> int:
    """Bytes of batches that `workers` workers keep in /dev/shm at once: each holds PREFETCH
    batches ready (torch.utils.data.DataLoader, prefetch_factor)."""
    return workers * PREFETCH * batch_size * sample_bytes


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def _shm(env, sweep, decode) -> list:
    """/dev/shm against what the workers need: those the sweep ran, else as many as usable cores."""
    shm = env.shm_bytes
    if not known(shm):
        return []
    if shm <= DOCKER_SHM:
        return [Verdict("warn", "shm_docker_default",
                        f"/dev/shm is {_mb(shm)}, Docker's default: DataLoader workers (num_workers > 0) hand every batch over through it, and "
                        f"once it is full they die with \"Bus error\" (\"DataLoader worker ... is killed by signal\"); {SHM_FIX}")]
    workers = max((r.workers for r in sweep.rows), default=0) if sweep and sweep.rows else math.ceil(env.cores.usable)
    batch = sweep.batch_size if sweep else 32
    need = shm_need(workers, batch, decode.sample_bytes if decode else 0)
    if need > shm:
        return [Verdict("warn", "shm_small", f"/dev/shm holds {_mb(shm)}, but {workers} workers with batches of {batch} "
                        f"need about {_mb(need)}; workers may die with \"Bus error\": {SHM_FIX}")]
    return []


def _crashes(sweep) -> list:
    bad = [r for r in (sweep.rows if sweep else ()) if r.error]
    out = []
    for r in bad:
        hint = f"; /dev/shm is too small: {SHM_FIX}" if "bus error" in r.error.lower() or "shared memory" in r.error.lower() else ""
        out.append(Verdict("warn", "loader_failed", f"DataLoader with num_workers={r.workers}, pin_memory={r.pin_memory} failed: {r.error}{hint}"))
    return out


def environment(env, sweep) -> list:
    """Facts about the machine a user should know when sizing a DataLoader (info)."""
    out = []
    c = env.cores
    if c.quota is not None and c.visible and c.quota < c.visible:
        out.append(Verdict("info", "cpu_quota", f"this process may use {c.quota:g} cores (its cgroup's quota, e.g. docker --cpus), though "
                           f"os.cpu_count() says {c.visible}: size num_workers by {c.usable:g}, not by os.cpu_count()"))
    fs = env.filesystem
    if known(fs) and fs.note:
        out.append(Verdict("info", "filesystem", f"the dataset is on {fs.fstype} ({fs.source} at {fs.mount_point}): {fs.note}"))
    if env.start_method == "spawn":
        startups = [r.startup_s for r in (sweep.rows if sweep else ()) if r.workers and r.startup_s is not None]
        seen = f" (here up to {max(startups):.1f} s before the first batch)" if startups else ""
        out.append(Verdict("info", "spawn", "workers start by spawn on this system: each starts a new Python that imports torch and your script "
                           f"again{seen}, every epoch; pass persistent_workers=True to DataLoader, and keep the training code under "
                           "`if __name__ == \"__main__\":`"))
    return out


def _read_rate(reads) -> tuple:
    """(samples/s, MB/s, cache) of random reads, cold where measured: a dataset larger than memory reads cold every epoch."""
    rand = {f.cache: f for f in reads if f.pattern == "random" and f.samples}
    f = rand.get("cold") or rand.get("warm")
    return (f.samples_per_s, f.mb_per_s, f.cache) if f else (None, None, "")


def bottleneck(env, reads, decode, sweep, best) -> tuple:
    """(name, sentence): what limits the pipeline, or ("", "") when the figures cannot say."""
    if any("bus error" in r.error.lower() for r in (sweep.rows if sweep else ())):
        return "shm", f"/dev/shm: DataLoader workers were killed when it filled up; {SHM_FIX}"
    read, mbps, cache = _read_rate(reads)
    ceiling = decode.ceiling if decode else None
    if read is None or ceiling is None:
        return "", ""
    limit = min(read, ceiling)
    if best is not None and best.samples_per_s < FALLS_SHORT * limit:
        return "workers", (f"the DataLoader workers: at best {figure(best.samples_per_s)} samples/s, while reading allows {figure(read)} and "
                           f"decoding on {env.cores.usable:g} cores about {figure(ceiling)}; more workers, persistent_workers=True, or less "
                           "Python work per sample")
    if read < ceiling:
        fs = env.filesystem
        where = f"{fs.fstype} at {fs.mount_point}" if known(fs) else "the disk"
        name = "filesystem" if known(fs) and fs.fstype.split(".")[0].lower().startswith(NETWORK) else "disk"
        return name, (f"reading files from {where}: {figure(read)} samples/s ({figure(mbps)} MB/s, {cache}), below what decoding on "
                      f"{env.cores.usable:g} cores allows ({figure(ceiling)}); a faster disk, a local copy, or fewer larger files help")
    return "decode", (f"decoding: {figure(decode.per_core)} samples/s per core x {env.cores.usable:g} usable cores = about {figure(ceiling)}, "
                      f"below what reading allows ({figure(read)}); more cores, smaller images, or decoding on the GPU (NVIDIA DALI) help")


def gpu_verdict(gpu_rate: float, best, reads, decode) -> Verdict:
    """Whether the pipeline keeps a GPU that consumes `gpu_rate` samples/s busy, with the ratio."""
    if best is not None:
        rate, how = best.samples_per_s, f"DataLoader with num_workers={best.workers}, pin_memory={best.pin_memory}"
    else:
        read, _, _ = _read_rate(reads)
        rate = min(x for x in (read, decode.ceiling if decode else None) if x is not None) if (read or decode) else 0.0
        how = "estimated from reads and decoding, without a DataLoader"
    ratio = rate / gpu_rate
    if ratio >= 1:
        return Verdict("info", "gpu_fed", f"the pipeline can keep the GPU busy: {figure(rate)} samples/s ({how}) for the {figure(gpu_rate)} "
                       f"the GPU consumes, {ratio:.2f}x")
    return Verdict("warn", "gpu_starved", f"the GPU waits for data: the pipeline delivers {figure(rate)} samples/s ({how}) but the GPU "
                   f"consumes {figure(gpu_rate)}, {ratio:.2f}x, so the GPU is busy at most {ratio:.0%} of the time")


def judge(env, reads, decode, sweep, gpu_rate) -> tuple:
    """(best row, bottleneck name, its sentence, verdicts)."""
    best = best_row(sweep.rows) if sweep else None
    name, text = bottleneck(env, reads, decode, sweep, best)
    verdicts = _shm(env, sweep, decode) + _crashes(sweep) + environment(env, sweep)
    if gpu_rate is not None:
        verdicts.append(gpu_verdict(gpu_rate, best, reads, decode))
    return best, name, text, verdicts


__all__ = ["PREFETCH", "best_row", "bottleneck", "judge", "shm_need"]
