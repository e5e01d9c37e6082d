"""compat/mirrors.toml: the package mirrors envcheck knows, which of them copy PyTorch's wheel
index and how each copy must be addressed, and the order torch wheels are routed through them."""

from __future__ import annotations

from typing import NamedTuple

from envcheck.compat.rows import Rows
from envcheck.errors import UserError

# How a copy of PyTorch's wheel index is addressed: a PEP 503 index per project (--index-url), or
# one flat folder of wheels per build (-f, with the local version pinned).
WHEEL_FORMS = ("index", "find-links")
PYTORCH_HOST = "pytorch"  # --torch-mirror's name for PyTorch's own wheel index


def listing_url(base: str, form: str, project: str) -> str:
    """The page that lists a project's wheels under a build's URL: base/torch/ for an index, the
    folder itself for find-links."""
    return base.rstrip("/") + "/" if form == "find-links" else f"{base.rstrip('/')}/{project}/"


class Mirror(NamedTuple):
    name: str
    aliases: tuple
    title: str
    pypi: str
    conda: str
    conda_channels: tuple[str, ...]
    wheels_form: str  # none | index | find-links
    wheels_url: str
    status: str
    source: str
    notes: str
    wheels_variants: tuple[str, ...] = ()  # the builds its copy holds, where known to be only some

    def wheel_url(self, variant: str) -> str:
        return self.wheels_url.format(variant=variant)

    @property
    def copies_wheels(self) -> bool:
        """Does this mirror hold a copy of PyTorch's wheel index (not only of the default index)?"""
        return self.wheels_form in WHEEL_FORMS

    def carries(self, variant: str) -> bool:
        """Does this mirror's copy of PyTorch's wheel index hold this build (cu126, cpu)?"""
        return self.copies_wheels and (not self.wheels_variants or variant in self.wheels_variants)

    @property
    def host(self) -> str:
        return self.pypi.split("/")[2]


class TorchRoute(NamedTuple):
    """compat/mirrors.toml [torch_route]: carriers of PyTorch's wheels in order of preference."""

    order: tuple[str, ...]
    status: str
    source: str


def mirror_row(m: dict) -> Mirror:
    wheels = m.get("torch_wheels", {})
    return Mirror(
        name=m["name"],
        aliases=tuple(m.get("aliases", ())),
        title=m["title"],
        pypi=m["pypi"],
        conda=m.get("conda", ""),
        conda_channels=tuple(m.get("conda_channels", ())),
        wheels_form=wheels.get("form", "none"),
        wheels_url=wheels.get("url", ""),
        status=m["status"],
        source=m["source"],
        notes=m.get("notes", ""),
        wheels_variants=tuple(wheels.get("variants", ())),
    )


class Mirrors(Rows):
    """The mirrors in the table's order, and the route torch wheels take through them."""

    def __init__(self, raw: dict) -> None:
        super().__init__(mirror_row(m) for m in raw["mirror"])
        row = raw.get("torch_route", {})
        self.route = TorchRoute(tuple(row.get("order", ())), row.get("status", ""), row.get("source", ""))

    @property
    def carriers(self) -> tuple[Mirror, ...]:
        """The mirrors that copy PyTorch's wheel index, in the route's order of preference."""
        ranked = {name: i for i, name in enumerate(self.route.order)}
        return tuple(sorted((m for m in self.rows if m.copies_wheels), key=lambda m: ranked.get(m.name, len(ranked))))

    def get(self, name: str) -> Mirror | None:
        """By name, by any name people use for it (tsinghua, 清华), or by its index URL."""
        key = name.strip().lower()
        for m in self.rows:
            if key == m.name or key in (a.lower() for a in m.aliases):
                return m
        return self.by_url(name.strip()) if "://" in name else None

    def by_url(self, url: str) -> Mirror | None:
        """The mirror whose default-index URL (or host) this is."""
        url = url.rstrip("/")
        for m in self.rows:
            if url == m.pypi.rstrip("/") or url.split("/")[2:3] == [m.host]:
                return m
        return None

    def carrier(self, name: str) -> Mirror:
        """The mirror --torch-mirror names; it must copy PyTorch's wheel index."""
        m = self.get(name)
        choices = ", ".join([*(c.name for c in self.carriers), PYTORCH_HOST])
        if m is None:
            raise UserError(f"--torch-mirror {name!r} is not a copy of PyTorch's wheel index envcheck knows: choose {choices}")
        if not m.copies_wheels:
            raise UserError(f"--torch-mirror {m.name}: {m.name} copies only the default index, not PyTorch's wheels: choose {choices}")
        return m

    def names(self) -> list[str]:
        return [n for m in self.rows for n in (m.name, *m.aliases)]

    def unknown(self, name: str) -> str:
        """The message for a mirror envcheck does not know: the nearest names, then all of them."""
        import difflib  # only on this error path: off install-cmd's start-up path

        near = difflib.get_close_matches(name.strip().lower(), self.names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        return f"{name!r} is not a mirror envcheck knows: {hint}choose one of {', '.join(m.name for m in self.rows)}, or none"
