"""Choose the build: the newest release with a build that runs on the machine, the best such
build, and the Python it is for. The rejections come back as data beside the choice.

Pure: tables and a resolved Problem in, a Choice out (or NoBuildFits with the facts).
"""

from __future__ import annotations

from typing import NamedTuple

from envcheck.compat import PLATFORM_LABELS, Release, Tables
from envcheck.install.errors import NoBuildFits
from envcheck.install.judge import judge
from envcheck.install.request import Problem
from envcheck.versions import (
    cuda_of_variant,
    cuda_str,
    driver_tuple,
    py_key,
    variant_of_cuda,
    vtuple,
)


class Rejection(NamedTuple):
    torch: str
    variant: str
    reason: str
    kind: str = ""  # python | driver | no-driver | arch | not-nvidia
    needs: str = ""  # for kind == driver: the lowest driver that would run it


class Choice(NamedTuple):
    """Which build, for which Python, and in which environment; the notes that explain it."""

    release: Release
    variant: str
    python: str
    env: str | None  # the environment the commands make (None: they install into the current one)
    notes: tuple[str, ...]  # why this build, from judging it
    rejected: tuple[Rejection, ...]  # the builds turned down on the way, newest first
    preface: tuple[str, ...] = ()  # what changed from the request (CPU build, another Python): said first


class _Pass(NamedTuple):
    choice: Choice | None
    rejected: tuple[Rejection, ...]  # of the first walk, which the request was really about


def choose(tables: Tables, problem: Problem) -> Choice:
    """The newest release with a fitting build; failing that, the same in a new environment with a
    Python that has wheels; failing that, NoBuildFits naming the nearest valid choices."""
    request, target = problem.request, problem.target
    walk = _fit(tables, problem, target.python, request.env)
    if walk.choice is not None:
        return walk.choice
    if request.python is None and request.env is None:
        choice = _fit_in_new_env(tables, problem)
        if choice is not None:
            return choice
    if target.explicit or request.torch:
        message = _explain_empty(tables, problem)
    else:
        message = f"no torch build runs on {target.os} {target.arch} with Python {target.python}"
    raise NoBuildFits(message, walk.rejected, _python_that_fits(problem, walk.rejected))


def _fit(tables: Tables, problem: Problem, python: str, env: str | None, python_fixed: bool = False) -> _Pass:
    """The first fitting build, GPU builds first on a GPU machine, then the CPU build."""
    machine = problem.machine
    gpu_machine = machine.has_gpu and not problem.target.explicit
    first = _first_fit(tables, problem, python, env, python_fixed, gpu_machine)
    if first.choice is not None or not gpu_machine:
        return first
    cpu = _first_fit(tables, problem, python, env, python_fixed, False).choice
    if cpu is None:
        return first
    gpus = ", ".join(sorted({g.name for g in machine.gpus})) or "this GPU"
    with_driver = f" with driver {machine.driver}" if machine.driver else ""
    note = f"no CUDA build of any torch release runs on {gpus}{with_driver}: CPU build"
    return _Pass(cpu._replace(preface=(note, *cpu.preface)), first.rejected)


def _fit_in_new_env(tables: Tables, problem: Problem) -> Choice | None:
    """When this Python has no wheels for what was asked: the plan in a new environment with a
    Python that has them (the newest such Python)."""
    python, plat = problem.target.python, problem.target.platform
    pythons = sorted({py for r in problem.releases for py in r.python.get(plat, ())}, key=py_key, reverse=True)
    env = "torch" if problem.request.manager == "conda" else "torch-env"
    for py in pythons:
        if py == python:
            continue
        choice = _fit(tables, problem, py, env, python_fixed=True).choice
        if choice is not None:
            note = (f"Python {python} has no wheels for this build: these commands make a new environment "
                    f"with Python {py} (`--python {py}` plans for it directly)")
            return choice._replace(preface=(note, *choice.preface))
    return None


def _first_fit(tables: Tables, problem: Problem, python: str, env: str | None, python_fixed: bool, gpu_only: bool) -> _Pass:
    """Walk the releases newest first; the first with a build that passes wins, its best build chosen."""
    rejected: list[Rejection] = []
    target = problem.target
    for release in problem.releases:
        py = python if python_fixed else _python_for(release, problem, python)
        judged = []
        for variant in _wanted(release, problem, gpu_only):
            v = judge(tables, problem.machine, release, variant, target.platform, py, target.explicit)
            if v.ok:
                judged.append((v.rank, variant, v))
            else:
                rejected.append(Rejection(release.torch, variant, v.reason, v.kind, v.needs))
        if judged:
            judged.sort(key=lambda t: t[0], reverse=True)
            _, variant, verdict = judged[0]
            notes = (*verdict.notes, *_upgrade_hint(rejected, release))
            return _Pass(Choice(release, variant, py, env, notes, tuple(rejected)), tuple(rejected))
    return _Pass(None, tuple(rejected))


def _wanted(release: Release, problem: Problem, gpu_only: bool) -> list[str]:
    """The builds worth judging: NVIDIA and CPU ones; on a machine with working GPUs, CUDA only."""
    request = problem.request
    variants = [v for v in release.variants.get(problem.target.platform, ()) if v == "cpu" or cuda_of_variant(v)]
    if request.cpu:
        return [v for v in variants if v == "cpu"]
    if request.cuda:
        return [v for v in variants if v == variant_of_cuda(request.cuda)]
    if gpu_only:
        return [v for v in variants if v != "cpu"]
    return variants


def _python_for(release: Release, problem: Problem, python: str) -> str:
    """conda creates its environment, so it may pick the Python; pip and uv use the target's."""
    if problem.request.manager != "conda" or problem.request.python:
        return python
    pys = release.python.get(problem.target.platform, ())
    if problem.machine.python in pys or not pys:
        return problem.machine.python
    return max(pys, key=py_key)


def _upgrade_hint(rejected: list[Rejection], chosen: Release) -> list[str]:
    """If a newer release failed only on the driver, say which driver would unlock it."""
    newer = [r for r in rejected if vtuple(r.torch) > vtuple(chosen.torch)]
    if not newer:
        return []
    top = newer[0].torch
    driver_only = [r for r in newer if r.torch == top and r.kind == "driver"]
    if not driver_only:
        return []
    best = min(driver_only, key=lambda r: driver_tuple(r.needs) if r.needs[:1].isdigit() else (9999,))
    return [f"a driver ≥ {best.needs} would run torch {top} ({best.variant}); this driver tops out at {chosen.torch}"]


def _python_that_fits(problem: Problem, rejected: tuple[Rejection, ...]) -> str | None:
    """For a request that failed on the Python version alone: the newest Python that would work."""
    if not rejected or any(r.kind != "python" for r in rejected):
        return None
    python, plat = problem.target.python, problem.target.platform
    pythons = sorted({py for r in problem.releases for py in r.pythons(plat, python)}, key=py_key)
    if not pythons or python in pythons:
        return None
    return pythons[-1]


def _explain_empty(tables: Tables, problem: Problem) -> str:
    """The error for a request no release satisfies, naming the nearest valid choices."""
    request, plat, python, releases = problem.request, problem.target.platform, problem.target.python, problem.releases
    label = PLATFORM_LABELS[plat]
    if request.cuda:
        v = variant_of_cuda(request.cuda)
        with_v = [r.torch for r in tables.releases if v in r.variants.get(plat, ())]
        if request.torch and releases:
            r = releases[0]
            has = ", ".join(r.variants.get(plat, ())) or "nothing"
            where = f"; {v} builds exist for torch {with_v[-1]} … {with_v[0]}" if with_v else f"; no torch release has a {v} build for {label}"
            return f"torch {r.torch} has no {v} build for {label} (it has {has}){where}"
        if with_v:
            return f"no {v} build fits: {v} builds exist for torch {with_v[-1]} … {with_v[0]} on {label}"
        cudas = sorted({cuda_of_variant(x) for r in tables.releases for x in r.variants.get(plat, ()) if cuda_of_variant(x)})
        return f"no torch release has a {v} build for {label}; CUDA builds exist for {', '.join(cuda_str(c) for c in cudas)}"
    if request.torch:
        r = releases[0]
        pys = r.pythons(plat, python)
        if python not in pys:
            first = [x.torch for x in reversed(tables.releases) if python in x.pythons(plat, python)]
            also = f"; the oldest torch with Python {python} wheels is {first[0]}" if first else ""
            return f"torch {r.torch} has no wheels for Python {python} on {label} (it supports {', '.join(pys) or 'none'}){also}"
    return f"no torch build fits this request on {label}"
