"""The tables' platform keys: which set of PyTorch wheels a machine (OS and CPU) or a wheel tag
belongs to. Every table, the index cache and the solver name platforms by these keys."""

from __future__ import annotations

from envcheck.errors import UserError

# The column names of compat/torch.toml (`linux = [...]`, `python_windows = [...]`).
PLATFORMS = ("linux", "linux_aarch64", "windows", "macos")
PLATFORM_LABELS = {"linux": "Linux x86_64", "linux_aarch64": "Linux aarch64", "windows": "Windows", "macos": "macOS"}
ARM = ("aarch64", "arm64")


def platform_key(os: str, arch: str) -> str:
    """('linux', 'aarch64') -> 'linux_aarch64'; a UserError where PyTorch publishes no wheels."""
    if os == "linux":
        return "linux_aarch64" if arch in ARM else "linux"
    if os == "windows":
        if arch != "x86_64":
            raise UserError(f"PyTorch publishes no wheels for Windows on {arch}: use --arch x86_64")
        return "windows"
    if os == "macos":
        return "macos"
    raise UserError(f"unknown operating system {os!r}: use --os linux, windows or macos")


def platform_of(tag_platform: str) -> str | None:
    """A wheel's platform tag (manylinux_2_28_aarch64) as a platform key; None for one the tables
    do not model (i686, ppc64le, win32)."""
    if tag_platform.startswith(("manylinux", "linux_", "musllinux")):
        if tag_platform.endswith("x86_64"):
            return "linux"
        if tag_platform.endswith("aarch64"):
            return "linux_aarch64"
        return None
    if tag_platform == "win_amd64":
        return "windows"
    if tag_platform.startswith("macosx_"):
        return "macos"
    return None
