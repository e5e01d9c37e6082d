"""Export, check, run under each ONNX Runtime provider, compare: the work of `envcheck onnx`.

Every step records its own failure as data (a provider that cannot load, an export that raises,
an op ORT lacks) so one broken piece never hides the others' results.
"""

from __future__ import annotations

import io
import logging
import math
import os
import statistics
import sys
import time
import warnings

from envcheck import shell
from envcheck.checks.commands import FixCommands
from envcheck.checks.onnxruntime import load_advice
from envcheck.errors import UserError, describe
from envcheck.files import read_limited
from envcheck.onnxcheck.reference import NETWORKS
from envcheck.onnxcheck.report import ModelResult, OnnxReport, ProviderRun
from envcheck.probes import ort_load

__all__ = ["ModelResult", "OnnxReport", "ProviderRun", "check_file", "check_reference", "modules", "providers_to_run", "versions"]

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
# fp32 compared as fp32: the CUDA provider's use_tf32 (default 1) lets cuBLAS and cuDNN round the
# inputs of fp32 matmuls and convolutions to TF32's 10-bit mantissa on Ampere and newer GPUs, and the
# tolerances above are fp32's.
OPTIONS = {"CUDAExecutionProvider": {"use_tf32": "0"}}
NO_OPTION = {"use_tf32": "this onnxruntime's CUDA provider has no use_tf32 option: on Ampere and newer GPUs its fp32 "
                         "results may be TF32's, judged with fp32's tolerance"}
# ORT's words when session.disable_cpu_ep_fallback=1 refuses a session: "This session contains graph
# nodes that are assigned to the default CPU EP, but fallback to CPU EP has been explicitly disabled by the user."
CPU_NODES_REFUSED = "assigned to the default CPU EP"


def modules():
    """onnx and onnxruntime, or one line saying which to install."""
    try:
        import onnx  # optional: onnx is an extra
        import onnxruntime  # optional: onnxruntime is an extra
    except ImportError as exc:
        raise UserError(f"envcheck onnx needs onnx and onnxruntime ({exc.name} is missing): pip install 'envcheck[onnx]'") from exc
    return onnx, onnxruntime


def providers_to_run(ort, requested: tuple) -> tuple[list, list, dict]:
    """(available providers to run, requested ones this onnxruntime does not have, provider -> why
    it is not run). TensorRT runs only when asked for: it is optional, onnxruntime-gpu lists it
    without TensorRT installed, and where it is installed building its engines takes long."""
    available = [p for p in ort.get_available_providers() if p not in ort_load.NOT_LOCAL]
    if requested:
        return [p for p in requested if p in available], [p for p in requested if p not in available], {}
    not_run = {p: ort_load.TENSORRT_NOTE for p in available if p == ort_load.TENSORRT}
    return [p for p in available if p not in not_run], [], not_run


# -- exporting ------------------------------------------------------------------------------------


def export(model, sample, exporter: str, opset: int | None, optimize: bool = False) -> bytes:
    """The model as ONNX bytes, with a dynamic batch axis on input and output.

    The dynamo exporter's ONNX optimizer pass is skipped unless asked for (`--optimize`): it halves
    the check's time (benchmarks/RESULTS.md) and neither validity nor the outputs depend on it.
    """
    import torch  # optional: torch is an extra, imported only where it runs

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


def _open(ort, data: bytes, provider: str):
    """(session or None, the providers ORT gave it, the exception, what ORT printed, the options
    ORT took, a note). An onnxruntime older than an option refuses it ('Unknown provider option:
    "use_tf32".', ORT's provider_options_utils.h), or falls back to the CPU over it: the session is
    then opened without it, and the note says what that means."""
    wanted = dict(OPTIONS.get(provider, {}))
    sess, used, error, printed = ort_load.try_provider(ort, provider, data, wanted)
    unknown = [k for k in wanted if f'Unknown provider option: "{k}"' in printed + str(error or "")]
    if unknown:
        wanted = {k: v for k, v in wanted.items() if k not in unknown}
        sess, used, error, printed = ort_load.try_provider(ort, provider, data, wanted)
    taken = {}
    if sess is not None and provider in used and wanted:
        reported = sess.get_provider_options().get(provider, {}) if hasattr(sess, "get_provider_options") else {}
        taken = {k: str(reported[k]) for k in wanted if k in reported}
    return sess, tuple(used), error, printed, taken, "; ".join(NO_OPTION[k] for k in unknown)


def _errors(got, want) -> tuple[float, float]:
    import numpy as np  # optional: numpy comes with the onnx extra

    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf"), float("inf")
    diff = np.abs(got - want)
    return float(diff.max(initial=0.0)), float((diff / (np.abs(want) + 1e-6)).max(initial=0.0))


def run_provider(ort, data: bytes, provider: str, feeds_by_batch: list, reference: list | None,
                 alone=None) -> tuple[ProviderRun, list]:
    """One provider: open its session (what ORT prints meanwhile never reaches envcheck's stdout; it
    becomes the reason), detect a silent CPU fallback, run every batch, time, compare; then ask
    whether some nodes ran on the CPU, and set the result beside `alone`, the provider as the
    torch-free child found it (snapshot.ProviderLoad)."""
    sess, used, error, printed, options, note = _open(ort, data, provider)
    if sess is None:
        return ProviderRun(provider, "error", f"session failed: {_ort_error(error)}"), []
    if provider not in used:
        why = _not_loaded(provider, used, ort_load.ort_said(printed, error), ort_load.missing_libraries(printed), alone, ort.__version__)
        return ProviderRun(provider, "fallback", why, providers_used=used), []

    def run_all():
        outputs = [sess.run(None, feeds) for feeds in feeds_by_batch]
        timings = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            sess.run(None, feeds_by_batch[-1])
            timings.append((time.perf_counter() - start) * 1000)
        return outputs, timings

    # A provider that fails while running makes ORT's Python layer print "EP Error: ... using [...]"
    # and go on with its fallback providers (Session.run): that is caught here too.
    done, error, printed = ort_load.run_captured(run_all)
    if error is not None:
        return ProviderRun(provider, "error", f"run failed: {_ort_error(error)}", providers_used=used), []
    if provider not in sess.get_providers():
        used = tuple(sess.get_providers())
        return ProviderRun(provider, "fallback", f"{provider} failed while running and ONNX Runtime went on with {', '.join(used)}: "
                           f"{ort_load.ort_said(printed)}", providers_used=used), []
    outputs, timings = done
    median = statistics.median(timings)
    worst_abs = worst_rel = None
    status, reason = "pass", ""
    if reference is not None:
        worst_abs = worst_rel = 0.0
        for got, want in zip(outputs, reference):
            for g, w in zip(got, want):
                a, r = _errors(g, w)
                worst_abs, worst_rel = max(worst_abs, a), max(worst_rel, r)
        atol, rtol = TOLERANCE.get(provider, DEFAULT_TOLERANCE)
        if not (worst_abs <= atol or worst_rel <= rtol):
            status, reason = "mismatch", f"max abs error {worst_abs:.3g} > {atol:g} and max rel error {worst_rel:.3g} > {rtol:g}"
    cpu_nodes = None if provider == ort_load.CPU else _cpu_nodes(ort, data, provider, options)
    if status == "pass" and alone is not None and alone.loads is False and "torch" in sys.modules:
        status, reason = "torch_only", _torch_only(provider, alone, ort.__version__)
    reason = "; ".join(filter(None, (reason, note)))
    return ProviderRun(provider, status, reason, worst_abs, worst_rel, median, used, cpu_nodes, options), outputs


def _cpu_nodes(ort, data: bytes, provider: str, options: dict) -> bool | None:
    """Whether ORT placed some nodes on the CPU inside a session on `provider`: a second session with
    session.disable_cpu_ep_fallback=1 is refused exactly then. ORT does it on purpose for shape
    computations; a node without a kernel on the provider lands there too. None: that session
    failed for another reason, or this onnxruntime has no such setting."""
    try:
        sess, used, error, printed = ort_load.try_provider(ort, provider, data, options, strict=True)
    except Exception:  # SessionOptions without add_session_config_entry
        return None
    if sess is not None and provider in used:
        return False
    return True if CPU_NODES_REFUSED in printed + str(error or "") else None


def _not_loaded(provider: str, used: tuple, said: str, missing: list, alone, version: str) -> str:
    """Why a session asked for `provider` ran elsewhere: what ORT printed (its loader's error, or
    the banner of its Python layer), else what the torch-free child heard, and what to do."""
    missing = missing or list(alone.missing if alone is not None else ())
    said = said or (alone.error if alone is not None else "")
    fix, notes = _advice(provider, version, alone.after_preload if alone is not None else None, tuple(missing))
    lost = f" ({', '.join(missing)} not found)" if missing else ""
    parts = [f"ONNX Runtime could not load {provider}{lost} and ran the model on {', '.join(used) or 'nothing'} instead",
             f"it said: {said}" if said and not missing else "", f"fix: {fix}" if fix else "", *notes]
    return "; ".join(filter(None, parts))


def _torch_only(provider: str, alone, version: str) -> str:
    fix, notes = _advice(provider, version, alone.after_preload, alone.missing)
    lost = f" ({', '.join(alone.missing)} not found)" if alone.missing else ""
    parts = [f"{provider} loaded here only because envcheck had imported torch, whose CUDA libraries it borrowed; "
             f"without torch it does not load{lost} and the model runs on the CPU", f"fix: {fix}" if fix else "", *notes]
    return "; ".join(filter(None, parts))


def _advice(provider: str, version: str, after_preload, missing: tuple) -> tuple:
    """load_advice for this machine's shell and the Python running envcheck (the one `onnx` tested)."""
    fix = load_advice(provider, version, after_preload, FixCommands(shell.CMD if os.name == "nt" else shell.POSIX), missing)
    return fix.command, fix.notes


def _ort_error(exc: Exception) -> str:
    """One readable line: ORT's messages open with a source path and a C++ signature; drop them."""
    return f"{type(exc).__name__}: {ort_load.one_line(exc)}"[:300]


# -- the reference networks -------------------------------------------------------------------------


def check_reference(name: str, exporter: str, opset: int | None, requested: tuple = (), optimize: bool = False,
                    alone: dict | None = None) -> ModelResult:
    """A reference network: export, check, run under each provider, compare with PyTorch. `alone`:
    provider -> snapshot.ProviderLoad, from the child that never imported torch."""
    import numpy as np  # optional: numpy comes with the onnx extra
    import torch  # optional: torch is an extra, imported only where it runs

    onnx, ort = modules()
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
    to_run, missing, _ = providers_to_run(ort, requested)
    runs = [run_provider(ort, data, p, feeds, reference, (alone or {}).get(p))[0] for p in to_run]
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
    import numpy as np  # optional: numpy comes with the onnx extra

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


def check_file(path: str, dims: dict, requested: tuple = (), alone: dict | None = None) -> ModelResult:
    """A user's model: load, check, generate inputs from its declared shapes, run every provider,
    compare each with CPU. `alone` as for check_reference."""
    onnx, ort = modules()
    data = read_limited(path, MAX_MODEL_BYTES, f"--model {path}",
                        f"larger than {MAX_MODEL_BYTES >> 30} GiB, protobuf's limit for one ONNX file (external data is not read)")
    _parse_or_fail(onnx, data, path)
    problem = check(onnx, data)
    if problem:
        return ModelResult(path, "file", "check_failed", problem)
    model = onnx.load_from_string(data)
    spec = _inputs(onnx, model, dims)
    feeds = [_feed(spec, seed) for seed in (1, 2)]
    to_run, missing, _ = providers_to_run(ort, requested)
    runs = []
    reference = None
    order = sorted(to_run, key=lambda p: p != "CPUExecutionProvider")  # CPU first: it is the reference
    for p in order:
        run, outputs = run_provider(ort, data, p, feeds, reference, (alone or {}).get(p))
        if p == "CPUExecutionProvider" and run.status == "pass":
            reference = outputs
        runs.append(run)
    runs += [ProviderRun(p, "unavailable", f"{p} is not among this onnxruntime's providers") for p in missing]
    inputs = tuple((n, list(s), d) for n, s, d in spec)
    return ModelResult(path, "file", "ok", inputs=inputs, runs=tuple(runs))


def versions(torch_version: str | None) -> tuple:
    """torch's version as the torch child read it, onnx's and ONNX Runtime's, and the providers.
    This process imports torch only to export a reference network: a run of a user's model stays
    without torch, as a deployment may, since torch's CUDA libraries change what ONNX Runtime loads."""
    onnx, ort = modules()
    return torch_version, onnx.__version__, ort.__version__, tuple(p for p in ort.get_available_providers() if p not in ort_load.NOT_LOCAL)
