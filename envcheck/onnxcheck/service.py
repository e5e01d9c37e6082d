"""`envcheck onnx` as a service: a typed request in, a report with its own exit code out."""

from __future__ import annotations

from dataclasses import dataclass

from envcheck.errors import UserError
from envcheck.onnxcheck import runner
from envcheck.onnxcheck.reference import NETWORKS
from envcheck.onnxcheck.report import OnnxReport
from envcheck.probes.ort_load import beside_cpu
from envcheck.probes.precheck import torch_and_onnxruntime
from envcheck.snapshot.model import ProviderLoad, known

EXPORTERS = ("torchscript", "dynamo", "both")
OPSETS = (7, 30)  # the ONNX opsets envcheck can ask an exporter for


@dataclass(frozen=True)
class OnnxRequest:
    model: str | None = None  # a user's ONNX file; None: the reference networks
    exporter: str = "both"
    opset: int | None = None
    providers: tuple = ()  # (): every provider this onnxruntime has
    dims: tuple = ()  # ((symbolic dimension, value), ...) for a user's model
    optimize: bool = False
    networks: tuple = ()  # (): every reference network

    def validate(self) -> None:
        if self.exporter not in EXPORTERS:
            raise UserError(f"--exporter {self.exporter!r} is not one of: {', '.join(EXPORTERS)}")
        if self.opset is not None and not OPSETS[0] <= self.opset <= OPSETS[1]:
            raise UserError(f"--opset {self.opset} is not an ONNX opset envcheck can ask for ({OPSETS[0]}–{OPSETS[1]})")
        for n in self.networks:
            if n not in NETWORKS:
                raise UserError(f"--network {n!r} is not one of: {', '.join(NETWORKS)}")


def run(request: OnnxRequest, on_progress=None) -> OnnxReport:
    """Export and check each reference network (or the user's model) and run it under every
    provider. First, in children of their own, torch is imported and each provider beside the CPU's
    is tried without torch: this process then borrows torch's CUDA libraries when it exports a
    network, and a provider that loads only so is told apart. on_progress(done, total, text) as
    each step starts."""
    request.validate()
    step = on_progress or (lambda done, total, text: None)
    purpose = "envcheck onnx" if request.model is None else "envcheck onnx --model"
    probed, ort = torch_and_onnxruntime(purpose, required=request.model is None, tensorrt="TensorrtExecutionProvider" in request.providers)
    tv, ov, rv, available = runner.versions(probed.version if probed.status == "ok" else None)
    alone = _without_torch(ort, available)
    by_provider = {x.provider: x for x in alone}
    _, _, not_run = runner.providers_to_run(runner.modules()[1], request.providers)
    if request.model is not None:
        step(0, 1, f"checking {request.model}")
        results = [runner.check_file(request.model, dict(request.dims), request.providers, by_provider)]
    else:
        exporters = ("torchscript", "dynamo") if request.exporter == "both" else (request.exporter,)
        jobs = [(n, e) for n in request.networks or tuple(NETWORKS) for e in exporters]
        results = []
        for done, (n, e) in enumerate(jobs):
            step(done, len(jobs), f"exporting {n} with {e}")  # the first dynamo export alone takes seconds (benchmarks/RESULTS.md)
            results.append(runner.check_reference(n, e, request.opset, request.providers, request.optimize, by_provider))
    return OnnxReport(tv, ov, rv, available, tuple(results), alone, not_run)


def _without_torch(ort, available: tuple) -> tuple:
    """The torch-free child's snapshot.ProviderLoad for each provider beside the CPU's; where it
    could not try them, one for each with loads None and the reason."""
    if known(ort.loads) and ort.loads:
        return tuple(ort.loads)
    why = ort.loads.reason if not known(ort.loads) else (ort.providers.reason if not known(ort.providers) else "")
    why = why.strip().splitlines()[0] if why.strip() else ""
    return tuple(ProviderLoad(p, None, note=f"not tried without torch: {why}") for p in available if beside_cpu(p) and why)
