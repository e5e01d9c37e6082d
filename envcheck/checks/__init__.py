"""Checks: pure functions of (snapshot, tables, stack) that return findings. They never touch
hardware; `stack` is the run's torch-stack fix (checks/fixes.py), planned once and shared."""

from __future__ import annotations

from envcheck.checks import driver, environment, memory, onnxruntime, pasted, torch
from envcheck.checks.findings import SEVERITIES, Finding, order
from envcheck.checks.fixes import StackFix

ALL = (
    driver.check_driver,
    driver.check_driver_too_old,
    driver.check_gpu_health,
    driver.check_nvml_bindings,
    environment.check_cuda_visible_devices,
    environment.check_mirror,
    torch.check_torch,
    torch.check_loaded_libraries,
    torch.check_companions,
    torch.check_nvcc,
    onnxruntime.check_onnxruntime,
)


def run_all(snapshot, tables, interpreter: str | None = None, remembered=None) -> list[Finding]:
    """Every check's findings; `interpreter`: the Python inspected when it is not the one running
    envcheck, so that the fixes install into it rather than into whichever pip is first on PATH;
    `remembered`: the stack doctor last found healthy in that environment (None: none, or a report)."""
    stack = StackFix(snapshot, tables, interpreter)
    findings: list[Finding] = []
    for check in ALL:
        findings.extend(check(snapshot, tables, stack))
    findings.extend(memory.check_build_changed(snapshot, tables, stack, remembered, interpreter))
    return order(with_pasted(findings, pasted.check_pasted(snapshot, tables, stack)))


def with_pasted(findings: list[Finding], from_paste: list[Finding]) -> list[Finding]:
    """One rule joins the two: a pasted error proves a problem; where the report's facts show the
    same code, one finding per code is kept, the more severe (the facts' finding on a tie, as the
    facts say more), so no problem is reported twice."""
    out = list(findings)
    for new in from_paste:
        same = [SEVERITIES.index(f.severity) for f in out if f.code == new.code]
        if not same:
            out.append(new)
        elif SEVERITIES.index(new.severity) > max(same):
            out = [f for f in out if f.code != new.code] + [new]
    return out
