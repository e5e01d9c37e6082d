"""Parsing of the version strings users type and tools print, with messages that say the fix."""

from __future__ import annotations

import re

from envcheck.errors import UserError

_DRIVER = re.compile(r"^[0-9]{2,4}(?:\.[0-9]{1,3}){0,2}$")
_TORCH = re.compile(r"^\d+\.\d+(?:\.\d+)?$")


def cuda_version(text: str) -> tuple[int, int] | None:
    """'12.1', 'cu121', '121' -> (12, 1); None for anything else (what a tool printed may be odd)."""
    t = text.strip()
    m = re.match(r"^(?:cuda|cu)?[ \t]*([0-9]{1,2})\.([0-9])(?:\.[0-9]+)?$", t, re.IGNORECASE)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = re.match(r"^(?:cu)?([0-9]{2,3})$", t, re.IGNORECASE)
    if m:
        digits = m.group(1)
        return int(digits[:-1]), int(digits[-1])
    return None


def cuda_tuple(text: str) -> tuple[int, int]:
    """--cuda as the user typed it -> (12, 1). Raises UserError on anything else."""
    found = cuda_version(text)
    if found is None:
        raise UserError(f"--cuda {text!r} is not a CUDA version: write it as 12.1 (or cu121)")
    return found


def cuda_str(cuda: tuple[int, int]) -> str:
    return f"{cuda[0]}.{cuda[1]}"


def cuda_from_int(n: int) -> str:
    """10010 -> '10.1': CUDA's integer version (major*1000 + minor*10), as NVML's
    nvmlSystemGetCudaDriverVersion, cudaDriverGetVersion and torch's "found version N" give it."""
    return f"{n // 1000}.{(n % 1000) // 10}"


def variant_of_cuda(cuda: tuple[int, int]) -> str:
    """(12, 1) -> 'cu121', the name PyTorch's wheel index uses."""
    return f"cu{cuda[0]}{cuda[1]}"


def cuda_of_variant(variant: str) -> tuple[int, int] | None:
    """'cu121' -> (12, 1); 'cpu', 'rocm6.0' -> None."""
    m = re.match(r"^cu(\d{2,3})$", variant)
    if not m:
        return None
    d = m.group(1)
    return int(d[:-1]), int(d[-1])


def is_driver_version(text: str) -> bool:
    """'535.104.05' or '535': a version NVIDIA drivers compare field by field."""
    return bool(_DRIVER.match(text.strip()))


def driver_tuple(text: str) -> tuple[int, ...]:
    """'470.82.01' -> (470, 82, 1): NVIDIA driver versions compare field by field."""
    t = text.strip()
    if not _DRIVER.match(t):
        raise UserError(f"--driver {text!r} is not an NVIDIA driver version: write it as 535.104.05 or 535")
    return tuple(int(p) for p in t.split("."))


def check_torch(text: str) -> str:
    t = text.strip()
    if t.startswith("v"):
        t = t[1:]
    if not _TORCH.match(t):
        raise UserError(f"--torch {text!r} is not a torch version: write it as 2.2.1 (or 2.2 for the newest 2.2.x)")
    return t


def check_python(text: str) -> str:
    """'3.10', '3.10.4' -> '3.10'; '3.13t' (a free-threaded build, PEP 703) stays '3.13t'."""
    t = text.strip()
    m = re.match(r"^(3\.\d{1,2})(?:\.\d+)?(t?)$", t)
    if not m:
        raise UserError(f"--python {text!r} is not a Python version: write it as 3.10 (or 3.13t for a free-threaded build)")
    return m.group(1) + m.group(2)


def is_free_threaded(python: str) -> bool:
    """'3.13t': CPython built without the GIL, which needs its own wheels (cp313t ABI tag)."""
    return python.endswith("t")


def vtuple(text: str) -> tuple[int, ...]:
    """'2.2.1' -> (2, 2, 1), for ordering release numbers that are known to be well formed."""
    return tuple(int(p) for p in text.split("."))


def variant_of(version: str | None, cuda: str | None) -> str:
    """The build of torch `version` whose torch.version.cuda is `cuda`: the local label ('2.5.1+cu121'
    -> 'cu121'), else cuXY from `cuda`, else 'cpu'."""
    if version and "+" in version:
        return version.split("+", 1)[1]
    found = cuda_version(cuda) if cuda else None
    if found:
        return f"cu{found[0]}{found[1]}"
    return "cpu" if not cuda else "unknown"


def release_of(version: str) -> str:
    """The release a version string belongs to: '2.1.0+cu121' -> '2.1.0', '0.13.1a0' -> '0.13.1',
    '2.10.0.dev20250811' (a nightly) -> '2.10.0'; '' for a string that names none ('unknown')."""
    m = re.match(r"^[0-9]+(?:\.[0-9]+){0,2}", version.strip())
    return m.group(0) if m else ""  # "unknown", "": no release to compare


def pad3(v: tuple[int, ...]) -> tuple[int, ...]:
    """(2, 8) -> (2, 8, 0): '2.8' and '2.8.0' name the same release."""
    return v + (0,) * (3 - len(v))


def py_key(py: str) -> tuple[int, int, int]:
    """'3.13' -> (3, 13, 0); '3.13t' -> (3, 13, 1), right after the build with the GIL."""
    major, minor = py.split(".")[:2]
    return int(major), int(minor.rstrip("t")), int(is_free_threaded(py))


def arch_cc(name: str) -> str | None:
    """torch's arch names as capabilities: 'sm_86' -> '8.6', 'sm_120' -> '12.0', 'sm_90a' -> '9.0a',
    'compute_90' -> '9.0'; None for anything else."""
    m = re.match(r"^(?:sm|compute)_(\d+)(\d)([a-z]?)$", name)
    if not m:
        return None
    return f"{m.group(1)}.{m.group(2)}{m.group(3)}"


def cc_tuple(cc: str) -> tuple[int, int]:
    """Compute capability '8.6' -> (8, 6); arch-specific suffixes ('9.0a', '10.0f') are dropped."""
    m = re.match(r"^(\d+)\.(\d+)", cc)
    if not m:
        raise ValueError(f"not a compute capability: {cc!r}")
    return int(m.group(1)), int(m.group(2))
