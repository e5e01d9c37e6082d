"""compat/torch.toml: every torch release, its builds per platform, Pythons, companions and the
form of its official install lines."""

from __future__ import annotations

from typing import NamedTuple, Optional

from envcheck.compat.platforms import PLATFORMS
from envcheck.compat.ranges import in_range, parse_range
from envcheck.compat.rows import Rows
from envcheck.versions import cuda_of_variant, is_free_threaded, release_of, vtuple


# Table rows are NamedTuples: immutable like frozen dataclasses, at a fifth of their import cost.
class PipForm(NamedTuple):
    """How the official pip command of a release addresses PyTorch's wheel index."""

    flag: str  # --index-url | --extra-index-url | -f
    url: str  # with {variant}
    local: bool  # pin torch/torchvision as X+cu121
    plain_default: bool  # the default-index build's command has no index at all


class CondaForm(NamedTuple):
    package: str  # cudatoolkit | pytorch-cuda
    cuda: tuple[str, ...]
    cpu: bool
    channels: tuple[str, ...]
    extra_channels: dict
    torchvision: Optional[str] = None  # when the conda line pins another version than pip's
    torchaudio: Optional[str] = None


class Release(NamedTuple):
    torch: str
    date: str
    torchvision: str | None
    torchaudio: str | None
    python: dict  # platform -> tuple of "3.x"
    variants: dict  # platform -> tuple of variant names
    default: dict  # platform -> variant served by the default index
    pip: PipForm
    pip_exceptions: dict  # variant -> the official lines, verbatim
    conda: CondaForm | None
    source: str
    free_threaded: dict = {}  # platform -> tuple of "3.13t": the free-threaded CPythons with wheels

    @property
    def key(self) -> tuple[int, ...]:
        return vtuple(self.torch)

    def pythons(self, platform: str, python: str = "") -> tuple[str, ...]:
        """The Pythons with wheels here of the same kind as `python`: free-threaded ('3.13t',
        wheels tagged cp313t) or with the GIL ('3.13'); their wheels are not interchangeable."""
        table = self.free_threaded if is_free_threaded(python) else self.python
        return tuple(table.get(platform, ()))

    def cuda_variants(self, platform: str) -> tuple[str, ...]:
        return tuple(v for v in self.variants.get(platform, ()) if cuda_of_variant(v))


def release_row(row: dict) -> Release:
    python = {p: tuple(row.get(f"python_{p}", row["python"])) for p in PLATFORMS}
    free_threaded = {p: tuple(row.get(f"free_threaded_{p}", row.get("free_threaded", ()))) for p in PLATFORMS}
    pip = row["pip"]
    conda = row.get("conda")
    return Release(
        torch=row["torch"],
        date=row.get("date", ""),
        torchvision=row.get("torchvision") or None,
        torchaudio=row.get("torchaudio") or None,
        python=python,
        variants={p: tuple(row.get(p, ())) for p in PLATFORMS},
        default=dict(row.get("default", {})),
        pip=PipForm(pip["flag"], pip["url"], bool(pip.get("local")), bool(pip.get("plain_default"))),
        pip_exceptions={k: tuple([v] if isinstance(v, str) else v) for k, v in row.get("pip_exceptions", {}).items()},
        conda=None
        if not conda
        else CondaForm(
            package=conda["package"],
            cuda=tuple(conda.get("cuda", ())),
            cpu=bool(conda.get("cpu", True)),
            channels=tuple(conda.get("channels", ("pytorch",))),
            extra_channels=dict(row.get("conda_extra_channels", {})),
            torchvision=conda.get("torchvision"),
            torchaudio=conda.get("torchaudio"),
        ),
        source=row["source"],
        free_threaded={p: pys for p, pys in free_threaded.items() if row.get(p)},
    )


class Releases(Rows):
    """The torch releases, newest first."""

    def __init__(self, raw: dict, rows: list[Release]) -> None:
        super().__init__(sorted(rows, key=lambda r: r.key, reverse=True))
        self.macos_x86_64_last: str = raw["macos_x86_64_last"]
        # (package, release) -> the torch versions that release declares it works with
        self._declared = {(c["package"], c["version"]): parse_range(c["torch"]) for c in raw.get("companion", ())}

    def get(self, version: str) -> Release | None:
        """The release '2.2.1', or None when the tables do not know it."""
        return next((r for r in self.rows if r.torch == version), None)

    def matching(self, text: str) -> list[Release]:
        """'2.2.1' -> that release; '2.2' -> every 2.2.x, newest first."""
        parts = text.split(".")
        if len(parts) == 3:
            r = self.get(text)
            return [r] if r else []
        return [r for r in self.rows if r.torch.split(".")[:2] == parts]

    def companion_fits(self, package: str, version: str, torch: str) -> bool:
        """Does this torchvision/torchaudio go with this torch? Yes when it was released with it, or
        when its own metadata declares this torch (torchvision 0.29.1 `Requires-Dist: torch>=2.14.0`)."""
        have, torch = release_of(version), release_of(torch)
        release = self.get(torch)
        if release is not None and getattr(release, package, None) == have:
            return True
        declared = self._declared.get((package, have))
        return declared is not None and in_range(vtuple(torch), declared)
