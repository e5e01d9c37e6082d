"""Checks: pure functions of (snapshot, tables) that return findings. They never touch hardware."""

from __future__ import annotations

from envcheck.checks import driver, environment, onnxruntime, pasted, torch
from envcheck.checks.findings import SEVERITIES, Finding, order

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


def run_all(snapshot, tables) -> list[Finding]:
    findings: list[Finding] = []
    for check in ALL:
        findings.extend(check(snapshot, tables))
    for f in pasted.check_pasted(snapshot, tables):
        findings = _merge(findings, f)
    return order(findings)


def _merge(findings: list[Finding], new: Finding) -> list[Finding]:
    """A pasted error adds its finding unless the report's facts gave that code already; it
    replaces the facts' finding only where it is more severe (the error proves the problem)."""
    same = [f for f in findings if f.code == new.code]
    if not same:
        return [*findings, new]
    if SEVERITIES.index(new.severity) > max(SEVERITIES.index(f.severity) for f in same):
        return [f for f in findings if f.code != new.code] + [new]
    return findings
