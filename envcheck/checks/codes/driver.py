"""Finding codes about the NVIDIA driver and the GPUs: code -> (area, when, {variant: words}).

Variants named after a row of compat/error_signatures.toml hold the words for that error message;
their causes come from the thread the row cites."""

from __future__ import annotations

STACK = "@stack"
_CONTAINER = " (in a container: start it with the NVIDIA runtime, e.g. docker run --gpus all)"
_NO_JIT = "the driver cannot JIT-compile newer PTX: torch.compile/Triton kernels may fail"
_RENUMBERED = "CUDA_VISIBLE_DEVICES={value!r} shows GPUs {shown} and hides {hidden}; torch numbers the visible ones from 0"
_INSTALL_FOR_DRIVER = "install a torch build for this driver (the fix), or upgrade the driver"

CODES = {
    "no-driver": ("driver", "no NVIDIA driver / NVML library (say so calmly when no NVIDIA GPU is expected)", {
        "no-gpu": dict(severity="info", summary="no NVIDIA GPU or driver on this machine: PyTorch will run on the CPU"),
        "not-loaded": dict(severity="error", summary="an NVIDIA GPU is here but its driver is not loaded",
                           fix="sudo modprobe nvidia"),
        "not-loaded-in-container": dict(severity="error", summary="an NVIDIA GPU is here but its driver is not loaded" + _CONTAINER,
                                        fix="sudo modprobe nvidia"),
        "no-answer": dict(severity="error", summary="an NVIDIA GPU is here but no NVIDIA driver answers"),
        "no-answer-in-container": dict(severity="error", summary="an NVIDIA GPU is here but no NVIDIA driver answers" + _CONTAINER),
        "nvsmi-cannot-communicate": dict(
            severity="error", summary="nvidia-smi cannot talk to the NVIDIA driver: its kernel module is not loaded",
            cause="the kernel module is missing for the running kernel: a kernel update whose DKMS module was not built "
                  "(`dkms status` shows it), or an install that did not finish",
            fix="sudo modprobe nvidia"),
        "nvsmi-no-libnvidia-ml": dict(
            severity="error", summary="nvidia-smi cannot find the driver's library libnvidia-ml.so",
            cause="the driver's user-space library libnvidia-ml.so is not installed or not on the loader path; in a "
                  "container, the NVIDIA container runtime did not mount it"),
        "nvsmi-no-devices": dict(
            severity="error", summary="the NVIDIA driver answers but finds no GPU",
            cause="the driver is loaded but no GPU came up: a driver that does not support this GPU, a BIOS or bus problem "
                  "(`dmesg | grep -i nvidia` says which), or a container without GPUs"),
        "torch-no-driver": dict(
            severity="error", summary="torch found no NVIDIA driver",
            cause="the CUDA library finds no usable NVIDIA driver: none installed or loaded, one that does not support "
                  "this system, or, in a container, no GPU passed in"),
    }),
    "driver-library-mismatch": ("driver", "NVML reports a driver/library version mismatch (typically: driver upgraded, no reboot)", {
        "": dict(severity="error", summary="the NVIDIA kernel module and the user-space driver libraries are different versions",
                 cause="the driver was upgraded and the old kernel module is still loaded; a reboot loads the new one",
                 fix="sudo reboot"),
        "nvml-driver-library-mismatch": dict(
            severity="error", summary="NVML: the NVIDIA kernel module and the user-space driver libraries are different versions",
            cause="the driver's user-space libraries and the loaded kernel module come from different installs (an upgrade, "
                  "or a .run install over packages, without a reboot); rebooting loads the matching module",
            fix="sudo reboot"),
    }),
    "driver-too-old": ("driver", "the driver supports a lower CUDA than the installed torch build needs (respect CUDA "
                                 "minor-version compatibility)", {
        "cuda-only": dict(severity="error", summary="the driver supports CUDA {driver_cuda}, torch is built for CUDA {torch_cuda}",
                          cause=_INSTALL_FOR_DRIVER, fix=STACK),
        "too-old": dict(severity="error", summary="driver {driver} is too old for torch's CUDA {torch_cuda} (needs ≥ {minimum})",
                        cause=_INSTALL_FOR_DRIVER, fix=STACK),
        "minor-version": dict(severity="info",
                              summary="driver {driver} runs torch's CUDA {torch_cuda} only through minor-version compatibility",
                              cause=_NO_JIT),
        "minor-version-upgradable": dict(
            severity="info", summary="driver {driver} runs torch's CUDA {torch_cuda} only through minor-version compatibility",
            cause=_NO_JIT + "; a driver ≥ {needs} gives full support"),
        "torch-driver-too-old": dict(
            severity="error", summary="the NVIDIA driver is too old for this torch build (it supports CUDA up to {driver_cuda})",
            cause="the torch wheel's CUDA runtime needs a newer driver than the one installed: install a torch build for "
                  "this driver, or upgrade the driver",
            fix="envcheck install-cmd"),
        "cuda-driver-insufficient": dict(
            severity="error", summary="the NVIDIA driver is older than the CUDA runtime the program loads",
            cause="the CUDA runtime (in the torch or ONNX Runtime wheel, or a toolkit on the path) needs a newer driver: "
                  "install a build for this driver, or upgrade the driver",
            fix="envcheck install-cmd"),
    }),
    "gpu-health": ("driver", "throttling, high temperature, ECC errors, a GPU busy with other processes, MIG enabled, "
                             "persistence mode off, a GPU the driver lost or cannot read", {
        "throttled": dict(severity="warn", summary="{name} is throttled: {reasons_text}",
                          cause="sustained throttling slows training; check cooling, power cables and the power limit"),
        "clock-limit": dict(severity="info", summary="{name} holds its clocks at a limit: {reasons_text}",
                            cause="normal while a job runs at full load: the board keeps its power limit"),
        "hot": dict(severity="warn", summary="{name} runs at {temperature_c} °C"),
        "ecc": dict(severity="error", summary="{name} has {ecc_uncorrected_volatile} uncorrected ECC errors since boot",
                    cause="uncorrected memory errors corrupt results; drain the GPU and have it checked"),
        "busy": dict(severity="info", summary="{name} is in use by {count} process(es) ({used} MiB)"),
        "mig": dict(severity="info", summary="{name} has MIG enabled: CUDA sees MIG instances, not the whole GPU"),
        "persistence-off": dict(
            severity="info", summary="persistence mode is off on GPU{plural} {gpu_list}: every program that opens them waits "
                                     "1-3 s per GPU while the driver starts it",
            cause="the driver stops an idle GPU when its last program exits; nvidia-persistenced keeps it ready",
            fix="sudo nvidia-smi -pm 1"),
        "nvml-unknown-error": dict(
            severity="error", summary="NVML fails to start with an unknown error",
            cause="in a container, access to the GPU device nodes was lost when the host ran `systemctl daemon-reload`; "
                  "restarting the container restores it"),
        "nvml-insufficient-permissions": dict(
            severity="error", summary="NVML has no permission to open the GPU",
            cause="the process may not open the /dev/nvidia* device nodes: their permissions, SELinux labels on the host, "
                  "or a container's device rules",
            fix="ls -l /dev/nvidia*"),
        "nvsmi-gpu-lost": dict(
            severity="error", summary="the driver lost a GPU",
            cause="the driver lost contact with the GPU during use; it sees the GPU again after a reboot, and a GPU that "
                  "keeps getting lost needs its cooling and power checked",
            fix="sudo reboot"),
        "nvsmi-device-handle-unknown": dict(
            severity="error", summary="the driver cannot reach a GPU (unknown error)",
            cause="the driver cannot reach the GPU on the bus; the thread's fix was reseating the card, and "
                  "`dmesg | grep -i nvidia` shows the driver's side",
            fix="sudo reboot"),
        "nvsmi-err-field": dict(
            severity="warn", summary="nvidia-smi shows ERR! in a GPU's row",
            cause="the driver could not read that sensor or setting; it can be transient, and when it stays, the GPU is in "
                  "a bad state"),
    }),
    "nvml-bindings-broken": ("driver", "the nvidia-ml-py envcheck reads NVML with is 12.535.77, which scrambles the process "
                                       "list on drivers other than 535.43–535.86", {
        "": dict(severity="warn", summary="nvidia-ml-py {nvidia_ml_py} reads the GPUs' processes wrongly with {on}: process IDs "
                                          "and memory shown here may be wrong",
                 cause="this release expects the process list that only drivers 535.43 to 535.86 give; later releases read "
                       "newer drivers right",
                 fix="pip install -U nvidia-ml-py"),
    }),
    "cuda-hidden": ("driver", "`CUDA_VISIBLE_DEVICES` hides some or all GPUs, or is malformed; a GPU index CUDA does not have", {
        "malformed": dict(severity="error", summary="CUDA_VISIBLE_DEVICES={value!r} is malformed: {problem}",
                          fix="unset CUDA_VISIBLE_DEVICES"),
        "hides-all": dict(severity="warn", summary="CUDA_VISIBLE_DEVICES={value!r} hides every GPU: torch sees none",
                          fix="unset CUDA_VISIBLE_DEVICES"),
        "hides-some": dict(severity="info", summary=_RENUMBERED),
        "hides-some-unordered": dict(severity="info", summary=_RENUMBERED + " (set CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA numbers "
                                                                            "GPUs as nvidia-smi does)"),
        "cuda-invalid-device-ordinal": dict(
            severity="error", area="torch", summary="the program asked for a GPU index CUDA does not have",
            cause="the program asks for more GPUs, or a higher index, than CUDA sees: CUDA_VISIBLE_DEVICES hides GPUs and "
                  "renumbers the visible ones from 0 (`envcheck gpus` shows the mapping)"),
    }),
}
