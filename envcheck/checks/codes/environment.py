"""Finding codes about the Python environment around torch (pip's index, ONNX Runtime, NCCL) and
about errors of the program rather than the environment: code -> (area, when, {variant: words}).
Variants named after a row of compat/error_signatures.toml hold the words for that error message;
their causes come from the thread the row cites."""

from __future__ import annotations

from envcheck.checks.commands import Pip

_NO_PROVIDER = "ONNX Runtime {version}has no GPU execution provider although this machine has NVIDIA GPUs"

CODES = {
    "mirror": ("python", "which index and mirror pip uses (information only)", {
        "default": dict(severity="info", summary="pip uses the default index (no mirror)"),
        "named": dict(severity="info", summary="pip uses the {mirror} mirror ({index_url})"),
        "index": dict(severity="info", summary="pip uses the index {index_url}"),
    }),
    "onnxruntime-conflict": ("onnxruntime", "`onnxruntime` and `onnxruntime-gpu` installed together", {
        "": dict(severity="error", summary="onnxruntime and onnxruntime-gpu are both installed: they overwrite each other's files",
                 fix=Pip(("uninstall", "-y", "onnxruntime", "onnxruntime-gpu"), ("install", "onnxruntime-gpu"))),
    }),
    "onnxruntime-no-gpu": ("onnxruntime", "an NVIDIA GPU is present but no GPU execution provider can load (none listed, or the "
                                          "listed ones fail to load in a session: the missing library named)", {
        "cpu-package": dict(severity="warn", summary=_NO_PROVIDER, cause="the onnxruntime package is CPU-only",
                            fix=Pip(("uninstall", "-y", "onnxruntime"), ("install", "onnxruntime-gpu"))),
        "provider-missing": dict(severity="warn", summary=_NO_PROVIDER,
                                 cause="onnxruntime-gpu is installed but its CUDA provider cannot load (missing CUDA/cuDNN "
                                       "libraries of the version it was built for)"),
        "loads-after-preload": dict(severity="warn", summary="ONNX Runtime lists {provider} but cannot load it on its own{missing_text}: "
                                                             "it loads only after onnxruntime.preload_dlls()"),
        "does-not-load": dict(severity="warn", summary="ONNX Runtime lists {provider} but cannot load it{missing_text}: every "
                                                       "session runs on the CPU"),
        "ort-cuda-provider-library": dict(
            severity="error", summary="ONNX Runtime's CUDA provider library did not load",
            cause="onnxruntime-gpu needs the CUDA and cuDNN major versions it was built for; an onnxruntime-gpu built for the "
                  "installed CUDA fixes it (ONNX Runtime's CUDA requirements table pairs them)"),
        "ort-cuda-provider-not-created": dict(
            severity="error", summary="ONNX Runtime could not create its CUDA execution provider and falls back to the CPU",
            cause="the CUDA or cuDNN libraries onnxruntime-gpu needs are missing or of another major version, or "
                  "`onnxruntime` and `onnxruntime-gpu` are installed together"),
        "ort-cuda-not-loaded": dict(
            severity="error", summary="ONNX Runtime could not load CUDA for its CUDA provider and falls back to the CPU",
            cause="the CUDA and cuDNN versions onnxruntime-gpu was built for are not installed or not on PATH (ONNX "
                  "Runtime's CUDA requirements table names them)"),
    }),
    "nccl-error": ("system", "from a pasted error: NCCL could not set up its communication", {
        "nccl-unhandled-system-error": dict(
            severity="error", summary="NCCL could not set up its communication",
            cause="NCCL cannot use shared memory: /dev/shm too small or not writable (in docker, --shm-size or --ipc=host; "
                  "NVIDIA/nccl#473, #342); NCCL_DEBUG=INFO names the failing call"),
    }),
    "pasted-error": ("torch", "a pasted error of the program, not of the environment, or one envcheck does not know", {
        "unknown": dict(severity="info", summary="envcheck does not know this error: {line}",
                        cause="nothing in the paste matches an environment problem envcheck knows"),
        "warnings-only": dict(severity="info", summary="the paste shows warnings only ({count}), none about the environment"),
        "cuda-out-of-memory": dict(
            severity="info", summary="CUDA ran out of GPU memory: that is the workload's size, not the environment",
            cause="the model, batch or activations need more memory than the GPU has free (other processes count: "
                  "`envcheck gpus`); a smaller batch helps"),
        "tensors-on-different-devices": dict(
            severity="info", summary="tensors on different devices: a bug in the program, not the environment",
            cause="a model or tensor was not moved with .to(device); the environment is not at fault"),
        "device-side-assert": dict(
            severity="info", summary="a device-side assert: a kernel found a bad value (an index or label out of range), not an "
                                     "environment fault",
            cause="typically class labels outside [0, n_classes) or an index past a tensor's end in the data; run once with "
                  "CUDA_LAUNCH_BLOCKING=1 (or on the CPU) to see the failing operation"),
        "dtype-mismatch": dict(
            severity="info", summary="a dtype mismatch: a bug in the program, not the environment",
            cause="two tensors of different dtypes meet in one operation; the environment is not at fault"),
        "shape-mismatch": dict(
            severity="info", summary="a shape mismatch: a bug in the program, not the environment",
            cause="tensor shapes do not fit the operation; the environment is not at fault"),
    }),
}
