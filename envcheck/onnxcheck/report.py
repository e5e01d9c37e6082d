"""What `envcheck onnx` found: plain data, no torch or onnxruntime, so that renderers read it
without reaching the code that exports and runs models."""

from __future__ import annotations

from dataclasses import dataclass, field

# A run's status: pass; torch_only (a warning: the provider ran here only because envcheck had
# imported torch, whose CUDA libraries it borrowed; a program without torch runs on the CPU);
# the rest are errors.
FAILED = ("mismatch", "fallback", "unavailable", "error")


@dataclass(frozen=True)
class ProviderRun:
    provider: str
    status: str  # pass | torch_only | mismatch | fallback | unavailable | error
    reason: str = ""
    max_abs: float | None = None
    max_rel: float | None = None
    median_ms: float | None = None
    providers_used: tuple = ()
    # Some nodes ran on the CPU inside this provider's session: a second session with
    # session.disable_cpu_ep_fallback=1 was refused. None: not asked (the CPU provider, or one that
    # did not load) or that session failed for another reason.
    cpu_nodes: bool | None = None
    options: dict = field(default_factory=dict)  # the provider options envcheck set, as ORT reports them: {"use_tf32": "0"}


@dataclass(frozen=True)
class ModelResult:
    model: str  # reference network name, or the file
    exporter: str  # torchscript | dynamo | file
    status: str  # ok | export_failed | check_failed
    error: str = ""
    inputs: tuple = ()  # (name, shape, dtype) for a user's model
    runs: tuple = ()  # tuple[ProviderRun, ...]

    @property
    def passed(self) -> bool:
        return self.status == "ok" and bool(self.runs) and not any(r.status in FAILED for r in self.runs)


@dataclass(frozen=True)
class OnnxReport:
    torch: str | None
    onnx: str
    onnxruntime: str
    available_providers: tuple
    results: tuple = field(default_factory=tuple)
    # snapshot.ProviderLoad per provider beside the CPU's, tried in a child that never imported
    # torch (probes/ort_load.py); where it could not try, loads is None and the note says why
    without_torch: tuple = ()
    not_run: dict = field(default_factory=dict)  # provider -> why it was not run, and how to ask for it

    @property
    def passed(self) -> bool:
        """Every model exported, checked and ran right under every provider asked for."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def exit_code(self) -> int:
        """2 when a model failed; 1 when a provider ran only because torch was imported first."""
        if not self.passed:
            return 2
        return 1 if any(run.status == "torch_only" for r in self.results for run in r.runs) else 0
