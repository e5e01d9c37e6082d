"""PyTorch, torchvision, torchaudio, onnx and ONNX Runtime as the TARGET interpreter sees them.

The facts come from a child process (`python torch_child.py`, the interpreter given by
`--python`), because importing torch can raise, abort, segfault or hang, and each of those is a
finding about the user's environment, never a crash of envcheck. The child inherits the user's
environment unchanged: PYTHONPATH, LD_LIBRARY_PATH and CUDA_VISIBLE_DEVICES decide what torch
loads and sees. This module never raises for anything torch does; it raises UserError only for a
--python that is not an interpreter at all.

Command line equivalent: `python -m torch.utils.collect_env`, or `python -c "import torch;
print(torch.__version__, torch.version.cuda, torch.cuda.is_available())"`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace

from envcheck.errors import UserError
from envcheck.probes import child_output, torch_child
from envcheck.probes.ort_load import beside_cpu
from envcheck.probes.torch_child import MARKER  # the child's answer line
from envcheck.probes.torch_spawn import ONNXRUNTIME, TORCH, spawn, take_early
from envcheck.snapshot.model import (
    OnnxRuntime,
    Package,
    ProviderLoad,
    Torch,
    TorchDevice,
    Unavailable,
    known,
)

PACKAGES = ("torchvision", "torchaudio", "onnx", "onnxruntime")
_STDERR_LINES = 12  # how much of the child's stderr a crash report carries


def read_torch(python: str = sys.executable, timeout: float = 60.0, env: dict | None = None) -> Torch:
    """Torch as `python` imports it; status ok | missing | import_failed | crashed | timeout."""
    return read_torch_and_packages(python, timeout, env)[0]


def read_torch_and_packages(
    python: str = sys.executable, timeout: float = 60.0, env: dict | None = None, tensorrt: bool = False
) -> tuple[Torch, tuple[Package, ...], OnnxRuntime]:
    """Two children at once: torch with the versions of its companion packages, and ONNX Runtime,
    which never imports torch there and tries a session on each provider beside the CPU's
    (TensorRT only with `tensorrt`): torch loads CUDA libraries that ONNX Runtime would then borrow.

    `env` replaces the children's whole environment (tests); None passes the user's own. Package
    versions come from installed metadata, so an import of torch that crashes loses them too: the
    packages are then () and ONNX Runtime's providers say why. An onnxruntime that crashes its own
    child costs only its providers, or only the sessions where they crashed it.
    """
    executable = _interpreter(python)
    early = take_early(executable) if env is None else None
    child_env = os.environ.copy() if env is None else dict(env)
    if early is not None:  # started by the entry point while the CLI stack was importing
        torch_proc, start = early
    else:
        start = time.monotonic()
        torch_proc = _start(executable, child_env)
    try:
        ort_proc = spawn(executable, child_env, ONNXRUNTIME + (("--tensorrt",) if tensorrt else ()))
    except OSError:
        ort_proc = None
    left = lambda: max(timeout - (time.monotonic() - start), 0.001)  # noqa: E731 - one deadline for both
    outcome = _wait(torch_proc, left())
    seconds = round(time.monotonic() - start, 3)
    ort_outcome = _wait(ort_proc, left()) if ort_proc is not None else None
    torch, packages, ort = _interpret(outcome, timeout, seconds)
    if torch.status in ("ok", "missing", "import_failed") and ort.installed:
        ort = _onnxruntime(ort, ort_outcome, timeout)
    return torch, packages, ort


def _onnxruntime(ort: OnnxRuntime, outcome, timeout: float) -> OnnxRuntime:
    """ONNX Runtime's version, providers and which of them load, as its own child read them."""
    if outcome is None:
        return replace(ort, providers=Unavailable("not_run", "the onnxruntime probe could not be started"))
    answer = _answer(outcome.stdout)
    if answer is None and outcome.timed_out:
        return replace(ort, providers=Unavailable("timeout", f"import onnxruntime did not finish within {timeout:g} s"))
    code, tail = outcome.returncode, _tail(outcome.stderr)
    how = f"killed by {_signal_name(-code)}" if code is not None and code < 0 else f"exit code {code}"
    if answer is None:
        why = f"importing onnxruntime ended the interpreter ({how})" + (f"; its last output:\n{tail}" if tail else "")
        return replace(ort, providers=Unavailable("crashed", why))
    providers = _providers(answer)
    if isinstance(answer.get("ort_loads"), list):
        loads = tuple(_provider_load(x) for x in answer["ort_loads"] if isinstance(x, dict) and x.get("provider"))
    elif answer.get("ort_loads_error"):
        loads = Unavailable("failed", f"trying a session failed: {_text(answer['ort_loads_error'])}")
    elif not known(providers) or not any(map(beside_cpu, providers)):
        loads = ()
    elif outcome.timed_out:
        loads = Unavailable("timeout", f"creating a session on each provider did not finish within {timeout:g} s")
    else:  # the first answer came, the whole one never did
        why = f"creating a session ended the interpreter ({how})" + (f"; its last output:\n{tail}" if tail else "")
        loads = Unavailable("crashed", why)
    return OnnxRuntime(ort.installed, _text(answer.get("ort_version")) or ort.version, providers, loads)


def _provider_load(raw: dict) -> ProviderLoad:
    loads = raw.get("loads")
    after = raw.get("after_preload")
    return ProviderLoad(
        provider=str(raw["provider"]),
        loads=loads if isinstance(loads, bool) else None,
        error=_text(raw.get("error")) or "",
        missing=tuple(str(m) for m in _list(raw.get("missing"))),
        after_preload=after if isinstance(after, bool) else None,
        torch_imported=raw.get("torch_imported") is True,
        note=_text(raw.get("note")) or "",
    )


def _providers(answer: dict):
    """The providers an answer lists, or why it lists none."""
    if isinstance(answer.get("ort_providers"), list):
        return tuple(str(p) for p in answer["ort_providers"])
    return Unavailable("import_failed", f"import onnxruntime failed: {_text(answer.get('ort_error')) or 'no answer'}")


def read_torch_here() -> tuple[Torch, tuple[Package, ...], OnnxRuntime]:
    """The same facts from this interpreter, in-process: for a process that has imported torch
    already and lives through it (a rank of `envcheck cluster`), where a child would only cost an
    import of torch per rank."""
    start = time.monotonic()
    answer = torch_child.collect()
    return _from_answer(answer, round(time.monotonic() - start, 3))


def _interpreter(python: str) -> str:
    """The path to run, or UserError: a bad --python is the user's mistake, not a finding."""
    found = python if os.sep in python or (os.altsep and os.altsep in python) else None
    if found is None:
        found = shutil.which(python)
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise UserError(f"--python {python}: not an executable Python interpreter")
    return found


def _start(executable: str, env: dict):
    """The torch child; a --python that cannot run is the user's mistake (UserError), not a finding."""
    try:
        return spawn(executable, env, TORCH)
    except OSError as exc:  # not found, not executable, not a program (ENOEXEC)
        raise UserError(f"--python {executable}: not an executable Python interpreter ({exc.strerror or exc})") from None


def _wait(proc: subprocess.Popen, timeout: float) -> child_output.Output:
    """The child's output, its size capped, read until it exits or the deadline (child_output.read)."""
    return child_output.read(proc, timeout)


def _interpret(outcome: child_output.Output, timeout: float, seconds: float) -> tuple[Torch, tuple, OnnxRuntime]:
    tail = _tail(outcome.stderr)
    if outcome.timed_out:
        why = f"import torch did not finish within {timeout:g} s"
        return _failed(Torch("timeout", why + (f"; its last output:\n{tail}" if tail else ""), seconds=seconds), why)
    answer = _answer(outcome.stdout)
    code = outcome.returncode
    if answer is not None:
        return _from_answer(answer, seconds)
    if code is not None and code < 0:
        why = f"the interpreter was killed by {_signal_name(-code)} while importing torch"
    elif MARKER in outcome.stdout:
        why = f"the probe's answer was unreadable (exit code {code})"
    else:
        why = f"the interpreter exited with code {code} without an answer"
    error = why + (f"; its last output:\n{tail}" if tail else "")
    return _failed(Torch("crashed", error, seconds=seconds), why)


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


def _tail(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-_STDERR_LINES:])


def _answer(stdout: str) -> dict | None:
    """The child's JSON line (the last one, should a sitecustomize echo ours), or None. The marker
    may follow text that something printed to the child's fd 1 before the answer."""
    for line in reversed(stdout.splitlines()):
        at = line.find(MARKER)
        if at >= 0:
            try:
                answer = json.loads(line[at + len(MARKER) :])
            except ValueError:
                return None
            return answer if isinstance(answer, dict) else None
    return None


def _failed(torch: Torch, why: str) -> tuple[Torch, tuple, OnnxRuntime]:
    return torch, (), OnnxRuntime(providers=Unavailable("probe_failed", f"not read: {why}"))


def _from_answer(answer: dict, seconds: float) -> tuple[Torch, tuple, OnnxRuntime]:
    status = answer.get("status")
    if status not in ("ok", "missing", "import_failed"):
        status = "import_failed"
    error = _text(answer.get("error")) or ""
    trace = _text(answer.get("traceback"))
    if status == "import_failed" and trace:
        lines = trace.splitlines()
        if lines and lines[-1].strip() == error:  # the traceback ends with the error itself
            lines = lines[:-1]
        error = "\n".join([error, *lines]).strip()
    if status == "ok":  # the calls that failed after a good import: a partial answer says which
        failed = answer.get("errors") if isinstance(answer.get("errors"), dict) else {}
        notes = [f"{key}: {text}" for key, text in failed.items()]
        notes += [f"device {d.get('index')}: {d['error']}" for d in _list(answer.get("devices")) if isinstance(d, dict) and d.get("error")]
        error = "; ".join(notes)
    devices = tuple(
        TorchDevice(index=_int(d.get("index"), i), name=_text(d.get("name")) or "", capability=_text(d.get("capability")) or "")
        for i, d in enumerate(_list(answer.get("devices")))
        if isinstance(d, dict)
    )
    torch = Torch(
        status=status,
        error=error,
        version=_text(answer.get("version")),
        cuda=_text(answer.get("cuda")),
        hip=_text(answer.get("hip")),
        cudnn=_int(answer.get("cudnn")),
        nccl=_text(answer.get("nccl")),
        cuda_available=answer.get("cuda_available") if isinstance(answer.get("cuda_available"), bool) else None,
        device_count=_int(answer.get("device_count")),
        arch_list=tuple(str(a) for a in _list(answer.get("arch_list"))),
        devices=devices,
        warnings=tuple(str(w) for w in _list(answer.get("warnings"))),
        loaded_libraries=tuple(str(p) for p in _list(answer.get("loaded_libraries"))),
        seconds=seconds,
        dist_version=_text(answer.get("dist_version")),
        installer=_text(answer.get("installer")),
    )
    reported = answer.get("packages") if isinstance(answer.get("packages"), dict) else {}
    packages = tuple(Package(name, _text(reported.get(name))) for name in PACKAGES)
    installed = tuple(str(d) for d in _list(answer.get("ort_distributions")))
    providers = _providers(answer) if installed else Unavailable("not_installed", "no onnxruntime distribution is installed")
    ort = OnnxRuntime(installed=installed, version=_text(answer.get("ort_version")), providers=providers)
    return torch, packages, ort


def _text(value) -> str | None:
    return None if value is None else str(value)


def _int(value, default=None):
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _list(value) -> list:
    return value if isinstance(value, list) else []
