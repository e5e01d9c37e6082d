"""Hand-built snapshots for testing checks and renderers at their seam."""

from __future__ import annotations

from dataclasses import replace

from envcheck.snapshot.model import (
    SCHEMA_VERSION,
    CudaEnv,
    DriverInfo,
    GpuInfo,
    OnnxRuntime,
    Package,
    PythonEnv,
    Snapshot,
    System,
    Toolkit,
    Torch,
    TorchDevice,
    Unavailable,
)

NO_LIB = Unavailable("library_not_found", "NVML library (libnvidia-ml) not found: no NVIDIA driver installed")


def gpu(index=0, name="NVIDIA GeForce RTX 3090", cc="8.6", **kw) -> GpuInfo:
    return GpuInfo(index, name, f"GPU-0000000{index}-aaaa-bbbb-cccc-dddddddddddd", f"00000000:0{index + 1}:00.0", cc, 24576, **kw)


def snapshot(
    driver="535.104.05",
    cuda_driver="12.2",
    gpus=(gpu(),),
    torch=None,
    python="3.11.7",
    packages=(),
    cuda_visible=None,
    nvcc: str | Unavailable = Unavailable("not_found", "no nvcc on PATH"),
    ld_cuda=(),
    ort=OnnxRuntime(),
    on_pci=None,
    os="linux",
) -> Snapshot:
    if driver is None:
        drv = DriverInfo(NO_LIB, NO_LIB, NO_LIB, nvidia_on_pci=bool(on_pci))
    elif isinstance(driver, Unavailable):
        drv = DriverInfo(driver, driver, driver, nvidia_on_pci=True if on_pci is None else on_pci, kernel_module_version="550.54.15")
    else:
        drv = DriverInfo(driver, cuda_driver, tuple(gpus), nvidia_on_pci=True)
    return Snapshot(
        schema_version=SCHEMA_VERSION,
        system=System(os, "x86_64", "Ubuntu 22.04.4 LTS", "6.5.0", "AMD EPYC", 64, 515000, None, False, "gpu-box-01"),
        python=PythonEnv(python, "/opt/env/bin/python", "/opt/env", None, None),
        driver=drv,
        toolkit=Toolkit(nvcc, "/usr/local/cuda/bin/nvcc" if isinstance(nvcc, str) else None, None, tuple(ld_cuda)),
        cuda_env=CudaEnv(cuda_visible, None, None),
        torch=torch if torch is not None else cuda_torch(),
        packages=tuple(packages),
        onnxruntime=ort,
    )


def cuda_torch(version="2.2.1+cu121", cuda="12.1", devices=1, cc="8.6", available=True, arch=None, warnings=()) -> Torch:
    arch = arch or ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
    return Torch(
        "ok",
        version=version,
        cuda=cuda,
        cudnn=8902,
        nccl="2.19.3",
        cuda_available=available,
        device_count=devices if available else 0,
        arch_list=tuple(arch),
        devices=tuple(TorchDevice(i, "NVIDIA GeForce RTX 3090", cc) for i in range(devices if available else 0)),
        warnings=tuple(warnings),
    )


def cpu_torch(version="2.1.0+cpu") -> Torch:
    return Torch("ok", version=version, cuda=None, cuda_available=False, device_count=0)


def pkgs(**versions) -> tuple:
    return tuple(Package(k, v) for k, v in versions.items())


__all__ = ["replace", "Unavailable", "snapshot", "gpu", "cuda_torch", "cpu_torch", "pkgs", "Torch", "OnnxRuntime"]
