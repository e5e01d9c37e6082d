"""Every install command envcheck prints, run for real: pip and uv against replicas of the indexes.

A scenario is a machine, a starting state of the environment, a mirror, an installer and where the
commands come from (install-cmd's plan, or doctor's fix). Its commands run as printed in an isolated
virtual environment (tests/replicas: stub wheels generated from compat/, served on 127.0.0.1, every
URL rewritten to its replica), and afterwards the environment must hold exactly the planned
versions and builds, the torch wheel must have come from where the plan says (with a China mirror:
the China copy of PyTorch's index the plan routes it through), nothing may have been fetched from
anywhere but the plan's two sources, pip's configuration must be as it was (unless --persist), and
the plan's verification line must pass.

The matrix is built from the tables below and from compat/: a new release, mirror or starting state
is a new row, not new code. It is planned before anything runs (plan_matrix: each scenario's commands
from the facts its seeded state will show, checked against the sandbox's when they run), and each
distinct (starting state, commands, installer) runs once: scenarios that print the same commands
from the same state are judged on that one run's outcome, and doctor's "no fix" scenarios, which
have nothing to run, are judged without a sandbox. conda lines are checked for form only
(tests/test_official_commands.py): no conda channel is reachable here.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import NamedTuple

import pytest

from envcheck.checks import run_all
from envcheck.checks.fixes import stack_plan
from envcheck.compat import Tables
from envcheck.install import (
    Machine,
    Plan,
    Request,
    TargetGpu,
    from_default_index,
    runs_here,
    solve,
)
from envcheck.snapshot.facts import Installed
from envcheck.snapshot.model import Torch
from envcheck.versions import cuda_of_variant, vtuple
from tests.pythons import RUNNER, TARGET, find_python
from tests.replicas import Replicas, Sandbox, find_uv
from tests.snapshots import gpu, pkgs, replace, snapshot

T = Tables()
PY = TARGET  # the Python of the sandboxes the plans are made for
PYTORCH = "https://download.pytorch.org/whl/{variant}"
STACK = ("torch", "torchvision", "torchaudio")


class Box(NamedTuple):
    """A machine as NVML would describe it."""

    driver: str | None
    gpu: tuple[str, str] | None  # (NVML name, compute capability)


MACHINES = {
    # cu126 through minor-version compatibility; Pascal rules out the newer CUDA lines.
    "gtx1080ti-driver535": Box("535.104.05", ("NVIDIA GeForce GTX 1080 Ti", "6.1")),
    # The newest CUDA line in full: the default index's own build of the newest release.
    "h100-newest-driver": Box(T.drivers.min_driver((13, 2), "linux"), ("NVIDIA H100 80GB HBM3", "9.0")),
    "no-driver": Box(None, None),
}
# What is in the environment before the commands run, relative to the planned release R and build V.
STATES = ("empty", "cpu-same-release", "older-release", "mismatched-torchvision")
# doctor also sees whether torch imports: the planned build itself, installed but broken, must be
# replaced too (pip calls torch==R+V met by a broken R+V).
DOCTOR_STATES = (*STATES, "broken-planned-build")
# The mirrors whose forms differ (none: PyTorch's index; a default-index mirror, whose torch wheels
# are routed through a China copy of PyTorch's index; a find-links folder; a PEP 503 copy of
# PyTorch's index) run every state; every other mirror of compat/mirrors.toml runs the state that
# breaks naive commands.
FORMS = {"none": None, "none-form": "tuna", "find-links": "aliyun", "index": "sjtu"}
# A China mirror of the default index with the torch wheels routed through each form of copy of
# PyTorch's index (--torch-mirror; None: compat/mirrors.toml's own choice, SJTU's PEP 503 copy), and
# through PyTorch's own index, on a machine whose build the default index does not serve (cu126),
# from the states that matter for the pins (nothing; the +cpu build of the same release).
ROUTES = {
    ("tuna", None): ("empty", "cpu-same-release"),
    ("ustc", None): ("empty", "cpu-same-release"),
    ("tuna", "aliyun"): ("empty", "cpu-same-release"),
    ("ustc", "aliyun"): ("empty", "cpu-same-release"),
    ("bfsu", "nju"): ("empty", "cpu-same-release"),
    ("tuna", "pytorch"): ("cpu-same-release",),
}
MIRRORS = (None, *(m.name for m in T.mirrors))
# install-cmd requests beyond "the best build for this machine", with the Python they run on:
# older command forms (X+cu117 with --extra-index-url; -f torch_stable.html on Python 3.9).
REQUESTS = {
    "best": (Request(), PY),
    "torch-2.11-with-torchaudio": (Request(torch="2.11.0"), PY),
    "torch-1.13.1-cu117-extra-index": (Request(torch="1.13.1", cuda=(11, 7)), PY),
    "torch-1.10.1-cu111-find-links": (Request(torch="1.10.1", cuda=(11, 1)), "3.9"),
}


def _installers():
    return ("pip", "uv") if find_uv() else ("pip",)


class Scenario(NamedTuple):
    source: str  # install-cmd | doctor
    machine: str
    request: str
    state: str
    mirror: str | None
    manager: str
    torch_mirror: str | None = None  # --torch-mirror
    persist: bool = False  # --persist

    @property
    def id(self) -> str:
        extra = ([f"torch-via-{self.torch_mirror}"] if self.torch_mirror else []) + (["persist"] if self.persist else [])
        return "-".join([self.source, self.machine, self.request, self.state, self.mirror or "no-mirror", *extra, self.manager])


def scenarios() -> list[Scenario]:
    out = []
    representative = set(FORMS.values())
    for machine in MACHINES:
        for mirror in MIRRORS:
            states = STATES if mirror in representative else ("cpu-same-release",)
            for state in states:
                for manager in _installers():
                    if mirror in representative or manager == "pip":
                        out.append(Scenario("install-cmd", machine, "best", state, mirror, manager))
                if mirror in representative:
                    out.append(Scenario("doctor", machine, "best", state, mirror, "pip"))
            if mirror in representative:
                out.append(Scenario("doctor", machine, "best", "broken-planned-build", mirror, "pip"))
    for request in REQUESTS:
        if request != "best":
            for mirror in representative:
                for manager in _installers():
                    out.append(Scenario("install-cmd", "gtx1080ti-driver535", request, "cpu-same-release", mirror, manager))
    for (mirror, torch_mirror), states in ROUTES.items():
        for state in states:
            for manager in _installers():
                out.append(Scenario("install-cmd", "gtx1080ti-driver535", "best", state, mirror, manager, torch_mirror))
    for manager in _installers():  # --persist: the mirror becomes pip's index (uv: no config written)
        out.append(Scenario("install-cmd", "gtx1080ti-driver535", "best", "empty", "tuna", manager, persist=True))
    out.append(Scenario("install-cmd", "h100-newest-driver", "best", "empty", "tuna", "pip", persist=True))
    return list(dict.fromkeys(out))  # the request and route rows repeat a few of the rows above


# -- the machine and its starting state ------------------------------------------------------------


def machine_of(name: str, installed: Installed = Installed(), python: str = PY) -> Machine:
    box = MACHINES[name]
    gpus = (TargetGpu(*box.gpu),) if box.gpu else ()
    if box.driver is None:
        return Machine("linux", "x86_64", python, no_driver_reason="no NVIDIA driver found", installed=installed)
    return Machine("linux", "x86_64", python, driver=box.driver, gpus=gpus, installed=installed)


def request_of(s: Scenario) -> tuple[Request, str]:
    request, python = REQUESTS[s.request]
    return request._replace(manager=s.manager, mirror=s.mirror, torch_mirror=s.torch_mirror, persist=s.persist), python


def older_release(release: str, variant: str, python: str = PY):
    """The release before `release` that has this build (or a CPU one) for this Python."""
    for r in T.releases:
        if vtuple(r.torch) < vtuple(release) and python in r.python["linux"]:
            return r, variant if variant in r.variants["linux"] else "cpu"
    raise AssertionError(f"no release before {release} for Python {python}")


class Start(NamedTuple):
    """A starting state as it is seeded: what install-cmd's or doctor's commands then start from."""

    python: str  # the sandbox's Python: "3.11"
    seed: tuple[str, ...] = ()  # requirements installed from PyTorch's index (`index`); () an empty environment
    index: str | None = None
    broken: bool = False  # torch is then damaged as a failed partial upgrade leaves it: it does not import
    pip_index: str | None = None  # pip's index-url set before (doctor: the user's pip already points at the mirror)

    @property
    def installed(self) -> Installed:
        """What installed_of() will read from the seeded sandbox: the pinned versions, and uv as
        the installer where the sandbox seeds with uv."""
        pins = dict(r.split("==") for r in self.seed if "==" in r)
        torch = pins.get("torch")
        return Installed(torch, pins.get("torchvision"), pins.get("torchaudio"), ("uv" if find_uv() else "pip") if torch else "")

    @property
    def imports(self) -> bool:
        """Whether `import torch` then works."""
        return bool(self.installed.torch) and not self.broken

    @property
    def cuda(self) -> str | None:
        """torch.version.cuda of the seeded torch, where it imports."""
        cuda = cuda_of_variant(self.installed.torch.partition("+")[2]) if self.imports else None
        return f"{cuda[0]}.{cuda[1]}" if cuda else None


def start_of(s: Scenario) -> Start:
    """The scenario's starting state, relative to the planned release R and build V of an empty environment."""
    plan = _plan_for(s)
    python = REQUESTS[s.request][1]
    pip_index = T.mirrors.get(s.mirror).pypi if s.source == "doctor" and s.mirror else None
    r = T.releases.get(plan.torch)
    if s.state == "empty":
        return Start(python, pip_index=pip_index)
    if s.state == "cpu-same-release":
        reqs, variant = _stack(r, "cpu"), "cpu"
    elif s.state == "older-release":
        old, variant = older_release(r.torch, plan.variant)
        reqs = _stack(old, variant)
    elif s.state == "broken-planned-build":
        variant = plan.variant
        reqs = _stack(r, variant)
    else:  # mismatched-torchvision: the planned torch build beside last release's torchvision
        old, _ = older_release(r.torch, plan.variant)
        variant = plan.variant
        reqs = ["--no-deps", f"torch=={r.torch}+{variant}", f"torchvision=={old.torchvision}+{variant}", "filelock"]
    return Start(python, tuple(reqs), PYTORCH.format(variant=variant), s.state == "broken-planned-build", pip_index)


def seed(sandbox: Sandbox, start: Start) -> None:
    """Put the starting state in the sandbox, from PyTorch's index."""
    if start.seed:
        if sandbox.uv:  # uv seeds in a third of pip's time; what it installs is the same
            sandbox.run(["uv", "pip", "install", *start.seed, "--index-url", start.index])
        else:
            sandbox.install_state(start.seed, start.index)
    if start.broken:  # installed, then damaged as a failed partial upgrade leaves it
        init = sandbox.python_eval("import importlib.util as u; print(u.find_spec('torch').origin)")
        Path(init).write_text("raise ImportError('libcudnn.so.9: cannot open shared object file: No such file or directory')\n")
    if start.pip_index:
        sandbox.run(["pip", "config", "set", "global.index-url", start.pip_index])


def _stack(release, variant: str) -> list[str]:
    return [f"{name}=={getattr(release, name)}+{variant}" for name in STACK if getattr(release, name)]


def installed_of(sandbox: Sandbox) -> Installed:
    have = sandbox.installed()
    torch = have.get("torch")
    return Installed(
        torch.version if torch else None,
        have["torchvision"].version if "torchvision" in have else None,
        have["torchaudio"].version if "torchaudio" in have else None,
        (torch.installer or "") if torch else "",
    )


# -- where the commands come from -------------------------------------------------------------------


def install_cmd_commands(s: Scenario, installed: Installed) -> tuple[Plan, list[list[str]]]:
    """install-cmd's plan for this environment, as it reads it: every step but the environment's."""
    request, python = request_of(s)
    plan = solve(T, machine_of(s.machine, installed, python), request)
    assert not plan.commands("env"), "a plan for this environment makes no new one"
    return plan, [list(step.argv) for step in plan.steps]


ARCHS = ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")


def doctor_snapshot(s: Scenario, inst: Installed, cuda: str | None, imports: bool = True):
    """doctor's snapshot of this machine and environment, as its probes would fill it."""
    box = MACHINES[s.machine]
    if inst.torch and not imports:
        torch = Torch("import_failed", error="ImportError: libcudnn.so.9: cannot open shared object file", dist_version=inst.torch,
                      installer=inst.installer)
    elif inst.torch:
        torch = Torch("ok", version=inst.torch, cuda=cuda, cuda_available=bool(cuda and box.driver), device_count=1 if cuda and box.driver else 0,
                      arch_list=ARCHS if cuda else (), dist_version=inst.torch, installer=inst.installer)
    else:
        torch = Torch("missing", error="ModuleNotFoundError: No module named 'torch'")
    gpus = (gpu(name=box.gpu[0], cc=box.gpu[1]),) if box.gpu else ()
    companions = {n: inst.version(n) for n in ("torchvision", "torchaudio") if inst.version(n)}
    snap = snapshot(driver=box.driver, gpus=gpus, torch=torch, python="3.11.7", packages=pkgs(**companions))
    return replace(snap, python=replace(snap.python, mirror=s.mirror))


def doctor_commands(s: Scenario, inst: Installed, imports: bool, cuda: str | None) -> tuple[Plan | None, list[list[str]]]:
    """doctor's one fix for the torch stack, split into commands as a shell runs `a && b`."""
    snap = doctor_snapshot(s, inst, cuda, imports)
    findings = [f for f in run_all(snap, T) if f.fix and f.code != "compat-table-stale"]
    fixes = {f.fix for f in findings}
    assert len(fixes) <= 1, f"the torch findings disagree: {fixes}"
    if not fixes:
        return None, []
    f = findings[0]
    return stack_plan(snap, T).plan, [*(shlex.split(part) for part in f.fix.split(" && ")), shlex.split(f.verify)]


def commands_of(s: Scenario, inst: Installed, imports: bool, cuda: str | None) -> tuple[Plan | None, tuple[tuple[str, ...], ...]]:
    """The commands this scenario prints for an environment with these facts (no commands: no fix)."""
    if s.source == "install-cmd":
        plan, argvs = install_cmd_commands(s, inst)
    else:
        plan, argvs = doctor_commands(s, inst, imports, cuda)
    return plan, tuple(map(tuple, argvs))


# -- running and judging ------------------------------------------------------------------------------


def build(version: str | None) -> tuple[str, str] | None:
    """(release, build) of an installed version: the local label, or the default index's build."""
    if version is None:
        return None
    public, _, label = version.partition("+")
    release = T.releases.get(public) or next(r for r in T.releases if public in (r.torchvision, r.torchaudio))
    return public, label or release.default["linux"]


def expected(plan: Plan, name: str) -> tuple[str, str] | None:
    version = getattr(plan, name)
    return None if version is None else (version, plan.variant)


def default_source(plan: Plan) -> str:
    """The replica standing for the index the plan uses for everything but torch's own builds."""
    return f"/mirror/{plan.mirror}/pypi/" if plan.mirror else "/pypi/"


def expected_source(plan: Plan, mirror: str | None) -> str:
    """The replica the torch wheel must come from: a mirror's links stay on the mirror, and a
    China mirror's plan takes the build from the China copy of PyTorch's index it names."""
    m = T.mirrors.get(mirror) if mirror else None
    if from_default_index(T.releases.get(plan.torch), plan.variant, "linux", m):
        assert plan.wheels_from == "default-index"
        return default_source(plan)
    if plan.wheels_from == "pytorch":
        assert m is None or plan.notes[0].startswith(f"the {plan.variant} wheels come from PyTorch's own index")
        return "/pytorch/whl/"
    carrier = T.mirrors.get(plan.wheels_from)
    assert carrier is not None and carrier.carries(plan.variant), plan.wheels_from
    if m is not None and m.wheels_form != "none":
        assert carrier == m, "a mirror with its own copy of PyTorch's index is used for the torch wheels"
    return f"/mirror/{carrier.name}/wheels/"


def config_files(sandbox: Sandbox) -> dict[str, str]:
    """Every pip and uv configuration file the sandbox's pip and uv could read or write, by path."""
    home = sandbox.root / "home"
    paths = [sandbox.pip_conf, home / ".config" / "pip" / "pip.conf", home / ".pip" / "pip.conf",
             home / ".config" / "uv" / "uv.toml", sandbox.root / "xdg" / "pip" / "pip.conf"]
    return {str(p): p.read_text(encoding="utf-8") for p in paths if p.is_file()}


def _plan_for(s: Scenario) -> Plan:
    """The plan for an empty environment: it names R and V, which the starting states refer to."""
    request, python = request_of(s)
    return solve(T, machine_of(s.machine, python=python), request)


# -- the matrix, planned before anything runs ------------------------------------------------------


class Planned(NamedTuple):
    """A scenario with the commands it prints for its starting state, as that state will be seeded."""

    scenario: Scenario
    start: Start
    plan: Plan | None
    argvs: tuple[tuple[str, ...], ...]  # (): no fix offered

    @property
    def run(self) -> tuple:
        """What decides the outcome of running the commands: scenarios with the same share one run."""
        return self.start, self.argvs, self.scenario.manager


def plan_matrix() -> list[Planned]:
    """Every scenario's commands, from the facts its seeded state will show (checked against the
    sandbox's own when the commands run: Outcome.start_facts)."""
    out = []
    for s in scenarios():
        start = start_of(s)
        plan, argvs = commands_of(s, start.installed, start.imports, start.cuda)
        out.append(Planned(s, start, plan, argvs))
    return out


def runs_of(planned: list[Planned]) -> dict[tuple, list[Planned]]:
    """The distinct runs (starting state, commands, installer), each with the scenarios it proves."""
    runs: dict[tuple, list[Planned]] = {}
    for p in planned:
        if p.argvs:
            runs.setdefault(p.run, []).append(p)
    return runs


MATRIX = plan_matrix()
RUNS = runs_of(MATRIX)


class Outcome(NamedTuple):
    """What one run of a command list from a seeded state left, for each scenario to judge."""

    start_facts: tuple[Installed, bool, str | None]  # installed, whether torch imports, torch.version.cuda
    config_before: dict[str, str]
    after: Installed
    cuda_after: str | None
    served: list[str]  # request paths while the commands ran
    config_after: dict[str, str]
    pip_conf: str


def run_commands(start: Start, argvs, replicas: Replicas, root: Path) -> Outcome:
    sandbox = Sandbox(root, replicas, find_python(start.python))
    seed(sandbox, start)
    before = installed_of(sandbox)
    imports = sandbox.run(["python", "-c", "import torch"], check=False).returncode == 0
    facts = (before, imports, sandbox.torch_cuda() if before.torch and imports else None)
    config_before = config_files(sandbox)
    mark = replicas.mark()
    for argv in argvs:
        sandbox.run(argv)  # the verification line is the last: it raises if the build is wrong
    served = [r.path for r in replicas.requests_since(mark)]
    return Outcome(facts, config_before, installed_of(sandbox), sandbox.torch_cuda(), served, config_files(sandbox), str(sandbox.pip_conf))


@pytest.fixture(scope="module")
def replicas():
    with Replicas(T) as r:
        yield r


@pytest.fixture(scope="module")
def outcomes(replicas, tmp_path_factory):
    """Each distinct run once: the first scenario that needs it runs it, the others read it (a
    failed run fails each of its scenarios)."""
    done: dict[tuple, Outcome | BaseException] = {}

    def get(p: Planned) -> Outcome:
        if p.run not in done:
            try:
                done[p.run] = run_commands(p.start, p.argvs, replicas, tmp_path_factory.mktemp("sb"))
            except Exception as exc:  # noqa: BLE001 - kept, and raised for every scenario of this run
                done[p.run] = exc
        got = done[p.run]
        if isinstance(got, BaseException):
            raise got
        return got

    return get


def _in_this_pass(p: Planned):
    """The whole matrix (minutes) runs where pytest runs on the sandboxes' own Python: its sandboxes
    are Python 3.11 environments whichever Python runs envcheck, so another pass would prove the
    same commands again. Other Pythons run one machine's empty environment in every form and
    source, which still runs envcheck's planning on that Python end to end."""
    s = p.scenario
    if RUNNER == TARGET or (s.machine == "gtx1080ti-driver535" and s.request == "best" and s.state == "empty" and s.manager == "pip"):
        return p
    return pytest.param(p, marks=pytest.mark.skip(reason=f"the full matrix runs on Python {TARGET} (the sandboxes' Python)"))


@pytest.mark.parametrize("p", [_in_this_pass(p) for p in MATRIX if p.argvs], ids=lambda p: p.scenario.id)
def test_printed_commands_leave_the_planned_build(p: Planned, outcomes, replicas):
    s, plan = p.scenario, p.plan
    if find_python(p.start.python) is None:
        pytest.skip(f"no Python {p.start.python} interpreter on this machine for the {s.request} scenario")
    got = outcomes(p)
    # The commands run are the ones this scenario prints for the state the sandbox really held.
    assert got.start_facts == (p.start.installed, p.start.imports, p.start.cuda), "the seeded state is not the planned one"
    assert commands_of(s, *got.start_facts)[1] == p.argvs
    before, after = p.start.installed, got.after
    for name in STACK:
        assert build(after.version(name)) == expected(plan, name), f"{name}: {before.version(name)} -> {after.version(name)}"
    assert got.cuda_after == plan.cuda
    served = got.served
    source = expected_source(plan, s.mirror)
    torch_wheels = [path for path in served if path.endswith(".whl") and "/torch-" in path]
    if torch_wheels:  # none when the installed torch already was the planned build
        assert all(path.startswith(source) for path in torch_wheels), torch_wheels
    else:
        assert before.torch == after.torch
    # Nothing came from anywhere but the plan's two sources: with a China mirror, nothing from
    # PyTorch's own host or the default index unless the plan says so.
    elsewhere = sorted({path for path in served if not path.startswith((source, default_source(plan)))})
    assert not elsewhere, f"fetched from neither {source} nor {default_source(plan)}: {elsewhere}"
    if source.endswith("/wheels/") and T.mirrors.get(plan.wheels_from).wheels_form == "find-links":
        others = [path for path in served if path.endswith(".whl") and not path.rpartition("/")[2].startswith(STACK)]
        assert all(path.startswith(default_source(plan)) for path in others), others  # the folder holds torch's builds only
    if s.persist and s.manager == "pip":
        assert got.config_after.keys() == got.config_before.keys()
        assert f"index-url = {replicas.url(T.mirrors.get(s.mirror).pypi)}" in got.config_after[got.pip_conf]
    else:
        assert got.config_after == got.config_before, "pip's (or uv's) configuration changed without --persist"


@pytest.mark.parametrize("p", [p for p in MATRIX if not p.argvs], ids=lambda p: p.scenario.id)
def test_no_fix_only_where_the_installed_build_runs(p: Planned):
    """doctor offers no fix: then the environment must already hold a build that runs here. Pure:
    nothing to run, so no sandbox (the seeded state's facts are the planned ones, as the runs that
    seed the same packages check)."""
    before = p.start.installed
    assert p.scenario.source == "doctor" and before.torch, "only doctor, on an installed torch, may offer no fix"
    release = T.releases.get(before.torch.partition("+")[0])
    variant = before.torch.partition("+")[2] or release.default["linux"]
    assert runs_here(T, machine_of(p.scenario.machine, before), release, variant), f"no fix, yet {before.torch} does not run here"


def test_every_scenario_is_proven_by_one_run_or_needs_none():
    """The deduplication keeps coverage: every scenario of the matrix is in exactly one run, with
    that run's starting state, commands and installer, or offers no fix and is judged without one."""
    ids = [s.id for s in scenarios()]
    assert len(ids) == len(set(ids)), "a scenario twice in the matrix"
    assert [p.scenario.id for p in MATRIX] == ids
    in_runs = [p.scenario.id for members in RUNS.values() for p in members]
    assert len(in_runs) == len(set(in_runs))
    assert set(in_runs) | {p.scenario.id for p in MATRIX if not p.argvs} == set(ids)
    assert set(in_runs).isdisjoint(p.scenario.id for p in MATRIX if not p.argvs)
    for key, members in RUNS.items():
        assert all((p.start, p.argvs, p.scenario.manager) == key and p.argvs for p in members)
    assert len(RUNS) < len(ids), "nothing shared: the plan would run every scenario on its own"
    # A "no fix" scenario is judged on the facts planned for its starting state; the same packages
    # are seeded by some run, whose sandbox checks those facts (pip's configured index aside).
    seeded = {p.start._replace(pip_index=None) for p in MATRIX if p.argvs}
    assert all(p.start._replace(pip_index=None) in seeded for p in MATRIX if not p.argvs)


def test_the_matrix_covers_every_form_state_installer_and_source():
    got = scenarios()
    assert {s.state for s in got} == set(DOCTOR_STATES)
    assert {s.mirror for s in got} == set(MIRRORS)
    assert {s.source for s in got} == {"install-cmd", "doctor"}
    assert {s.manager for s in got} == set(_installers())
    routed = {(s.mirror, T.mirrors.get(s.torch_mirror or "sjtu").wheels_form, s.state, s.manager) for s in got
              if s.mirror in ("tuna", "ustc") and s.torch_mirror != "pytorch" and s.source == "install-cmd" and s.machine == "gtx1080ti-driver535"}
    for mirror in ("tuna", "ustc"):
        for form in ("index", "find-links"):
            for state in ("empty", "cpu-same-release"):
                assert {(mirror, form, state, m) for m in _installers()} <= routed
    assert any(s.persist and s.manager == "pip" for s in got) and any(s.persist and s.manager == "uv" for s in got) == bool(find_uv())
