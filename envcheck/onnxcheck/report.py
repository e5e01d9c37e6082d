"""What `envcheck onnx` found: plain data, no torch or onnxruntime, so that renderers read it
without reaching the code that exports and runs models."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderRun:
    provider: str
    status: str  # pass | mismatch | fallback | unavailable | error
    reason: str = ""
    max_abs: float | None = None
    max_rel: float | None = None
    median_ms: float | None = None
    providers_used: tuple = ()


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
        return self.status == "ok" and bool(self.runs) and all(r.status == "pass" for r in self.runs)


@dataclass(frozen=True)
class OnnxReport:
    torch: str | None
    onnx: str
    onnxruntime: str
    available_providers: tuple
    results: tuple = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Every model exported, checked and ran right under every provider asked for."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 2
