"""Which copy of PyTorch's wheel index to read: PyTorch's own, or a mirror's copy used its own way.

`compat refresh` and `install-cmd --check-index` read listings from a Source; which one follows the
same mirror names as install-cmd (--mirror for the mirror, --torch-mirror for the copy of PyTorch's
index), so no URL is written twice: PyTorch's comes from the newest release's official line, the
mirrors' from compat/mirrors.toml.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from envcheck.compat.mirrors import PYTORCH_HOST, Mirror, listing_url
from envcheck.errors import UserError


class Source(NamedTuple):
    """An index of PyTorch's wheels: PyTorch's own, or a mirror's copy used its own way."""

    name: str  # "PyTorch's index", "sjtu", or the URL given
    template: str  # per-variant URL with {variant}
    form: str  # index (PEP 503/691 per project) | find-links (one flat folder per variant)

    def listing_url(self, variant: str, project: str) -> str:
        return listing_url(self.template.format(variant=variant), self.form, project)

    @property
    def host(self) -> str:
        return urlsplit(self.template).netloc


class Chosen(NamedTuple):
    source: Source
    note: str  # one line on why this copy is read, where the mirror named does not copy PyTorch's index


def pytorch_source(tables) -> Source:
    """PyTorch's own per-variant index, as the newest release's official line addresses it."""
    newest = next(r for r in tables.releases if r.pip.flag == "--index-url")
    return Source("PyTorch's index", newest.pip.url, "index")


def mirror_source(m: Mirror) -> Source | None:
    return Source(m.name, m.wheels_url, m.wheels_form) if m.copies_wheels else None


def choose_source(tables, mirror: str | None = None, torch_mirror: str | None = None,
                  configured_index: str | None = None, variants: tuple = ()) -> Chosen:
    """The copy of PyTorch's index to read, named as install-cmd names it: --torch-mirror (a copy:
    sjtu, nju, aliyun, pytorch, or its URL), else --mirror's own copy, or for a mirror without one
    (tuna) the copy install-cmd routes its torch wheels through; else the mirror pip is configured
    with when it also copies PyTorch's wheels; else PyTorch's own index."""
    if torch_mirror:
        return Chosen(_copy_named(tables, torch_mirror.strip()), "")
    if mirror and mirror.strip().lower() == "none":
        return Chosen(pytorch_source(tables), "")
    if mirror:
        text = mirror.strip()
        known = tables.mirrors.get(text)
        if known is None:
            if "://" in text:
                raise UserError(f"--mirror {text!r} is not a mirror envcheck knows: for a copy of PyTorch's wheel index give --torch-mirror {text}")
            raise UserError(f"--mirror {tables.mirrors.unknown(text)}")
        if known.copies_wheels:
            return Chosen(mirror_source(known), "")
        return _routed(tables, known, variants)
    if configured_index:
        known = tables.mirrors.by_url(configured_index)
        if known is not None and known.copies_wheels:
            return Chosen(mirror_source(known), "")
    return Chosen(pytorch_source(tables), "")


def _copy_named(tables, text: str) -> Source:
    """--torch-mirror: a mirror's copy by name, PyTorch's own (pytorch), or an http(s) URL of a copy."""
    if text.lower() == PYTORCH_HOST:
        return pytorch_source(tables)
    if "://" in text:
        if urlsplit(text).scheme not in ("http", "https") or not urlsplit(text).netloc:
            raise UserError(f"--torch-mirror {text!r} is not an http(s) URL")
        template = text if "{variant}" in text else text.rstrip("/") + "/{variant}"
        return Source(text, template, "index")
    return mirror_source(tables.mirrors.carrier(text))


def _routed(tables, mirror: Mirror, variants: tuple) -> Chosen:
    """For a mirror of the default index only: the first copy in compat/mirrors.toml's torch_route
    that holds every build asked for, as install-cmd sends that mirror's torch wheels there."""
    carriers = tables.mirrors.carriers
    fits = [c for c in carriers if all(c.carries(v) for v in variants)] or list(carriers)
    if not fits:
        return Chosen(pytorch_source(tables), f"{mirror.name} copies only the default index, not PyTorch's wheel index: "
                                              "reading PyTorch's own index (--torch-mirror chooses a copy)")
    c = fits[0]
    return Chosen(mirror_source(c), f"{mirror.name} copies only the default index, not PyTorch's wheel index: reading "
                                    f"{c.name}'s copy, as install-cmd --mirror {mirror.name} does (compat/mirrors.toml's "
                                    "torch_route; --torch-mirror chooses another)")
