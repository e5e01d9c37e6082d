"""ONNX Runtime checks: the CPU and GPU packages fight over one module; a GPU needs a GPU provider
that really loads, not one that is merely listed."""

from __future__ import annotations

from envcheck.checks.codes import finding
from envcheck.checks.commands import FixCommands, Pip
from envcheck.checks.findings import Finding, Fix
from envcheck.snapshot.model import Snapshot, known
from envcheck.versions import release_of

GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")
# onnxruntime.preload_dlls() and the [cuda,cudnn] extras, which install CUDA and cuDNN as nvidia-*
# pip packages, came in onnxruntime-gpu 1.21 (microsoft/onnxruntime#23659, #23674; #23744 made
# preload_dlls coexist with torch)
PRELOAD_SINCE = (1, 21)
PRELOAD = ("call onnxruntime.preload_dlls() before creating a session (it loads CUDA and cuDNN from the nvidia-* pip "
           "packages), or import torch first, whose CUDA libraries ONNX Runtime then uses")


def check_onnxruntime(s: Snapshot, tables, stack=None) -> list[Finding]:
    ort = s.onnxruntime
    out: list[Finding] = []
    commands = stack.commands
    if "onnxruntime" in ort.installed and "onnxruntime-gpu" in ort.installed:
        out.append(finding("onnxruntime-conflict", "", {"installed": list(ort.installed)}, commands=commands))
    gpus = s.driver.gpus
    if not (ort.installed and known(gpus) and gpus and known(ort.providers)):
        return out
    listed = [p for p in ort.providers if p in GPU_PROVIDERS]
    if not listed:
        variant = "provider-missing" if "onnxruntime-gpu" in ort.installed else "cpu-package"
        out.append(finding("onnxruntime-no-gpu", variant, {"providers": list(ort.providers)}, commands=commands,
                           version=f"{ort.version} " if ort.version else ""))
        return out
    tried = [x for x in (ort.loads if known(ort.loads) else ()) if x.provider in listed and x.loads is not None]
    if tried and not any(x.loads for x in tried):
        out.append(_does_not_load(ort, tried[0], commands))
    return out


def _does_not_load(ort, load, commands: FixCommands) -> Finding:
    """A GPU provider listed by get_available_providers() whose session ran on the CPU anyway."""
    missing = f" ({', '.join(load.missing)} not found)" if load.missing else ""
    fix = load_advice(load.provider, ort.version, load.after_preload, commands, load.missing)
    facts = {"provider": load.provider, "missing": list(load.missing), "error": load.error,
             "loads_after_preload_dlls": load.after_preload, "providers": list(ort.providers)}
    return finding("onnxruntime-no-gpu", "loads-after-preload" if load.after_preload else "does-not-load", facts,
                   fix=fix, why=load.error, missing_text=missing)


def load_advice(provider: str, version: str | None, after_preload: bool | None, commands: FixCommands,
                missing: tuple = ()) -> Fix:
    """The command that fixes it (or none) and what to do besides, for a provider that did not load
    in a process without torch, `missing` the libraries ORT could not open; pip's commands written
    by `commands`. Shared by doctor's finding and `envcheck onnx`'s verdicts."""
    if provider == "TensorrtExecutionProvider":
        return Fix(None, ("TensorRT is optional: the CUDA provider runs without it. To use it, install the TensorRT release "
                      "this onnxruntime-gpu was built for (ONNX Runtime's TensorRT requirements page)",))
    if provider != "CUDAExecutionProvider":
        return Fix(None, (f"{provider} needs libraries of its own: ONNX Runtime's page for that provider lists them",))
    if after_preload:
        return Fix(None, (f"the libraries are installed but nothing loads them: {PRELOAD}",))
    if not missing:
        return Fix(None, ("no library was missing: ONNX Runtime's own error says why the provider did not start "
                          "(a driver older than the CUDA it was built for is one cause)",))
    release = release_of(version or "")
    if release and tuple(int(p) for p in release.split(".")[:2]) >= PRELOAD_SINCE:
        return commands.fix(Pip(("install", f"onnxruntime-gpu[cuda,cudnn]=={release}")), (
            f"this installs the CUDA and cuDNN libraries onnxruntime-gpu {version} was built for, as pip packages; then {PRELOAD}",))
    older = f"onnxruntime-gpu {version}" if version else "this onnxruntime-gpu"
    return commands.fix(Pip(("install", "--upgrade", "onnxruntime-gpu[cuda,cudnn]")), (
        f"{older} has no preload_dlls(): 1.21 and later load CUDA and cuDNN from pip packages; after the upgrade, {PRELOAD}. "
        "Or keep it and put the CUDA and cuDNN versions that ONNX Runtime's requirements table gives for it on LD_LIBRARY_PATH",))
