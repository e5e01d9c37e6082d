"""A fake onnxruntime-gpu that wraps the real CPU build: sessions really run, on the CPU, while the
providers behave as the JSON spec at $FAKE_ORT_SPEC says onnxruntime-gpu behaves on a machine
whose CUDA or TensorRT libraries are missing.

With tests/fakes/onnxruntime on a child's PYTHONPATH, `import onnxruntime` gives this package;
tests/fakes/fake_ort.py installs it in-process too. The real package is found on sys.path past this
folder, or in $FAKE_ORT_SITE (a child run with -S has no site-packages).

Spec keys:
  version            __version__ (default: the real one's)
  providers          what get_available_providers() lists, e.g. Tensorrt, CUDA, CPU
  load               provider -> "ok" | "needs_preload" | "missing" (default "ok"):
                     needs_preload loads once torch is imported in the process or preload_dlls()
                     ran (the nvidia-* pip packages hold the libraries; nothing has loaded them)
  missing            provider -> the library its loader names (default libcublasLt.so.12,
                     libnvinfer.so.10 for TensorRT)
  raises             providers whose failure raises (ORT's Python layer then prints its fallback
                     banner to stdout and retries on its fallback providers); the others fall back
                     silently with only the C++ log on descriptor 2, as CUDA does
  cpu_nodes          providers that leave a node of any model on the CPU
  fails_running      providers whose first run raises EPFail (a CUDA error at run time): ORT's
                     Session.run then prints "EP Error: ... using [...]" to stdout and goes on
                     with its fallback providers
  preload_dlls       false: an onnxruntime older than 1.21, without preload_dlls()
  tf32_option        false: the CUDA provider has no use_tf32 option (it fails as ORT's option
                     parser fails, 'Unknown provider option: "use_tf32".')
"""

import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REAL_NAME = "_envcheck_real_onnxruntime"


def _real():
    """The real onnxruntime package, loaded under its own name and then put aside."""
    if _REAL_NAME in sys.modules:
        return sys.modules[_REAL_NAME]
    site = os.environ.get("FAKE_ORT_SITE")
    if site and site not in sys.path:
        sys.path.append(site)  # numpy, which onnxruntime imports, lives there too
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("onnxruntime", path)
    if spec is None:
        raise ImportError("the fake onnxruntime wraps the real CPU build, and none is installed")
    me = sys.modules[__name__]
    real = importlib.util.module_from_spec(spec)
    sys.modules["onnxruntime"] = real  # its own `from onnxruntime.capi import ...` must find it
    try:
        spec.loader.exec_module(real)
    finally:
        sys.modules["onnxruntime"] = me
    sys.modules[_REAL_NAME] = real
    return real


_REAL = _real()
with open(os.environ["FAKE_ORT_SPEC"]) as _fh:
    SPEC = json.load(_fh)

_C = importlib.import_module("onnxruntime.capi.onnxruntime_pybind11_state")  # the real one's, loaded above

__version__ = SPEC.get("version", _REAL.__version__)
__path__ = _REAL.__path__  # the real package's submodules (onnxruntime.capi, ...) stay importable
SessionOptions = _REAL.SessionOptions
_preloaded = []
_MISSING = {"CUDAExecutionProvider": "libcublasLt.so.12", "TensorrtExecutionProvider": "libnvinfer.so.10"}
_LIBRARY = {"CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "tensorrt"}


def __getattr__(name):  # everything the fake does not change is the real package's
    return getattr(_REAL, name)


def get_available_providers():
    return list(SPEC.get("providers", _REAL.get_available_providers()))


def _preload_dlls(cuda=True, cudnn=True, msvc=True, directory=None):
    _preloaded.append(True)


if SPEC.get("preload_dlls", True):
    preload_dlls = _preload_dlls


def _loads(provider):
    mode = SPEC.get("load", {}).get(provider, "ok")
    return mode == "ok" or (mode == "needs_preload" and ("torch" in sys.modules or bool(_preloaded)))


def _load_failure(provider):
    """ORT's loader error, worded as onnxruntime-gpu logs it (tests/fixtures/pastes/t_ort_cublaslt11_*.txt)."""
    lib = SPEC.get("missing", {}).get(provider, _MISSING.get(provider, "libcudart.so.12"))
    return ("/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1209 onnxruntime::Provider& "
            "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library "
            f"libonnxruntime_providers_{_LIBRARY.get(provider, 'cuda')}.so with error: {lib}: cannot open shared "
            "object file: No such file or directory")


def _log(severity, source, text):
    """A line of ORT's C++ log: written to descriptor 2, past Python's sys.stderr, as std::cerr writes."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S.000000000")
    os.write(2, f"{stamp} [{severity}:onnxruntime:Default, {source}] {text}\n".encode())


def _strict(sess_options):
    try:
        return sess_options is not None and sess_options.get_session_config_entry("session.disable_cpu_ep_fallback") == "1"
    except RuntimeError:  # "SessionOptions does not have configuration with key: ..."
        return False


class InferenceSession(_REAL.InferenceSession):
    """The real Python session class (its fallback banner included) over a fake provider layer: the
    real C++ session always runs on the CPU; the providers it reports are the spec's."""

    def _create_inference_session(self, providers, provider_options, disabled_optimizers=None):
        names = [p[0] if isinstance(p, tuple) else p for p in providers or []]
        given = dict(zip(names, provider_options)) if provider_options else {p[0]: p[1] for p in providers or [] if isinstance(p, tuple)}
        # as the real one chooses (onnxruntime_inference_collection.py, 1.32): TensorRT with CUDA falls back to CUDA
        both = "CUDAExecutionProvider" in names and "TensorrtExecutionProvider" in names
        self._fallback_providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if both else ["CPUExecutionProvider"]
        strict = _strict(self._sess_options)
        if strict and "CPUExecutionProvider" in names:  # ORT 1.32's own words (InvalidArgument)
            raise _C.InvalidArgument("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Conflicting session configuration: explicitly "
                                     "added the CPU EP to the session, but also disabled fallback to the CPU EP via session "
                                     "configuration options.")
        loaded = []
        for name in names:
            if name == "CPUExecutionProvider":
                continue
            options = {str(k): str(v) for k, v in given.get(name, {}).items()}
            if name == "CUDAExecutionProvider" and "use_tf32" in options and not SPEC.get("tf32_option", True):
                raise RuntimeError('[ONNXRuntimeError] : 1 : FAIL : provider_options_utils.h:146 onnxruntime::Status '
                                   'onnxruntime::ProviderOptionsParser::Parse(const ProviderOptions&) const Unknown provider option: "use_tf32".')
            if _loads(name):
                loaded.append((name, options))
            elif name in SPEC.get("raises", []):
                raise RuntimeError(_load_failure(name))
            else:
                _log("E", f"provider_bridge_ort.cc:1548 TryGetProviderInfo_{_LIBRARY.get(name, 'cuda').upper()}", _load_failure(name))
                _log("W", "onnxruntime_pybind_state.cc:861 CreateExecutionProviderInstance",
                     f"Failed to create {name}. Please reference https://onnxruntime.ai/docs/execution-providers/"
                     f"CUDA-ExecutionProvider.html#requirementsto ensure all dependencies are met.")
        if strict and (not loaded or any(name in SPEC.get("cpu_nodes", []) for name, _ in loaded)):
            raise _C.Fail("[ONNXRuntimeError] : 1 : FAIL : This session contains graph nodes that are assigned to the default "
                          "CPU EP, but fallback to CPU EP has been explicitly disabled by the user.")
        kept = self._sess_options
        if strict:  # the real session runs on the CPU: it must not refuse that
            self._sess_options = SessionOptions()
            self._sess_options.log_severity_level = kept.log_severity_level
        try:
            super()._create_inference_session(["CPUExecutionProvider"], None, disabled_optimizers)
        except BaseException:
            self._sess_options = kept
            raise
        self._providers = [name for name, _ in loaded] + ["CPUExecutionProvider"]
        defaults = {"CUDAExecutionProvider": {"device_id": "0", "use_tf32": "1"}}
        self._provider_options = {name: {**defaults.get(name, {}), **options} for name, options in loaded}
        self._provider_options["CPUExecutionProvider"] = {}
        failing = [name for name, _ in loaded if name in SPEC.get("fails_running", [])]
        if failing:
            self._sess = _FailsRunning(self._sess, failing[0])


class _FailsRunning:
    """The real C++ session, whose run() fails as a provider failing at run time fails."""

    def __init__(self, sess, provider):
        self._real, self._provider = sess, provider

    def __getattr__(self, name):
        return getattr(self._real, name)

    def run(self, *args, **kwargs):
        raise _C.EPFail(f"[ONNXRuntimeError] : 11 : EP_FAIL : {self._provider}: CUDA failure 2: out of memory")
