"""Finding codes about torch, its companions, the Python it runs on and the toolkit on PATH:
code -> (area, when, {variant: words}). Variants named after a row of compat/error_signatures.toml
hold the words for that error message; their causes come from the thread the row cites."""

from __future__ import annotations

STACK = "@stack"
# What went wrong while importing torch, by the probe's status (the summary's first words).
IMPORT_OUTCOME = {"timeout": "importing torch hung", "crashed": "importing torch crashed the interpreter",
                  "": "importing torch raised an error"}
_IMPORT = "{outcome}: {error_line}"
_CUDA_LIB = "a CUDA library torch needs could not be loaded"
_NVCC = "nvcc on PATH is CUDA {nvcc}, torch was built with CUDA {torch_cuda}: building CUDA extensions needs them to match"
_EXTENSIONS = "only matters when compiling extensions (pip install of packages with CUDA code, torch.utils.cpp_extension)"
_MIXED = "{package} {have} was not released with torch {torch} (that is {package} {expected})"


def _companion(signatures: dict) -> tuple:
    """torchvision-mismatch and torchaudio-mismatch share their words."""
    return ("torch", "versions or CUDA variants that were not released together with the installed torch", {
        "release": dict(severity="error", summary=_MIXED, fix=STACK),
        "release-build": dict(severity="error", summary=_MIXED.replace("{expected}", "{expected}+{torch_build}"), fix=STACK),
        "build": dict(severity="error", summary="{package} {version} is a {local} build, torch {torch} a {torch_build} build"),
        **signatures,
    })


CODES = {
    "torch-missing": ("torch", "no torch in the target interpreter", {
        "": dict(severity="warn", summary="no torch in {python}", fix=STACK),
    }),
    "torch-import-failed": ("torch", "importing torch raised, crashed or timed out (the error and the likely cause, e.g. a "
                                     "missing libcudnn, an LD_LIBRARY_PATH shadowing torch's bundled libraries)", {
        "": dict(severity="error", summary=_IMPORT, fix=STACK),
        "cuda-library": dict(severity="error", summary=_IMPORT, cause=_CUDA_LIB, fix=STACK),
        "shadowed": dict(severity="error", summary=_IMPORT, fix="unset LD_LIBRARY_PATH",
                         cause=_CUDA_LIB + "; LD_LIBRARY_PATH puts other CUDA libraries first ({ld_library_path}), which "
                                           "shadows torch's bundled ones"),
        "cuda-library-not-found": dict(
            severity="error", summary="a CUDA library torch needs does not load: {lib}",
            cause="the library is missing, or the torch build does not match the CUDA setup (a build that expects system "
                  "CUDA libraries, another version shadowing the wheel's own, or a partly installed nvidia-* package)",
            fix="envcheck doctor"),
        "torch-undefined-symbol": dict(
            severity="error", summary="importing torch fails on an undefined symbol ({symbol})",
            cause="torch's libraries were mixed with other versions: a second torch on the path, a CUDA library from "
                  "LD_LIBRARY_PATH shadowing the wheel's own, or a half-upgraded install",
            fix="envcheck doctor"),
        "windows-dll-not-loaded": dict(
            severity="error", summary="a DLL torch needs does not load on Windows: {dll}",
            cause="a library that DLL needs is missing (for fbgemm.dll in torch 2.3.1 on Windows, libomp140.x86_64.dll: "
                  "pytorch/pytorch#129568); another torch release avoids it"),
    }),
    "cpu-only-build": ("torch", "an NVIDIA GPU and driver are present but torch is a CPU build", {
        "": dict(severity="error", summary="torch {torch} is a CPU build, but this machine has {gpus} NVIDIA GPU(s)", fix=STACK),
        "torch-not-compiled-with-cuda": dict(
            severity="error", summary="torch is a CPU build: it was not compiled with CUDA",
            cause="pip or conda installed torch's CPU build (on Windows the default index serves only the CPU build, so a "
                  "plain `pip install torch` gets it)",
            fix="envcheck install-cmd"),
    }),
    "torch-build-changed": ("torch", "torch is not the build doctor last found working in this environment (a later "
                                     "install replaced it: a CUDA build by a CPU one, or another release)", {
        "": dict(severity="warn", summary="torch is {now} now; on {seen} it was {before}, and it worked",
                 cause="a later install (pip install -r requirements.txt, a plugin's installer) replaced torch; the fix "
                       "puts the working build back, and `envcheck pin` keeps it in place"),
        "cuda-to-cpu": dict(severity="error", summary="torch is the CPU build {now} now; on {seen} it was {before} "
                                                      "(CUDA {cuda}), and it worked on the GPU",
                            cause="a later install (pip install -r requirements.txt, a plugin's installer) replaced the "
                                  "CUDA build with a CPU one; the fix puts it back, and `envcheck pin` keeps it in place"),
    }),
    "arch-unsupported": ("torch", "a GPU's compute capability is not in the torch build's arch list (and no compatible PTX)", {
        "": dict(severity="error", summary="torch {version} has no kernels for {gpu} (sm_{sm}): its arch list is {listed}",
                 fix=STACK),
        "retired": dict(severity="error", summary="torch {version} is built with CUDA {torch_cuda}, which cannot target {gpu} "
                                                  "(sm_{sm}): the last CUDA for {generation} GPUs is {last_cuda}",
                        cause="no PyTorch binary runs on this GPU; a newer GPU is the way forward"),
        "torch-capability-not-compatible": dict(
            severity="error", summary="this torch build has no kernels for {gpu} (sm_{sm})",
            cause="the wheel was not built for this GPU's architecture: a newer GPU needs a newer CUDA line (Blackwell's "
                  "sm_120: cu128 or later), an older GPU a line that still carries it",
            fix="envcheck install-cmd --gpu {gpu}"),
        "torch-minimum-capability": dict(
            severity="error", summary="this GPU is older than the oldest architecture this torch build supports (sm_{min} and up)",
            cause="PyTorch's wheels dropped the GPU's architecture; an older release (or a source build) is the only way "
                  "to use it",
            fix="envcheck install-cmd"),
        "cuda-no-kernel-image": dict(
            severity="error", summary="CUDA has no kernel for this GPU's architecture in the loaded build",
            cause="the torch (or extension) build has no code for this GPU's compute capability: PyTorch dropped it from "
                  "that release's wheels, or the GPU is newer than the build",
            fix="envcheck install-cmd"),
    }),
    "cuda-unavailable": ("torch", "torch has a CUDA build and a driver, yet `is_available()` is False: torch's own reason", {
        "": dict(severity="error", summary="torch has a CUDA build and there is a driver, yet torch.cuda.is_available() is False"),
        "cuda-unknown-error": dict(
            severity="error", summary="CUDA failed to initialise with an unknown error",
            cause="torch's own message names the usual cause: an environment set up wrong, e.g. CUDA_VISIBLE_DEVICES "
                  "changed after the program started; check that `nvidia-smi` works and that torch sees the GPU before "
                  "the program changes anything"),
    }),
    "device-count-mismatch": ("torch", "NVML and torch disagree on the number of GPUs for another reason", {
        "": dict(severity="warn", summary="the driver shows {nvml_visible} GPU(s) to CUDA, torch sees {torch_device_count}"),
        "mig": dict(severity="warn", summary="torch counts {torch_device_count} GPU(s), but CUDA enumerates {nvml_visible} MIG "
                                             "device(s) here: cuda:{nvml_visible} and up will fail",
                    cause="in MIG mode torch counts the physical GPUs; name the MIG device to use in CUDA_VISIBLE_DEVICES "
                          "(nvidia-smi -L lists their MIG- UUIDs)",
                    fix="export CUDA_VISIBLE_DEVICES={uuid}"),
    }),
    "python-unsupported": ("python", "the Python version has no wheels for the requested/installed torch", {
        "": dict(severity="warn", summary="torch {torch} has no wheels for Python {python} (it supports {supported})", fix=STACK),
        "pip-no-torch-for-python": dict(
            severity="error", summary="pip finds no {package} wheel for this Python and platform",
            cause="PyTorch has no wheel for this Python and platform (in the thread, Python 3.12 before its wheels "
                  "existed); an older Python, or a release with wheels for it"),
    }),
    "torchvision-mismatch": _companion({
        "torchvision-nms-missing": dict(
            severity="error", summary="torchvision's C++ operators did not load: it was not built for the installed torch",
            cause="torchvision and torch are different builds or releases (in the thread, a cu130 torch beside cu129 "
                  "torchvision and torchaudio); install them together",
            fix="envcheck install-cmd"),
        "torchvision-ops-not-loaded": dict(
            severity="error", summary="torchvision's compiled library does not match the installed torch",
            cause="torchvision was built against another torch than the one installed (in the thread, an old torchvision "
                  "left behind by an upgrade)",
            fix="envcheck install-cmd"),
    }),
    "torchaudio-mismatch": _companion({}),
    "library-shadowed": ("torch", "a CUDA library loaded from `LD_LIBRARY_PATH` instead of torch's own", {
        "": dict(severity="warn", summary="torch loaded CUDA libraries from LD_LIBRARY_PATH, not from its own wheel: {shadowed}",
                 cause="a different cuDNN/cuBLAS than torch was built with can crash or silently slow down; keep CUDA "
                       "folders out of LD_LIBRARY_PATH when running torch",
                 fix="unset LD_LIBRARY_PATH"),
    }),
    "nvcc-mismatch": ("toolkit", "the CUDA toolkit on PATH differs from torch's build CUDA (matters for building extensions)", {
        "major": dict(severity="warn", summary=_NVCC, cause=_EXTENSIONS),
        "minor": dict(severity="info", summary=_NVCC, cause=_EXTENSIONS),
    }),
    "compat-table-stale": ("torch", "the installed torch or driver is newer than envcheck's tables know; runtime checks "
                                    "still apply", {
        "": dict(severity="info", summary="torch {torch} is newer than envcheck's tables ({tables_newest}); runtime checks "
                                          "still apply",
                 fix="pip install --upgrade envcheck"),
    }),
}
