"""Export, check, run under each ONNX Runtime provider, compare: the work of `envcheck onnx`.

Every step records its own failure as data (a provider that cannot load, an export that raises,
an op ORT lacks) so one broken piece never hides the others' results.
"""

from __future__ import annotations

import io
import logging
import math
import re
import statistics
import time
import warnings

from envcheck.errors import UserError, describe, first_line
from envcheck.onnxcheck.report import ModelResult, OnnxReport, ProviderRun

__all__ = ["ModelResult", "OnnxReport", "ProviderRun", "check_file", "check_reference", "versions"]

BATCHES = (1, 4)
REPEATS = 20
# (absolute, relative) tolerance per provider for fp32 outputs: CPU kernels differ from PyTorch's
# only in summation order; GPU providers use other algorithms; TensorRT may run reduced precision.
TOLERANCE = {
    "CPUExecutionProvider": (1e-4, 1e-3),
    "CUDAExecutionProvider": (1e-3, 1e-2),
    "ROCMExecutionProvider": (1e-3, 1e-2),
    "DmlExecutionProvider": (1e-3, 1e-2),
    "TensorrtExecutionProvider": (1e-2, 5e-2),
}
DEFAULT_TOLERANCE = (1e-3, 1e-2)
SKIP_PROVIDERS = {"AzureExecutionProvider"}  # a remote-call provider, not a local device


def _modules():
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise UserError(f"envcheck onnx needs onnx and onnxruntime ({exc.name} is missing): pip install 'envcheck[onnx]'") from exc
    return onnx, onnxruntime


def providers_to_run(ort, requested: tuple) -> tuple[list, list]:
    """(available providers to run, requested ones this onnxruntime does not have)."""
    available = [p for p in ort.get_available_providers() if p not in SKIP_PROVIDERS]
    if not requested:
        return available, []
    return [p for p in requested if p in available], [p for p in requested if p not in available]


# -- exporting ------------------------------------------------------------------------------------


def export(model, sample, exporter: str, opset: int | None, optimize: bool = False) -> bytes:
    """The model as ONNX bytes, with a dynamic batch axis on input and output.

    The dynamo exporter's ONNX optimizer pass is skipped unless asked for (`--optimize`): it halves
    the check's time (benchmarks/RESULTS.md) and neither validity nor the outputs depend on it.
    """
    import torch

    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "torchvision is not installed. Skipping torchvision::nms" and the like
    try:
        return _export(torch, model, sample, exporter, opset, optimize)
    finally:
        quiet.setLevel(level)


def _export(torch, model, sample, exporter: str, opset: int | None, optimize: bool) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            buf = io.BytesIO()
            torch.onnx.export(model, (sample,), buf, dynamo=False, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset or 17)
            return buf.getvalue()
        program = torch.onnx.export(model, (sample,), dynamo=True, input_names=["x"], output_names=["y"],
                                    dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},),
                                    opset_version=opset, verbose=False, optimize=optimize)
        return program.model_proto.SerializeToString()


def check(onnx, data: bytes) -> str:
    """'' when onnx.checker's full check (shape inference included) passes, else its message."""
    try:
        onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    except Exception as exc:  # checker errors, protobuf decode errors
        return describe(exc)
    return ""


# -- running --------------------------------------------------------------------------------------


def _session(ort, data: bytes, provider: str):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: a provider that cannot load is reported by us
    return ort.InferenceSession(data, sess_options=opts, providers=[provider])


def _errors(got, want) -> tuple[float, float]:
    import numpy as np

    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf"), float("inf")
    diff = np.abs(got - want)
    return float(diff.max(initial=0.0)), float((diff / (np.abs(want) + 1e-6)).max(initial=0.0))


def run_provider(ort, data: bytes, provider: str, feeds_by_batch: list, reference: list | None) -> tuple[ProviderRun, list]:
    """One provider: load, detect a silent CPU fallback, run every batch, time, compare."""
    try:
        sess = _session(ort, data, provider)
    except Exception as exc:
        return ProviderRun(provider, "error", f"session failed: {_ort_error(exc)}"), []
    used = tuple(sess.get_providers())
    if provider not in used:
        why = ("onnxruntime-gpu could not load its CUDA/cuDNN libraries" if provider.startswith(("CUDA", "Tensorrt"))
               else "the provider did not initialise")
        return ProviderRun(provider, "fallback", f"ONNX Runtime silently fell back to {', '.join(used)}: {why}", providers_used=used), []
    outputs = []
    try:
        for feeds in feeds_by_batch:
            outputs.append(sess.run(None, feeds))
        timings = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            sess.run(None, feeds_by_batch[-1])
            timings.append((time.perf_counter() - start) * 1000)
    except Exception as exc:
        return ProviderRun(provider, "error", f"run failed: {_ort_error(exc)}", providers_used=used), []
    median = statistics.median(timings)
    if reference is None:
        return ProviderRun(provider, "pass", median_ms=median, providers_used=used), outputs
    worst_abs = worst_rel = 0.0
    for got, want in zip(outputs, reference):
        for g, w in zip(got, want):
            a, r = _errors(g, w)
            worst_abs, worst_rel = max(worst_abs, a), max(worst_rel, r)
    atol, rtol = TOLERANCE.get(provider, DEFAULT_TOLERANCE)
    ok = worst_abs <= atol or worst_rel <= rtol
    status = "pass" if ok else "mismatch"
    reason = "" if ok else f"max abs error {worst_abs:.3g} > {atol:g} and max rel error {worst_rel:.3g} > {rtol:g}"
    return ProviderRun(provider, status, reason, worst_abs, worst_rel, median, used), outputs


# "[ONNXRuntimeError] : 1 : FAIL : <source>:256 <C++ signature>) Unsupported ...": older releases
# (1.19, the newest on Python 3.9) put "Failed to load model with error: " before the source.
_ORT_NOISE = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ((?:[A-Z][^:/]*: )?)(?:\S+:\d+ \S.*?\) )?")


def _ort_error(exc: Exception) -> str:
    """One readable line: ORT's messages open with a source path and a C++ signature; drop them."""
    return f"{type(exc).__name__}: {_ORT_NOISE.sub(lambda m: m.group(1), first_line(str(exc)))}"[:300]


# -- the reference networks -------------------------------------------------------------------------


def check_reference(name: str, exporter: str, opset: int | None, requested: tuple = (), optimize: bool = False) -> ModelResult:
    import numpy as np
    import torch

    from envcheck.onnxcheck.reference import NETWORKS

    onnx, ort = _modules()
    model, shape = NETWORKS[name]()
    gen = torch.Generator().manual_seed(7)
    inputs = [torch.randn(b, *shape, generator=gen) for b in BATCHES]
    try:
        # torch.export specialises a dimension of size 1: export from a batch of 2 to keep it dynamic.
        data = export(model, torch.randn(2, *shape, generator=gen), exporter, opset, optimize)
    except Exception as exc:
        return ModelResult(name, exporter, "export_failed", _ort_error(exc))
    problem = check(onnx, data)
    if problem:
        return ModelResult(name, exporter, "check_failed", problem)
    with torch.no_grad():
        reference = [[model(x).numpy()] for x in inputs]
    feeds = [{"x": x.numpy().astype(np.float32)} for x in inputs]
    to_run, missing = providers_to_run(ort, requested)
    runs = [run_provider(ort, data, p, feeds, reference)[0] for p in to_run]
    runs += [ProviderRun(p, "unavailable", f"{p} is not among this onnxruntime's providers ({', '.join(ort.get_available_providers())})") for p in missing]
    return ModelResult(name, exporter, "ok", runs=tuple(runs))


# -- a user's model ----------------------------------------------------------------------------------

_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64", 16: "bfloat16"}


MAX_MODEL_BYTES = 2 << 30  # protobuf's limit for one message
MAX_INPUT_BYTES = 1 << 30  # all generated inputs of one run together


def _parse_or_fail(onnx, data: bytes, path: str) -> None:
    """A file that is not an ONNX model at all (empty, cut off, another format) is the user's error,
    one line; a model that parses but fails onnx.checker is a result."""
    if not data:
        raise UserError(f"--model {path}: the file is empty")
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise UserError(f"--model {path}: not an ONNX model ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise UserError(f"--model {path}: not an ONNX model (no graph in it)")


def _inputs(onnx, model, dims: dict) -> list:
    """(name, shape, numpy dtype) of each graph input that is not an initializer; inputs that would
    not fit in memory are refused before anything is allocated."""
    init = {i.name for i in model.graph.initializer}
    out = []
    for inp in model.graph.input:
        if inp.name in init:
            continue
        t = inp.type.tensor_type
        if not inp.type.HasField("tensor_type"):
            raise UserError(f"input {inp.name!r} is not a tensor: envcheck generates tensor inputs only")
        dtype = _DTYPES.get(t.elem_type)
        if dtype is None or dtype == "bfloat16":
            raise UserError(f"input {inp.name!r} has element type {t.elem_type}, which envcheck cannot generate")
        shape = []
        for d in t.shape.dim:
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(d.dim_value)
            else:
                shape.append(dims.get(d.dim_param, 1))
        out.append((inp.name, tuple(shape), dtype))
    total = sum(math.prod(s) * _ITEMSIZE.get(d, 8) for _, s, d in out)
    if total > MAX_INPUT_BYTES:
        shapes = ", ".join(f"{n} {'x'.join(map(str, s))}" for n, s, _ in out)
        symbolic = any(not (d.HasField("dim_value") and d.dim_value > 0) for i in model.graph.input for d in i.type.tensor_type.shape.dim)
        how = "give its symbolic dimensions smaller values with --dim NAME=VALUE" if symbolic else "envcheck generates no inputs that large"
        raise UserError(f"the model's inputs ({shapes[:200]}) would take {total / 2**30:.3g} GiB: {how}")
    return out


_ITEMSIZE = {"float32": 4, "uint8": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "bool": 1, "float16": 2, "float64": 8}


def _feed(spec: list, seed: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    feeds = {}
    for name, shape, dtype in spec:
        if dtype.startswith("float"):
            feeds[name] = rng.standard_normal(shape).astype(dtype)
        elif dtype == "bool":
            feeds[name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feeds[name] = rng.integers(0, 2, shape).astype(dtype)  # small values are safe as indices
    return feeds


def check_file(path: str, dims: dict, requested: tuple = ()) -> ModelResult:
    """A user's model: load, check, generate inputs from its declared shapes, run every provider,
    compare each with CPU."""
    onnx, ort = _modules()
    from envcheck.files import read_limited

    data = read_limited(path, MAX_MODEL_BYTES, f"--model {path}",
                        f"larger than {MAX_MODEL_BYTES >> 30} GiB, protobuf's limit for one ONNX file (external data is not read)")
    _parse_or_fail(onnx, data, path)
    problem = check(onnx, data)
    if problem:
        return ModelResult(path, "file", "check_failed", problem)
    model = onnx.load_from_string(data)
    spec = _inputs(onnx, model, dims)
    feeds = [_feed(spec, seed) for seed in (1, 2)]
    to_run, missing = providers_to_run(ort, requested)
    runs = []
    reference = None
    order = sorted(to_run, key=lambda p: p != "CPUExecutionProvider")  # CPU first: it is the reference
    for p in order:
        run, outputs = run_provider(ort, data, p, feeds, reference)
        if p == "CPUExecutionProvider" and run.status == "pass":
            reference = outputs
        runs.append(run)
    runs += [ProviderRun(p, "unavailable", f"{p} is not among this onnxruntime's providers") for p in missing]
    inputs = tuple((n, list(s), d) for n, s, d in spec)
    return ModelResult(path, "file", "ok", inputs=inputs, runs=tuple(runs))


def versions(with_torch: bool = True) -> tuple:
    """torch's, onnx's and ONNX Runtime's versions and the providers; torch is imported only when
    a child showed that it imports cleanly (`with_torch`)."""
    onnx, ort = _modules()
    tv = None
    if with_torch:
        try:
            import torch

            tv = torch.__version__
        except ImportError:
            tv = None
    return tv, onnx.__version__, ort.__version__, tuple(p for p in ort.get_available_providers() if p not in SKIP_PROVIDERS)
