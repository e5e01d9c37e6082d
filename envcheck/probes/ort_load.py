"""Which ONNX Runtime execution providers really load, asked of the process that runs this.

onnxruntime.get_available_providers() lists every provider compiled into the package, also one whose
libraries (CUDA, cuDNN, TensorRT) are missing. A session asked for such a provider is then made on
the CPU, and ORT says so only in a log line on stderr ("Failed to load library
libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file",
tests/fixtures/pastes/t_ort_*.txt), or, where the provider raised, in a banner its Python layer
prints to stdout ("EP Error ... when using [...]" / "Falling back to [...] and retrying.",
InferenceSession.__init__ in onnxruntime/python/onnxruntime_inference_collection.py). The one sure
test is a session whose get_providers() is read back. This module makes one on a tiny model built
here (no file, no `onnx` package) and turns what ORT printed meanwhile into the names of the
libraries it could not open.

Standard library only, Python 3.7 syntax: probes/torch_child.py runs it by path in the target
interpreter, in the onnxruntime child that never imports torch; `envcheck onnx` imports it to open
its own sessions the same way.
"""

import io
import os
import re
import sys

CPU = "CPUExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
# Not a device of this machine: a provider that forwards the model to a remote endpoint.
NOT_LOCAL = ("AzureExecutionProvider",)
TENSORRT_NOTE = ("not tried: TensorRT is optional and building its engines is slow; "
                 "`envcheck onnx --provider TensorrtExecutionProvider` tries it")

# ONNX's IR version 7 (onnx 1.7) and opset 13: every onnxruntime since 1.7 reads both. onnx's own
# helper writes its newest IR version, which an older onnxruntime refuses (onnx 1.23 wrote IR 14 on
# the H200 machine, whose onnxruntime 1.30 read at most 13).
IR_VERSION = 7
OPSET = 13


def _varint(n):
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            return bytes(out)


def _field(number, value):
    """One protobuf field: an int as a varint, text or bytes length-delimited."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode("utf-8") if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def beside_cpu(provider):
    """A provider worth a session of its own: a local device other than the CPU."""
    return provider != CPU and provider not in NOT_LOCAL


def tiny_model():
    """y = Relu(x) for x float[1, 4], as ONNX bytes. Field numbers of onnx/onnx.proto: ModelProto
    ir_version 1, producer_name 2, graph 7, opset_import 8 (OperatorSetIdProto version 2);
    GraphProto node 1, name 2, input 11, output 12; NodeProto input 1, output 2, op_type 4;
    ValueInfoProto name 1, type 2; TypeProto tensor_type 1; its Tensor elem_type 1 (FLOAT is 1),
    shape 2; TensorShapeProto dim 1; Dimension dim_value 1."""

    def value(name):
        shape = b"".join(_field(1, _field(1, d)) for d in (1, 4))
        return _field(1, name) + _field(2, _field(1, _field(1, 1) + _field(2, shape)))

    node = _field(1, "x") + _field(2, "y") + _field(4, "Relu")
    graph = _field(1, node) + _field(2, "envcheck") + _field(11, value("x")) + _field(12, value("y"))
    return _field(1, IR_VERSION) + _field(2, "envcheck") + _field(7, graph) + _field(8, _field(2, OPSET))


def run_captured(fn):
    """(fn()'s result or None, its exception or None, all it printed). ORT prints its fallback
    banner with print() and logs from C++ straight to file descriptor 2, so both Python's streams
    and descriptors 1 and 2 are redirected while fn runs: nothing reaches envcheck's stdout, where
    `--json` must be one JSON document from its first byte."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or odd stream must not stop the probe
            pass
    import tempfile  # here: doctor imports this module at start-up, and tempfile costs milliseconds

    python_streams = sys.stdout, sys.stderr
    printed = io.StringIO()
    result = error = None
    with tempfile.TemporaryFile() as sink:
        saved = []
        try:
            for fd in (1, 2):
                copy = os.dup(fd)
                saved.append((fd, copy))
                os.dup2(sink.fileno(), fd)
        except OSError:  # no such descriptor (pythonw): Python's streams are still caught
            pass
        sys.stdout = sys.stderr = printed
        try:
            result = fn()
        except Exception as exc:
            error = exc
        finally:
            sys.stdout, sys.stderr = python_streams
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
        sink.seek(0)
        text = printed.getvalue() + sink.read().decode("utf-8", "replace")
    return result, error, text


def try_provider(ort, provider, model, options=None, strict=False):
    """A session on `model` asked for `provider` alone: (session or None, the providers ORT gave it,
    the exception, what ORT printed). `strict` sets the session config entry
    session.disable_cpu_ep_fallback=1, under which ORT refuses a session that would place any node
    on the CPU ("This session contains graph nodes that are assigned to the default CPU EP, but
    fallback to CPU EP has been explicitly disabled by the user."). The CPU provider is never in the
    list: with that setting ORT refuses it ("Conflicting session configuration")."""
    so = ort.SessionOptions()
    so.log_severity_level = 3  # the session's own log: errors only; provider loading logs apart
    if strict:
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    entry = (provider, dict(options)) if options else provider
    session, error, text = run_captured(lambda: ort.InferenceSession(model, sess_options=so, providers=[entry]))
    used = list(session.get_providers()) if session is not None else []
    return session, used, error, text


# The library a loader could not open: Linux's dlopen error, as ORT repeats it ("...with error:
# libcublasLt.so.11: cannot open shared object file: No such file or directory"), and on Windows
# "... depends on "cublasLt64_13.dll" which is missing" (as a public note quotes onnxruntime-gpu
# 1.30's stderr; not checked against ORT's source).
_MISSING = (re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file"),
            re.compile(r'depends on "?([\w.+-]+\.dll)"? which is missing'))
# ORT colours its log lines ("\x1b[1;31m... [E:onnxruntime:, inference_session.cc:3303 operator()] ...\x1b[m").
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# One line of ORT's log: "2024-03-27 06:33:23.219728338 [E:onnxruntime:Default, provider_bridge_ort.cc:1548 TryGetProviderInfo_CUDA] ..."
_LOG_LINE = re.compile(r"^.*?\[([EWF]):onnxruntime:[^\]]*\]\s*(.*)$")
# The banner's error (1.19 and later: "EP Error {e} when using {providers}"; earlier "EP Error: {e} using ...").
_BANNER = re.compile(r"^EP Error:? (.+?)\s+(?:when )?using \[", re.S | re.M)
# "[ONNXRuntimeError] : 1 : FAIL : <source>:256 <C++ signature>) Unsupported ...": older releases
# (1.19, the newest on Python 3.9) put "Failed to load model with error: " before the source.
_NOISE = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ((?:[A-Z][^:/]*: )?)(?:\S+:\d+ \S.*?\) )?")


def one_line(text):
    """ORT's message as one readable line: its first line, without the source path and C++
    signature it opens with, at most 300 characters."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return _NOISE.sub(lambda m: m.group(1), lines[0] if lines else "")[:300]


def missing_libraries(text):
    """The libraries ORT's loader could not open, in the order it named them."""
    found = []
    for pattern in _MISSING:
        for name in pattern.findall(_ANSI.sub("", text)):
            if name not in found:
                found.append(name)
    return found


def ort_said(text, error=None):
    """ORT's own words for why a provider did not load, as one line: its loader's error, else the
    error in its fallback banner, else the exception, else the first error or warning it logged."""
    text = _ANSI.sub("", text)
    for line in text.splitlines():
        at = line.find("Failed to load library")
        if at >= 0:
            return line[at:].split(" when using [")[0].strip()[:300]
    banner = _BANNER.search(text)
    if banner:
        return one_line(banner.group(1))
    if error is not None:
        return one_line(error) or type(error).__name__
    for line in text.splitlines():
        logged = _LOG_LINE.match(line)
        if logged:
            return one_line(logged.group(2))
    return ""


def provider_loads(ort, providers, tensorrt=False):
    """For each provider of `providers` that is a local device beside the CPU: does a session on it
    really use it? One dict per provider (JSON for the probe's parent): provider, loads (None: not
    tried, with a note), and where it does not load ORT's error, the missing libraries and whether
    onnxruntime.preload_dlls() makes it load. TensorRT only when `tensorrt`."""
    model = tiny_model()
    out = []
    for provider in filter(beside_cpu, providers):
        if provider == TENSORRT and not tensorrt:
            out.append({"provider": provider, "loads": None, "note": TENSORRT_NOTE})
            continue
        out.append(_provider_load(ort, provider, model))
    return out


def _provider_load(ort, provider, model):
    answer = {"provider": provider, "torch_imported": "torch" in sys.modules}
    try:
        _, used, error, text = try_provider(ort, provider, model)
    except Exception as exc:  # an onnxruntime without SessionOptions or InferenceSession
        answer.update(loads=None, note="could not try: {}: {}".format(type(exc).__name__, one_line(exc)))
        return answer
    answer["loads"] = provider in used
    if answer["loads"]:
        return answer
    answer["error"] = ort_said(text, error)
    answer["missing"] = missing_libraries(text + "\n" + str(error or ""))
    # onnxruntime 1.21 and later: preload_dlls() loads CUDA and cuDNN from the nvidia-* pip
    # packages, as `import torch` does for its own (microsoft/onnxruntime#23674, #23744)
    if provider == CUDA and callable(getattr(ort, "preload_dlls", None)):
        _, preload_error, _ = run_captured(ort.preload_dlls)
        if preload_error is None:
            _, used, _, _ = try_provider(ort, provider, model)
            answer["after_preload"] = provider in used
    return answer
