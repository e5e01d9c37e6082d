"""Checks: pure functions of (snapshot, tables) that return findings. They never touch hardware."""

from __future__ import annotations

from envcheck.checks import driver, environment, onnxruntime, torch
from envcheck.checks.findings import Finding, order

ALL = (
    driver.check_driver,
    driver.check_driver_too_old,
    driver.check_gpu_health,
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
    return order(findings)
