"""Fix commands for findings, from install-cmd's own solver: one source of truth for commands."""

from __future__ import annotations

from envcheck.errors import UserError
from envcheck.install import Request, machine_from, solve
from envcheck.snapshot import Host, Snapshot


def target_python(snapshot: Snapshot) -> str:
    return ".".join(snapshot.python.version.split(".")[:2])


def install_fix(snapshot: Snapshot, tables, request: Request | None = None) -> str | None:
    """The install command of the build install-cmd would choose for this machine, or None."""
    if snapshot.system.os not in ("linux", "windows", "macos") or target_python(snapshot).count(".") != 1:
        return None  # a report that does not say which platform or Python: no command to give
    host = Host(snapshot.system.os, snapshot.system.arch, target_python(snapshot))
    machine = machine_from(host, host.os, host.arch, snapshot.driver)
    mirror = snapshot.python.mirror
    req = (request or Request())._replace(mirror=mirror, python=target_python(snapshot))
    try:
        plan = solve(tables, machine, req)
    except UserError:
        return None
    install = [plan.shell(s) for s in plan.steps if s.purpose == "install"]
    return " && ".join(install) or None
