"""PyTorch's `python -m torch.utils.collect_env` text into a snapshot.

The format has drifted since torch 1.x (one-line and multi-line GPU lists, "[pip]" and "[pip3]"
library lines, "Could not collect" anywhere, partial pastes); every line is optional. What the
text does not say is Unavailable("not_in_report"), never guessed. A GPU's compute capability comes
from envcheck's GPU table by its exact name, when the table has it.
"""

from __future__ import annotations

import re

from envcheck.reports import ReportError, partial_snapshot
from envcheck.snapshot.model import (
    DriverInfo,
    GpuInfo,
    OnnxRuntime,
    Package,
    PythonEnv,
    Snapshot,
    System,
    Toolkit,
    Torch,
    Unavailable,
)
from envcheck.versions import cuda_from_int

NOT_IN_REPORT = Unavailable("not_in_report", "the report does not say")
_UNKNOWN = {"", "could not collect", "n/a", "none", "no cuda", "unknown"}
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_ ./()-]*?):\s*(.*)$")
_PACKAGES = ("torch", "torchvision", "torchaudio", "onnx", "onnxruntime", "onnxruntime-gpu")


_LOOSE_KEYS = ("PyTorch version", "CUDA used to build PyTorch", "OS", "Python version", "Is CUDA available",
               "Nvidia driver version", "GPU models and configuration", "CUDA runtime version")
_LOOSE_LOWER = tuple((key, key.lower()) for key in _LOOSE_KEYS)


def sniff(text: str) -> bool:
    """The text holds collect_env's "PyTorch version:" line (as a reader of report texts, reports/read.py)."""
    # [ \t]*, not \s*: \s would run across newlines and backtrack quadratically on long blank runs.
    return bool(re.search(r"(?im)^[ \t]*PyTorch version[ \t]*[:：]?[ \t]*\S", text)) or "Collecting environment information" in text


def _fields(text: str) -> tuple[dict, list[str], list[str]]:
    """Top-level 'Key: value' lines, the GPU lines, and the library lines."""
    values: dict = {}
    gpus: list[str] = []
    libs: list[str] = []
    in_gpus = False
    for raw in text.replace("：", ":").splitlines():
        line = raw.strip().strip("`")
        low = line[:40].lower()
        for key, key_low in _LOOSE_LOWER:  # hand-typed pastes: "PyTorch version 1.5.0", "Os: ..."
            if not low.startswith(key_low):
                continue
            if not line[len(key):].startswith(":"):
                if line[len(key):][:1] == " ":
                    line = key + ":" + line[len(key):]
            else:
                line = key + line[len(key):]
        if not line:
            in_gpus = False
            continue
        if line.startswith("[") and "]" in line:
            libs.append(line)
            continue
        if re.match(r"^GPU \d+:", line) and (in_gpus or "GPU models and configuration" in values):
            gpus.append(line)
            continue
        m = _KEY.match(line)
        if m and not raw.startswith((" ", "\t")):
            key, value = m.group(1).strip(), m.group(2).strip()
            values.setdefault(key, value)
            if key == "GPU models and configuration":
                in_gpus = True
                if value.startswith("GPU "):
                    gpus += [g.strip() for g in re.split(r"(?=GPU \d+:)", value) if g.strip()]
                elif value and value.lower() not in _UNKNOWN:
                    gpus.append(f"GPU 0: {value}")
            else:
                in_gpus = False
    return values, gpus, libs


def warned_facts(text: str) -> dict:
    """Facts in the warnings torch printed while collect_env ran (they are often pasted along)."""
    facts: dict = {}
    if "Found no NVIDIA driver on your system" in text:
        facts["no_driver"] = True
    m = re.search(r"driver on your system is too old \(found version (\d+)\)", text)
    if m:
        facts["cuda_driver"] = cuda_from_int(int(m.group(1)))
    for name, sm in re.findall(r"^[ \t]*(.+?) with CUDA capability sm_(\d+) is not compatible", text, re.MULTILINE):
        name = name.strip().rsplit(": ", 1)[-1]  # "...: UserWarning: NVIDIA GeForce RTX 5090"
        facts.setdefault("capabilities", {})[name] = f"{sm[:-1]}.{sm[-1]}"
    m = re.search(r"supports CUDA capabilities ((?:sm_\d+[a-z]?\s*)+)", text)
    if m:
        facts["arch_list"] = tuple(m.group(1).split())
    for name, cc in re.findall(r"Found GPU\d+ (.+?) which is of cuda capability (\d+\.\d+)", text):
        facts.setdefault("capabilities", {})[name.strip()] = cc
    m = re.search(r"minimum cuda capability[^0-9]*?(\d+\.\d+)", text, re.IGNORECASE)
    if m:
        facts["min_capability"] = m.group(1)
    return facts


def _known(value: str | None) -> str | None:
    if value is None or value.strip().lower() in _UNKNOWN:
        return None
    return value.strip()


def _system(v: dict) -> System:
    os_line = _known(v.get("OS")) or ""
    platform_line = v.get("Python platform", "")
    low = (os_line + " " + platform_line).lower()
    if "windows" in low:
        os = "windows"
    elif "macos" in low or "darwin" in low or "mac os" in low:
        os = "macos"
    elif "linux" in low or any(d in low for d in ("ubuntu", "debian", "centos", "red hat", "fedora", "rocky", "arch", "suse")):
        os = "linux"
    else:
        os = "unknown"
    m = re.search(r"\((x86_64|aarch64|arm64|AMD64|i386)\)", os_line) or re.search(r"(x86_64|aarch64|arm64|AMD64)", platform_line)
    arch = {"AMD64": "x86_64"}.get(m.group(1), m.group(1)) if m else ("x86_64" if os == "windows" else "unknown")
    if os == "linux" and arch == "arm64":
        arch = "aarch64"
    kernel = ""
    km = re.match(r"Linux-([^-]+-[^-]+(?:-[a-z]+)?)-", platform_line)
    if km:
        kernel = km.group(1)
    release = re.sub(r"\s*\((x86_64|aarch64|arm64|AMD64)\)\s*$", "", os_line)
    return System(os, arch, release, kernel, "", 0, NOT_IN_REPORT, None, "microsoft" in platform_line.lower(), "")


def _packages(libs: list[str]) -> dict:
    """'[pip3] torchvision==0.16.0+cu121' and '[conda] torchvision 0.16.0 py310_cu121 pytorch'."""
    found: dict = {}
    for line in libs:
        body = line.split("]", 1)[1].strip()
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", body)
        if m and m.group(1).lower() in _PACKAGES:
            found.setdefault(m.group(1).lower(), m.group(2))
            continue
        parts = body.split()
        if len(parts) >= 2 and parts[0].lower() in _PACKAGES + ("pytorch",):
            name = "torch" if parts[0].lower() == "pytorch" else parts[0].lower()
            found.setdefault(name, parts[1])
    return found


def _cuda_version(text: str | None) -> str | None:
    if not text:
        return None
    m = re.match(r"^(\d+)\.(\d+)", text)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def parse(text: str, tables=None) -> Snapshot:
    """A snapshot of what the report says."""
    return partial_snapshot(**parts(text, tables))


def parts(text: str, tables=None) -> dict:
    """The parts of a snapshot the report gives: system, Python, driver, toolkit, torch, packages."""
    if not sniff(text):
        raise ReportError("not collect_env output: it has no 'PyTorch version:' line")
    v, gpu_lines, libs = _fields(text)
    warned = warned_facts(text)
    pkgs = _packages(libs)
    system = _system(v)
    py = re.match(r"^(\d+\.\d+(?:\.\d+)?)", v.get("Python version", ""))
    python = PythonEnv(py.group(1) if py else "unknown", "", None, None, NOT_IN_REPORT)
    gpus = []
    for n, line in enumerate(gpu_lines):
        m = re.match(r"^GPU (\d+):\s*(.+?)(?:\s*\(UUID:.*\))?$", line)
        name = m.group(2).strip() if m else line
        index = int(m.group(1)) if m else n
        row = tables.gpus.get(name) if tables is not None else None
        said = warned.get("capabilities", {}).get(name)
        cc = said or (row.cc if row else Unavailable("not_in_report", f"{name} is not in envcheck's GPU table"))
        gpus.append(GpuInfo(index, name, NOT_IN_REPORT, NOT_IN_REPORT, cc, NOT_IN_REPORT))
    driver_version = _known(v.get("Nvidia driver version"))
    if warned.get("no_driver"):
        driver_version = Unavailable("library_not_found", "torch reported: Found no NVIDIA driver on your system")
    elif driver_version is None and "Nvidia driver version" in v:
        # collect_env reads the driver through nvidia-smi: "Could not collect" means it could not run it.
        driver_version = Unavailable("not_collected", "collect_env could not read the driver version (nvidia-smi did not answer)")
    cuda_driver = warned.get("cuda_driver") or NOT_IN_REPORT
    driver = DriverInfo(driver_version or NOT_IN_REPORT, cuda_driver, tuple(gpus) if gpus else NOT_IN_REPORT,
                        nvidia_on_pci=bool(gpus), source="collect_env")
    nvcc = _cuda_version(_known(v.get("CUDA runtime version")))
    toolkit = Toolkit(nvcc or NOT_IN_REPORT, None, None, ())
    version = _known(v.get("PyTorch version"))
    if version is None:
        torch = Torch("missing", error="collect_env could not import torch")
    else:
        available = v.get("Is CUDA available", "").strip()
        torch = Torch(
            "ok",
            version=version,
            cuda=_cuda_version(_known(v.get("CUDA used to build PyTorch"))),
            hip=_known(v.get("ROCM used to build PyTorch")),
            cuda_available={"True": True, "False": False, "Yes": True, "No": False}.get(available),
            arch_list=warned.get("arch_list", ()),
            min_capability=warned.get("min_capability"),
        )
    installed = tuple(n for n in ("onnxruntime", "onnxruntime-gpu") if n in pkgs)
    ort = OnnxRuntime(installed, pkgs.get("onnxruntime-gpu") or pkgs.get("onnxruntime"), NOT_IN_REPORT) if installed else OnnxRuntime()
    packages = tuple(Package(n, pkgs.get(n)) for n in ("torchvision", "torchaudio", "onnx", "onnxruntime"))
    return {"system": system, "python": python, "driver": driver, "toolkit": toolkit, "torch": torch, "packages": packages,
            "onnxruntime": ort}
