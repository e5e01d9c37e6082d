"""Stub wheels: real names, versions, tags and Requires-Dist, a few bytes of code.

A stub is a valid wheel (PEP 427 / the binary distribution format spec): a zip holding the
package's modules and `{name}-{version}.dist-info/` with METADATA, WHEEL and a RECORD whose
sha256 entries are right, so pip and uv install it exactly as they would the real one. What the
stub knows is what the tests ask of it: `torch.__version__`, `torch.version.cuda`,
`torch.version.hip` and `torch.cuda.is_available()` (always False: there is no GPU code here).

Built by hand: `unzip -l torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl` on a stub
lists the same dist-info files as the real wheel, without the 800 MB.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass

# Every entry gets this timestamp so that the same spec always gives the same bytes.
_EPOCH = (2020, 1, 1, 0, 0, 0)

FILELOCK_VERSION = "3.13.1"


def dist_name(project: str) -> str:
    """The name as a wheel filename writes it: PEP 503-normalised, '-' as '_'."""
    return re.sub(r"[-_.]+", "_", project).lower()


@dataclass(frozen=True)
class WheelSpec:
    """Everything that decides a stub wheel's bytes; hashable, so it keys a memo."""

    name: str  # the project name, e.g. "torch"
    version: str  # with the local label where there is one: "2.14.1+cu126"
    tag: str  # "cp311-cp311-manylinux_2_28_x86_64", "py3-none-any"
    requires_python: str | None = None  # ">=3.10"
    requires_dist: tuple[str, ...] = ()
    modules: tuple[tuple[str, str], ...] = ()  # (path in the wheel, text)
    purelib: bool = False

    @property
    def filename(self) -> str:
        version = self.version.replace("-", "_")
        return f"{dist_name(self.name)}-{version}-{self.tag}.whl"

    @property
    def dist_info(self) -> str:
        return f"{dist_name(self.name)}-{self.version.replace('-', '_')}.dist-info"


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _metadata(spec: WheelSpec) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {spec.name}", f"Version: {spec.version}"]
    lines.append("Summary: stub wheel of the envcheck test replicas")
    if spec.requires_python:
        lines.append(f"Requires-Python: {spec.requires_python}")
    lines += [f"Requires-Dist: {req}" for req in spec.requires_dist]
    return "\n".join(lines) + "\n"


def _wheel(spec: WheelSpec) -> str:
    lines = ["Wheel-Version: 1.0", "Generator: envcheck-test-replicas"]
    lines.append(f"Root-Is-Purelib: {'true' if spec.purelib else 'false'}")
    # A compressed tag set (cp311-cp311-a.b) expands to one Tag line per combination.
    py, abi, plat = spec.tag.split("-")
    for p in py.split("."):
        for a in abi.split("."):
            for pl in plat.split("."):
                lines.append(f"Tag: {p}-{a}-{pl}")
    return "\n".join(lines) + "\n"


def build_wheel(spec: WheelSpec) -> bytes:
    """The wheel's bytes: modules first, then METADATA, WHEEL and RECORD (last, as the spec says)."""
    info = spec.dist_info
    entries = [(path, text.encode("utf-8")) for path, text in spec.modules]
    entries.append((f"{info}/METADATA", _metadata(spec).encode("utf-8")))
    entries.append((f"{info}/WHEEL", _wheel(spec).encode("utf-8")))
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in entries)
    record += f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode("utf-8")))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in entries:
            zi = zipfile.ZipInfo(path, date_time=_EPOCH)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
    return buf.getvalue()


# -- the three projects the tests install, and torch's one dependency -------------------------


def torch_wheel(
    version: str,
    tag: str,
    *,
    cuda: str | None,
    hip: str | None = None,
    requires_python: str | None = None,
) -> WheelSpec:
    """torch: `__version__`, `torch.version.cuda`/`hip` as the real build reports them."""
    init = (
        f'__version__ = "{version}"\n'
        "from . import cuda, version  # noqa: F401  (the real torch imports both)\n"
    )
    version_py = (
        f'__version__ = "{version}"\n'
        f"cuda = {cuda!r}\n"
        f"hip = {hip!r}\n"
        'git_version = "stub"\n'
    )
    cuda_py = (
        "def is_available():\n    return False\n\n\n"
        "def device_count():\n    return 0\n"
    )
    return WheelSpec(
        name="torch",
        version=version,
        tag=tag,
        requires_python=requires_python,
        requires_dist=("filelock",),
        modules=(
            ("torch/__init__.py", init),
            ("torch/version.py", version_py),
            ("torch/cuda/__init__.py", cuda_py),
        ),
    )


def companion_wheel(
    name: str, version: str, tag: str, *, torch: str, requires_python: str | None = None
) -> WheelSpec:
    """torchvision / torchaudio: a package with `__version__`, pinned to its exact torch."""
    return WheelSpec(
        name=name,
        version=version,
        tag=tag,
        requires_python=requires_python,
        requires_dist=(f"torch=={torch}",),
        modules=((f"{dist_name(name)}/__init__.py", f'__version__ = "{version}"\n'),),
    )


def filelock_wheel() -> WheelSpec:
    """filelock, standing for the pure-Python dependencies torch pulls from an index."""
    return WheelSpec(
        name="filelock",
        version=FILELOCK_VERSION,
        tag="py3-none-any",
        requires_python=">=3.8",
        modules=(("filelock/__init__.py", ""),),
        purelib=True,
    )
