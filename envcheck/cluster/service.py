"""`envcheck cluster` as a service: one rank's typed request in, its outcome out (the report on
rank 0), with the exit code every rank leaves with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from envcheck.cluster import job, launch
from envcheck.cluster.report import ClusterReport
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.numbers import seconds as check_seconds
from envcheck.probes.precheck import torch_importable

BACKENDS = ("nccl", "gloo")


@dataclass(frozen=True)
class ClusterRequest:
    seconds: float = 1.0  # the matmul, and each all-reduce size
    backend: str | None = None  # None: nccl where this rank's torch has CUDA and NCCL, else gloo
    timeout: float = 300.0  # for every rank to join, and for each collective
    strict: bool = False  # drift, a lagging rank and warnings exit 1, doctor's errors on a rank 2 (for CI)

    def validate(self) -> None:
        if self.backend not in (None, *BACKENDS):
            raise UserError(f"--backend {self.backend!r} is not one of: {', '.join(BACKENDS)}")
        check_seconds(self.seconds, "--seconds", 600)
        check_seconds(self.timeout, "--timeout")


@dataclass(frozen=True)
class RankOutcome:
    report: ClusterReport | None  # rank 0's; None on every other rank
    exit_code: int  # decided on rank 0 and sent to every rank, so that they all leave alike


def run(request: ClusterRequest, env: Mapping[str, str]) -> RankOutcome:
    """Join the job the launcher's environment (`env`) describes, and take part in it."""
    request.validate()
    where = launch.from_env(env)
    # A rank must not die importing torch; a short join --timeout (tests, CI) is no budget for the import.
    torch_importable("envcheck cluster", timeout=min(max(request.timeout, 60.0), 300.0))
    report, code = job.run(where, tables(), request.seconds, request.timeout, request.backend, request.strict)
    return RankOutcome(report, code)
