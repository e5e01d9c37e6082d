"""Read a project's listing on a wheel index: PyTorch's per-variant indexes, a mirror of them, or a
PyPI mirror, through envcheck/probes/http_read.py (the only code that opens a connection).

A listing is asked for as PEP 691 JSON and read as whatever the server answers (PEP 691 JSON, or a
PEP 503 HTML page, or a flat find-links folder page); every wheel filename is parsed into project,
version, local label (the build: cu126, cpu, rocm6.2) and tags. Each read is bounded (http_read),
and several read together share a time budget. A link to anything but an http(s) host is skipped
and counted (`Listing.refused`), never followed or reported as a host. Every failure is data:
`Listing.error` is one line a person can read.

Command line equivalent: `curl -H 'Accept: application/vnd.pypi.simple.v1+json' URL/torch/`.
"""

from __future__ import annotations

import json
import os
import re
import time
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from envcheck.probes.http_read import DEADLINE_S, TIMEOUT_S, Page, fetch, pip_cert, pip_proxy

# PEP 691: JSON preferred, the HTML forms accepted (a server that knows no JSON answers HTML).
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
BUDGET_S = 120.0  # compat refresh, every listing together: a slow mirror costs two minutes, not nine


class WheelFile(NamedTuple):
    """One wheel on a listing: `torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl`."""

    filename: str
    url: str
    project: str  # normalised: torch, torchvision, torchaudio
    version: str  # the public version: 2.6.0
    local: str  # the local label: cu126 ("" when none)
    tags: tuple[str, ...]  # "cp312-cp312-manylinux_2_28_x86_64", one per expanded tag
    requires_python: str  # ">=3.9" ("" when the index gives none)


class Listing(NamedTuple):
    url: str  # what was asked for
    files: tuple[WheelFile, ...] = ()
    error: str = ""  # one line; "" when the listing was read
    offsite: tuple[str, ...] = ()  # other hosts the listing's links (or a redirect) lead to
    form: str = ""  # json | html
    refused: tuple[str, ...] = ()  # links skipped, why each: "javascript: link", "a host that does not parse"

    @property
    def ok(self) -> bool:
        return not self.error


# -- parsing ------------------------------------------------------------------------------------


class _Links(HTMLParser):
    """<a href=... data-requires-python=...> of a PEP 503 page (attribute values come unescaped)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            a = dict(attrs)
            if a.get("href"):
                self.links.append((a["href"], a.get("data-requires-python") or ""))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _wheel(filename: str, url: str, requires_python: str) -> WheelFile | None:
    from packaging.utils import (  # optional: packaging may be absent
        InvalidWheelFilename,
        parse_wheel_filename,
    )

    if not filename.endswith(".whl"):
        return None
    try:
        name, version, _, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError):
        return None
    expanded = tuple(sorted(f"{t.interpreter}-{t.abi}-{t.platform}" for t in tags))
    return WheelFile(filename, url, str(name), version.public, version.local or "", expanded, requires_python.strip())


def _name_of(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


_HOST = re.compile(r"[\w.-]+")  # letters of any script, digits, '-', '.': no controls, spaces or marks


def _link(base: str, href: str) -> tuple[str, str]:
    """(absolute http(s) URL, "") for a link pip could download, or ("", why it is skipped): a link
    to another scheme (javascript:, file:, data:) or a host that does not parse is a hostile or
    broken page, never a wheel, and never a host name to report."""
    try:
        url = urljoin(base, href.strip()).split("#", 1)[0]
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError:
        return "", "a host that does not parse"
    if parts.scheme not in ("http", "https"):
        return "", f"a {parts.scheme[:20] or 'schemeless'}: link"
    if ":" in host:
        import ipaddress  # only for a bracketed address: rare on an index

        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "", "a host that does not parse"
    elif not _HOST.fullmatch(host):
        return "", "a host name that is not one"
    return url, ""


def parse(page: Page, asked: str) -> Listing:
    """A listing from a fetched page: PEP 691 JSON when the server says JSON, else HTML links."""
    ctype = page.content_type.split(";")[0].strip().lower()
    text = page.body.decode("utf-8", errors="replace")
    offsite = set()
    if urlsplit(page.url).netloc != urlsplit(asked).netloc:
        offsite.add(urlsplit(page.url).netloc)
    base_host = urlsplit(page.url).netloc
    files = []
    refused: list[str] = []
    if ctype.endswith("json"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            start = text.lstrip()[:15].replace("\n", " ")
            why = "an HTML page" if start.lower().startswith(("<!doctype", "<html")) else "truncated or not JSON"
            return Listing(asked, error=f"{asked}: answered {ctype} but sent {why} (starts {start!r})")
        entries = data.get("files") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return Listing(asked, error=f"{asked}: JSON without a PEP 691 'files' list")
        for f in entries:
            if not isinstance(f, dict) or not isinstance(f.get("url"), str):
                continue
            url, why = _link(page.url, f["url"])
            if why:
                refused.append(why)
                continue
            rp = f.get("requires-python") if isinstance(f.get("requires-python"), str) else ""
            w = _wheel(str(f.get("filename") or _name_of(url)), url, rp)
            if w is not None:
                files.append(w)
                if urlsplit(url).netloc != base_host:
                    offsite.add(urlsplit(url).netloc)
        form = "json"
    else:
        parser = _Links()
        try:
            parser.feed(text)
            parser.close()
        except Exception as exc:  # HTMLParser is lenient; anything it still raises is a broken page
            return Listing(asked, error=f"{asked}: unreadable HTML ({type(exc).__name__})")
        if not parser.links:
            title = " ".join(parser.title.split())[:80] or text.strip()[:40].replace("\n", " ")
            return Listing(asked, error=f"{asked}: not an index page (no links; {title!r})")
        for href, rp in parser.links:
            url, why = _link(page.url, href)
            if why:
                refused.append(why)
                continue
            w = _wheel(_name_of(url), url, rp)
            if w is not None:
                files.append(w)
                if urlsplit(url).netloc != base_host:
                    offsite.add(urlsplit(url).netloc)
        form = "html"
    return Listing(asked, tuple(files), "", tuple(sorted(offsite)), form, tuple(refused))


def _pip_settings(kw: dict) -> dict:
    """pip's proxy and CA bundle, unless the caller chose them: envcheck reaches an index as pip would."""
    kw = dict(kw)
    if "proxy" not in kw:
        kw["proxy"] = pip_proxy()
    if "cafile" not in kw:
        kw["cafile"] = pip_cert()
    return kw


def read_listing(url: str, **kw) -> Listing:
    """The wheels listed at `url` (a project page or a flat folder), or why they could not be read."""
    kw = _pip_settings(kw)
    page = fetch(url, **{"accept": ACCEPT, **kw})
    if isinstance(page, str):
        return Listing(url, error=page)
    return parse(page, url)


OVER_BUDGET = "not read: the time budget ran out"


def read_listings(urls: list[str], workers: int = 8, budget: float | None = None, **kw) -> dict[str, Listing]:
    """Several listings at once: each waits on the network, not on the CPU. With a `budget` (seconds),
    all of them together: a listing started late gets only what is left, and one not started in
    time is not read (its error ends with OVER_BUDGET), so a slow mirror costs the budget at most."""
    from concurrent.futures import ThreadPoolExecutor  # only when an index is read (--check-index)

    unique = list(dict.fromkeys(urls))
    if not unique:
        return {}
    kw = _pip_settings(kw)
    end = None if budget is None else time.monotonic() + budget

    def one(url: str) -> Listing:
        if end is None:
            return read_listing(url, **kw)
        left = end - time.monotonic()
        if left <= 0.05:
            return Listing(url, error=f"{url}: {OVER_BUDGET}")
        listing = read_listing(url, **{**kw, "deadline": min(kw.get("deadline", DEADLINE_S), left),
                                       "timeout": min(kw.get("timeout", TIMEOUT_S), left)})
        if listing.error and time.monotonic() >= end:  # cut short by the budget, not by the server
            return Listing(url, error=f"{url}: {OVER_BUDGET}")
        return listing

    with ThreadPoolExecutor(max_workers=min(workers, len(unique))) as pool:
        return dict(zip(unique, pool.map(one, unique)))


def default_index(env=os.environ) -> str | None:
    """The index `pip install` uses without --index-url: PIP_INDEX_URL, pip's configuration, or pip's
    own built-in default (read from pip, so that envcheck never spells it differently)."""
    if env.get("PIP_INDEX_URL"):
        return env["PIP_INDEX_URL"].split()[0]
    # only when an index is read: install-cmd --offline imports this module, not configparser
    from envcheck.probes.pip_config import read_pip_value

    configured = read_pip_value("index-url", env=env)
    if configured:
        return configured.split()[0]
    try:
        from pip._internal.models.index import PyPI  # a small module: urllib.parse only
    except Exception:  # pip absent or reorganised: the check says it cannot tell
        return None
    return PyPI.simple_url
