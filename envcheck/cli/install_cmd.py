"""`envcheck install-cmd`: the commands for a PyTorch stack that runs on this (or another) machine."""

import sys
from typing import Annotated, Optional

import typer

from envcheck.cli.options import (
    Format,
    FormatOpt,
    JsonOpt,
    OfflineOpt,
    PythonVer,
    QuietOpt,
    chosen_format,
    stay_offline,
)
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.install import (
    ARCHES,
    MANAGERS,
    OSES,
    BadRequest,
    CarrierLacksBuild,
    NoBuildFits,
    NotACarrier,
    Request,
    TargetGpu,
    UnknownMirror,
    machine_from,
    solve,
    target_of,
)
from envcheck.probes import host as host_probe  # modules, not names: tests replace their functions
from envcheck.probes import installed as installed_probe
from envcheck.probes import nvml
from envcheck.probes.timeout import Background
from envcheck.render import install as render
from envcheck.render.console import Output, write
from envcheck.render.output import emit
from envcheck.snapshot.facts import Installed
from envcheck.versions import check_python, check_torch, cuda_tuple, driver_tuple


def _choice(value: Optional[str], allowed: tuple, option: str) -> Optional[str]:
    if value is None:
        return None
    v = value.lower()
    if v == "darwin":
        v = "macos"
    if v == "amd64":
        v = "x86_64"
    if v not in allowed:
        raise UserError(f"{option} {value!r} is not one of: {', '.join(allowed)}")
    return v


def _gpu(text: str) -> TargetGpu:
    """--gpu accepts a GPU as people write it, or a compute capability (8.6, sm_86)."""
    g = tables().gpus.find(text)
    return TargetGpu(g.name, g.cc)


def install_cmd(
    ctx: typer.Context,
    cuda: Annotated[Optional[str], typer.Option("--cuda", help="CUDA build to install, e.g. 12.1 (cu121).")] = None,
    torch: Annotated[Optional[str], typer.Option("--torch", help="torch release, e.g. 2.2.1 (or 2.2 for the newest 2.2.x).")] = None,
    python: PythonVer = None,
    cpu: Annotated[bool, typer.Option("--cpu", help="Install the CPU build.")] = False,
    os: Annotated[Optional[str], typer.Option("--os", help="Plan for another OS: linux, windows, macos.")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="Plan for another CPU: x86_64, aarch64.")] = None,
    manager: Annotated[str, typer.Option("--manager", help="pip, conda or uv.")] = "pip",
    mirror: Annotated[Optional[str], typer.Option("--mirror", help="Package mirror: tuna, aliyun, ustc, sjtu, bfsu, nju, tencent, huawei, or none.")] = None,
    torch_mirror: Annotated[Optional[str], typer.Option(
        "--torch-mirror", help="Where the CUDA/CPU wheels come from: sjtu, nju, aliyun (copies of PyTorch's wheel index) or pytorch (its own). "
        "Default: with --mirror, that mirror's copy, else the first copy that has the build.")] = None,
    persist: Annotated[bool, typer.Option("--persist", help="Also make the mirror pip's configured index (pip config set); "
                                          "without it the commands name the mirror themselves and leave pip's config alone.")] = False,
    env: Annotated[Optional[str], typer.Option("--env", help="Create this environment first (conda: default 'torch').")] = None,
    driver: Annotated[Optional[str], typer.Option("--driver", help="Plan for this NVIDIA driver version instead of the one found here.")] = None,
    gpu: Annotated[Optional[list[str]], typer.Option("--gpu", help="Plan for this GPU (name or compute capability, e.g. 6.1); repeatable.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="List every build rejected and why.")] = False,
    check_index: Annotated[bool, typer.Option("--check-index", help="Before printing, confirm on the index (or mirror) the plan uses that each wheel exists for this Python and platform.")] = False,
    budget: Annotated[float, typer.Option("--budget", min=1, help="With --check-index: seconds for all listings together; "
                                          "files not checked by then are named and the commands printed anyway (default: 120).")] = 120.0,
    offline: OfflineOpt = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Print the exact pip / conda / uv commands for a PyTorch build that runs here."""
    if cpu and cuda:
        raise UserError("--cpu and --cuda contradict each other: choose one")
    if check_index and offline:
        raise UserError("--check-index reads the index over the network, and --offline forbids that: choose one")
    if offline:
        stay_offline(ctx)
    request = Request(
        torch=check_torch(torch) if torch else None,
        cuda=cuda_tuple(cuda) if cuda else None,
        cpu=cpu,
        python=check_python(python) if python else None,
        manager=_choice(manager, MANAGERS, "--manager"),
        mirror=None if mirror in (None, "none", "") else mirror,
        env=env,
        torch_mirror=torch_mirror.strip().lower() if torch_mirror else None,
        persist=persist,
    )

    host = host_probe.read_host()
    target_os, target_arch = target_of(host, _choice(os, OSES, "--os"), _choice(arch, ARCHES, "--arch"))
    if driver is not None:
        driver_tuple(driver)
    given = tuple(_gpu(g) for g in gpu or [])
    probe = None
    if not cpu and driver is None and (target_os, target_arch) == (host.os, host.arch) and target_os != "macos":

        probe = Background(nvml.read_driver)  # NVML answers while the tables are read
    t = tables().warm()
    installed = Installed()
    if (target_os, target_arch) == (host.os, host.arch) and request.python in (None, host.python):

        installed = installed_probe.read_installed()  # the commands install into this environment
    machine = machine_from(host, target_os, target_arch, probe.result() if probe else None, given, driver, installed)

    try:
        plan = solve(t, machine, request)
    except UserError as exc:
        if explain and isinstance(exc, NoBuildFits):
            render.rejections_to(exc.rejected, Output(sys.stderr))
        raise UserError(worded(exc)) from exc

    checked = _check_index(plan, t, budget) if check_index else None
    code = 0 if checked is None else _index_report(checked)  # its lines go to stderr, before the plan
    emit("install-cmd", chosen_format(fmt, as_json), render.view(plan, explain, quiet, _index_dict(checked) if checked is not None else None), code)
    raise typer.Exit(code)


def worded(exc: UserError) -> str:
    """The planner's error as one line that names this command's flags."""
    if isinstance(exc, BadRequest):
        return "; ".join(worded(e) for e in exc.errors)
    if isinstance(exc, UnknownMirror):
        return f"--mirror {exc.text}"
    if isinstance(exc, NotACarrier):
        choose = ", ".join(exc.choices)
        if exc.known:
            return f"--torch-mirror {exc.name}: {exc.name} copies only the default index, not PyTorch's wheels: choose {choose}"
        return f"--torch-mirror {exc.name!r} is not a copy of PyTorch's wheel index envcheck knows: choose {choose}"
    if isinstance(exc, CarrierLacksBuild):
        return f"--torch-mirror {exc}"
    if isinstance(exc, NoBuildFits) and exc.python_fits:
        py = exc.python_fits
        return f"{exc.message}; plan for Python {py} with --python {py} --env NAME (a new environment)"
    return str(exc)


def _check_index(plan, t, budget: float):
    # only with --check-index: the index reader's HTML and network modules stay off the plain path
    from envcheck.index_check import check_plan
    from envcheck.probes.wheel_index import default_index

    return check_plan(plan, t, default_index(), budget=budget)


def _index_dict(checked) -> dict:
    from envcheck.render.index import check_dict  # only with --check-index, as above

    return check_dict(checked)


def _index_report(checked) -> int:
    """The check's lines on stderr; the exit code: 2 when a file of the plan is missing, 1 when the
    check could not run or a mirror's links leave it (the plan is printed either way), else 0."""
    from envcheck.render.index import check_lines  # only with --check-index, as above

    lines = check_lines(checked)
    for level, line in lines:
        write(sys.stderr, f"envcheck: {'' if level == 'ok' else level + ': '}{line}\n")
    levels = {level for level, _ in lines}
    return 2 if "error" in levels else 1 if "warning" in levels else 0
