"""`envcheck install-cmd`: the commands for a PyTorch stack that runs on this (or another) machine."""

from __future__ import annotations

import re
from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, PythonVer, chosen_format
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.install import ARCHES, MANAGERS, OSES, Machine, Request, TargetGpu, solve
from envcheck.render import install as render
from envcheck.render.console import out, print_json
from envcheck.snapshot import known
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
    """--gpu accepts an NVML name from the GPU table, or a compute capability (8.6, sm_86)."""
    m = re.fullmatch(r"(?:sm_?)?(\d{1,2})\.?(\d)", text.strip(), re.IGNORECASE)
    if m:
        return TargetGpu(f"sm_{m.group(1)}{m.group(2)}", f"{m.group(1)}.{m.group(2)}")
    g = tables().gpu(text)
    if g is None:
        raise UserError(f"--gpu {text!r} is neither a GPU envcheck knows nor a compute capability (write 8.6 or sm_86)")
    return TargetGpu(g.name, g.cc)


def _machine(os: Optional[str], arch: Optional[str], driver: Optional[str], gpus: list[str], need_driver: bool) -> Machine:
    """The machine to plan for: this one through NVML, or one described by --os/--arch/--driver/--gpu."""
    from envcheck.probes.host import read_host

    host = read_host()
    target_os = os or host.os
    target_arch = arch or (host.arch if target_os == host.os else ("arm64" if target_os == "macos" else "x86_64"))
    given = tuple(_gpu(g) for g in gpus)
    if driver is not None:
        driver_tuple(driver)
        return Machine(target_os, target_arch, host.python, driver=driver, gpus=given)
    if target_os == "macos":
        return Machine(target_os, target_arch, host.python, no_driver_reason="macOS has no CUDA")
    if (target_os, target_arch) != (host.os, host.arch):
        return Machine(target_os, target_arch, host.python, gpus=given, local=False)
    if not need_driver:
        return Machine(target_os, target_arch, host.python, gpus=given)
    from envcheck.probes.nvml import read_driver

    info = read_driver()
    if not known(info.driver_version):
        reason = info.driver_version.reason
        if info.nvidia_on_pci:
            reason = f"an NVIDIA GPU is on the PCI bus but its driver does not answer: {reason}"
        return Machine(target_os, target_arch, host.python, gpus=given, nvidia_on_pci=info.nvidia_on_pci, no_driver_reason=reason)
    found = list(given)
    for g in info.gpus if known(info.gpus) else ():
        name = g.name if known(g.name) else f"GPU {g.index}"
        found.append(TargetGpu(name, g.compute_capability if known(g.compute_capability) else None))
    return Machine(target_os, target_arch, host.python, driver=info.driver_version, gpus=tuple(found))


def install_cmd(
    cuda: Annotated[Optional[str], typer.Option("--cuda", help="CUDA build to install, e.g. 12.1 (cu121).")] = None,
    torch: Annotated[Optional[str], typer.Option("--torch", help="torch release, e.g. 2.2.1 (or 2.2 for the newest 2.2.x).")] = None,
    python: PythonVer = None,
    cpu: Annotated[bool, typer.Option("--cpu", help="Install the CPU build.")] = False,
    os: Annotated[Optional[str], typer.Option("--os", help="Plan for another OS: linux, windows, macos.")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="Plan for another CPU: x86_64, aarch64.")] = None,
    manager: Annotated[str, typer.Option("--manager", help="pip, conda or uv.")] = "pip",
    mirror: Annotated[Optional[str], typer.Option("--mirror", help="Package mirror: tuna, aliyun, ustc, sjtu, bfsu, nju, tencent, huawei, or none.")] = None,
    env: Annotated[Optional[str], typer.Option("--env", help="Create this environment first (conda: default 'torch').")] = None,
    driver: Annotated[Optional[str], typer.Option("--driver", help="Plan for this NVIDIA driver version instead of the one found here.")] = None,
    gpu: Annotated[Optional[list[str]], typer.Option("--gpu", help="Plan for this GPU (name or compute capability, e.g. 6.1); repeatable.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="List every build rejected and why.")] = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Print the exact pip / conda / uv commands for a PyTorch build that runs here."""
    if cpu and cuda:
        raise UserError("--cpu and --cuda contradict each other: choose one")
    request = Request(
        torch=check_torch(torch) if torch else None,
        cuda=cuda_tuple(cuda) if cuda else None,
        cpu=cpu,
        python=check_python(python) if python else None,
        manager=_choice(manager, MANAGERS, "--manager"),
        mirror=None if mirror in (None, "none", "") else mirror.lower(),
        env=env,
    )
    if request.mirror and tables().mirror(request.mirror) is None:
        names = ", ".join(m.name for m in tables().mirrors)
        raise UserError(f"--mirror {mirror!r} is not a known mirror: choose one of {names}, or none")
    machine = _machine(_choice(os, OSES, "--os"), _choice(arch, ARCHES, "--arch"), driver, gpu or [], need_driver=not cpu)
    plan = solve(tables(), machine, request)
    f = chosen_format(fmt, as_json)
    if f is Format.json:
        print_json(render.as_dict(plan))
    elif f is Format.markdown:
        out().print(render.markdown(plan, explain), markup=False, end="")
    else:
        render.text(plan, out(), explain)
