"""The PyTorch probe's child: run as `python torch_child.py` by the TARGET interpreter.

It runs in the user's environment, not envcheck's, so it uses only the standard library and the
syntax of Python 3.7 (no walrus, no `from __future__ import annotations`, no f-string `=`). It
prints its answer to stdout as a line, MARKER followed by JSON, and nothing else there: whatever
torch prints goes to stderr, from Python or from C (fd 1 is pointed at fd 2), and a sitecustomize's
text printed before without a newline ends before the answer's line. The onnxruntime child (`--onnxruntime-only`) prints a
first answer before it tries sessions and a whole one after; the parent reads the last. Importing torch may raise, abort, segfault or hang; the
parent (probes/torch_probe.py) reads the last two from the exit status and its own deadline, and
every step after the import is guarded so that one failing call leaves a partial answer.

Command line equivalent: `python -c "import torch; print(torch.__version__, torch.version.cuda,
torch.cuda.is_available(), torch.cuda.get_arch_list())"`, or `python -m torch.utils.collect_env`.
"""

import json
import os
import re
import signal
import sys
import traceback
import warnings

MARKER = "ENVCHECK-TORCH-PROBE "

# Read by version only, never imported: importing torchvision alone costs a second on some boxes.
PACKAGES = ("torchvision", "torchaudio", "onnx", "onnxruntime")
ORT_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino")



def _sibling(*parts):
    """The names a module of envcheck defines, read by path: this script runs in the target
    interpreter, where envcheck may not be importable."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), *parts)
    scope = {"__name__": "envcheck_" + os.path.splitext(parts[-1])[0], "__file__": path}
    with open(path) as fh:
        exec(compile(fh.read(), path, "exec"), scope)
    return scope


def _cuda_libraries():
    return _sibling("cuda_libraries.py")["CUDA_LIBRARIES"]


# Basenames of the CUDA libraries worth naming, with whatever suffix the packager added:
# libcudart.so.12, libcudart-9335f6a2.so.12 (auditwheel), libcudnn_ops.so.9, libnvrtc-builtins.so;
# and torch's own CUDA parts and the driver's libcuda.
_LIBRARY = re.compile(r"^(" + "|".join(_cuda_libraries() + ("libtorch_cuda", "libc10_cuda", "libcuda")) + r")([-._]|$)")


def _version_reader():
    """A function name -> installed version or None, without importing the package.

    importlib.metadata exists from Python 3.8; on 3.7 fall back to the backport, then to
    pkg_resources (slow to import, but 3.7 environments are rare and old).
    """
    try:
        from importlib import metadata
    except ImportError:
        try:
            import importlib_metadata as metadata
        except ImportError:
            metadata = None
    if metadata is not None:

        def read(name):
            # Older importlib.metadata matches the dist-info name literally: try both spellings.
            for candidate in (name, name.replace("-", "_")):
                try:
                    return metadata.version(candidate)
                except Exception:
                    pass
            return None

        return read
    try:
        import pkg_resources
    except Exception:
        return lambda name: None

    def read_legacy(name):
        try:
            return pkg_resources.get_distribution(name).version
        except Exception:
            return None

    return read_legacy


def _installer_of(name):
    """Who installed a distribution (its INSTALLER file: pip, uv, conda), or None."""
    try:
        from importlib import metadata

        text = metadata.distribution(name).read_text("INSTALLER")
    except Exception:
        return None
    return text.strip() or None if text else None


def _error_text(exc):
    return f"{type(exc).__name__}: {exc}"


def _traceback_tail(limit=8):
    lines = traceback.format_exc().strip().splitlines()
    return "\n".join(lines[-limit:])


def _nccl_text(value):
    """torch.cuda.nccl.version(): a tuple (2, 19, 3) in torch >= 1.8, an int code before."""
    if isinstance(value, (tuple, list)):
        return ".".join(str(part) for part in value)
    if isinstance(value, int):
        # NCCL_VERSION_CODE: major*1000 + minor*100 + patch up to 2.8, major*10000 + ... since 2.9
        major, rest = divmod(value, 10000) if value >= 10000 else divmod(value, 1000)
        return f"{major}.{rest // 100}.{rest % 100}"
    return None if value is None else str(value)


def _loaded_libraries():
    """CUDA libraries this process has mapped, so that a cuDNN shadowed through
    LD_LIBRARY_PATH shows under its real path (Linux only: /proc/self/maps)."""
    found = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    path = parts[5].strip()
                    if _LIBRARY.match(os.path.basename(path)):
                        found.add(path)
    except (OSError, ValueError):
        return []
    return sorted(found)


def _guard(result, key, fn, convert=None):
    """result[key] = fn(), or leave the default and note the error: a partial answer, not a crash."""
    try:
        value = fn()
        result[key] = convert(value) if convert is not None else value
    except Exception as exc:
        result.setdefault("errors", {})[key] = _error_text(exc)


def _probe_torch(result):
    try:
        import torch
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            result["status"] = "missing"
            result["error"] = _error_text(exc)
            return
        result["status"] = "import_failed"
        result["error"] = _error_text(exc)
        result["traceback"] = _traceback_tail()
        return
    except BaseException as exc:  # ImportError, OSError from a bad .so, even SystemExit
        result["status"] = "import_failed"
        result["error"] = _error_text(exc)
        result["traceback"] = _traceback_tail()
        return

    result["status"] = "ok"
    _guard(result, "version", lambda: torch.__version__, str)
    _guard(result, "cuda", lambda: torch.version.cuda)
    _guard(result, "hip", lambda: getattr(torch.version, "hip", None))

    def cudnn():
        import torch.backends.cudnn

        return torch.backends.cudnn.version()

    def nccl():
        import torch.cuda.nccl

        return torch.cuda.nccl.version()

    _guard(result, "cudnn", cudnn)
    _guard(result, "cuda_available", lambda: torch.cuda.is_available(), bool)
    _guard(result, "device_count", lambda: torch.cuda.device_count(), int)
    _guard(result, "arch_list", lambda: torch.cuda.get_arch_list(), list)
    # NCCL after is_available(): on a CPU build or without a driver it may raise, and that is fine.
    if result.get("cuda"):
        _guard(result, "nccl", nccl, _nccl_text)

    devices = []
    for index in range(result.get("device_count") or 0):
        device = {"index": index, "name": None, "capability": None}
        try:
            device["name"] = str(torch.cuda.get_device_name(index))
            major, minor = torch.cuda.get_device_capability(index)
            device["capability"] = f"{int(major)}.{int(minor)}"
        except Exception as exc:
            device["error"] = _error_text(exc)
        devices.append(device)
    result["devices"] = devices


def _probe_onnxruntime(result, distributions):
    """Providers need the import; done last and only where a distribution is installed."""
    if not distributions:
        return
    try:
        import onnxruntime

        result["ort_version"] = str(getattr(onnxruntime, "__version__", "")) or None
        result["ort_providers"] = list(onnxruntime.get_available_providers())
    except BaseException as exc:
        result["ort_error"] = _error_text(exc)


def collect(onnxruntime=True):
    """The whole answer, as a dict. `envcheck cluster` calls this inside each rank, whose
    interpreter has imported torch already. doctor runs it in a child through main() without
    onnxruntime (`--no-onnxruntime`), which a second child reads at the same time
    (`--onnxruntime-only`): importing it after torch cost 60 ms more than beside it, and an
    onnxruntime that kills its interpreter then loses only its own part."""
    result = {
        "status": "import_failed",
        "error": "",
        "version": None,
        "cuda": None,
        "hip": None,
        "cudnn": None,
        "nccl": None,
        "cuda_available": None,
        "device_count": None,
        "arch_list": [],
        "devices": [],
        "warnings": [],
        "loaded_libraries": [],
        "python": ".".join(str(part) for part in sys.version_info[:3]),
    }
    version_of = _version_reader()
    result["packages"] = dict((name, version_of(name)) for name in PACKAGES)
    # What pip sees installed, even if the import below fails: an input of doctor's fix.
    result["dist_version"] = version_of("torch")
    result["installer"] = _installer_of("torch")
    installed = [name for name in ORT_DISTRIBUTIONS if version_of(name) is not None]
    result["ort_distributions"] = installed
    result["ort_version"] = next((version_of(name) for name in installed), None)
    result["ort_providers"] = None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the default filter shows a repeated message only once
        try:
            _probe_torch(result)
        except BaseException as exc:  # a bug here must still produce an answer
            result["status"] = "import_failed"
            result["error"] = "probe error: " + _error_text(exc)
    seen = []
    for item in caught:
        text = str(item.message).strip()
        if text and text not in seen:
            seen.append(text)
    result["warnings"] = seen
    result["loaded_libraries"] = _loaded_libraries()

    if onnxruntime:
        _probe_onnxruntime(result, installed)
    return result


def collect_onnxruntime(answer, tensorrt=False):
    """Only ONNX Runtime, in a process that never imports torch: its installed distributions,
    version and providers, then whether each provider beside the CPU's really loads
    (probes/ort_load.py). `answer(result)` is called with the first part before the sessions are
    tried, and again at the end: a provider whose loading kills the interpreter loses only that."""
    version_of = _version_reader()
    installed = [name for name in ORT_DISTRIBUTIONS if version_of(name) is not None]
    result = {"ort_distributions": installed, "ort_version": next((version_of(name) for name in installed), None), "ort_providers": None}
    _probe_onnxruntime(result, installed)
    if not result.get("ort_providers"):
        return answer(result)
    answer(result)
    try:
        import onnxruntime

        result["ort_loads"] = _sibling("probes", "ort_load.py")["provider_loads"](onnxruntime, result["ort_providers"], tensorrt)
    except BaseException as exc:
        result["ort_loads_error"] = _error_text(exc)
    answer(result)


def _die_with_parent():
    """Linux: the kernel kills this probe when envcheck ends, however it ends (Ctrl-C while the probe
    is starting, a kill -9): an import of torch that hangs must never outlive the one who asked.
    The probe runs in a session of its own, where the terminal's SIGINT does not reach it."""
    parent = os.environ.get("ENVCHECK_PROBE_PARENT", "")
    if not sys.platform.startswith("linux") or not parent.isdecimal():
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        return
    if os.getppid() != int(parent):  # envcheck ended before the line above took effect
        os._exit(1)


def _answer_stream():
    """A private copy of stdout for the answer lines; fd 1 itself then points at stderr, so that
    whatever torch prints, from Python or from C, and whatever it starts, never mixes with them."""
    sys.stdout.flush()  # what a sitecustomize printed goes before the answer
    try:
        private = os.dup(1)  # not inherited by what torch starts (PEP 446)
        os.dup2(2, 1)
        stream = os.fdopen(private, "w", encoding="utf-8")
    except OSError:
        stream = sys.stdout
    sys.stdout = sys.stderr
    return stream


def main():
    _die_with_parent()
    # Running a script puts its own directory first on sys.path; envcheck's probe modules must
    # never shadow what torch imports.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]

    stdout = _answer_stream()

    def answer(result):
        # on a line of its own, whatever a sitecustomize printed before without a newline
        stdout.write("\n" + MARKER + json.dumps(result) + "\n")
        stdout.flush()

    if "--onnxruntime-only" in sys.argv[1:]:
        collect_onnxruntime(answer, tensorrt="--tensorrt" in sys.argv[1:])
    else:
        answer(collect(onnxruntime="--no-onnxruntime" not in sys.argv[1:]))


if __name__ == "__main__":
    main()
