"""Read a project's listing on a wheel index: PyTorch's per-variant indexes, a mirror of them, or a
PyPI mirror. The only code in envcheck that opens a network connection.

A listing is asked for as PEP 691 JSON and read as whatever the server answers (PEP 691 JSON, or a
PEP 503 HTML page, or a flat find-links folder page); every wheel filename is parsed into project,
version, local label (the build: cu126, cpu, rocm6.2) and tags. Network use is short and bounded:
a timeout on each socket operation, a deadline for the whole listing and a cap on its size, so a
huge or dripping page costs a one-line reason, never the memory or the afternoon. pip's proxy
(`pip config set global.proxy ...`, PIP_PROXY) is used when set, else the environment's proxies,
as pip does. Every failure is data: `Listing.error` is one line a person can read.

Command line equivalent: `curl -H 'Accept: application/vnd.pypi.simple.v1+json' URL/torch/`.
"""

from __future__ import annotations

import json
import os
import time
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

# PEP 691: JSON preferred, the HTML forms accepted (a server that knows no JSON answers HTML).
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
TIMEOUT_S = 10.0  # each connect / read
DEADLINE_S = 60.0  # a whole listing (PyTorch's flat torch_stable.html is tens of MB on a slow link)
MAX_BYTES = 64 * 1024 * 1024


class Offline(Exception):
    """The network was asked for under --offline."""


_OFFLINE = False


def forbid_network(forbid: bool = True) -> None:
    """--offline: until allowed again, every read of an index fails before any socket opens. The
    CLI allows it again when the command ends (a test runs many commands in one process)."""
    global _OFFLINE
    _OFFLINE = forbid


def allow_network() -> None:
    forbid_network(False)


def network_forbidden() -> bool:
    return _OFFLINE


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

    @property
    def ok(self) -> bool:
        return not self.error


# -- fetching -----------------------------------------------------------------------------------


def pip_proxy(env=os.environ) -> str | None:
    """pip's own proxy setting (PIP_PROXY, or `proxy` in pip's configuration files), if any."""
    if env.get("PIP_PROXY"):
        return env["PIP_PROXY"]
    # only when an index is read: install-cmd --offline imports this module, not configparser
    from envcheck.probes.pip_config import read_pip_value

    return read_pip_value("proxy", env=env)


def pip_cert(env=os.environ) -> str | None:
    """pip's CA bundle (PIP_CERT, or `cert` in pip's configuration), e.g. a company proxy's."""
    if env.get("PIP_CERT"):
        return env["PIP_CERT"]
    # only when an index is read: install-cmd --offline imports this module, not configparser
    from envcheck.probes.pip_config import read_pip_value

    return read_pip_value("cert", env=env)


def _opener(proxy: str | None, cafile: str | None = None):
    import urllib.request  # network modules only when an index is read (--check-index)

    handlers: list = [urllib.request.ProxyHandler({"http": proxy, "https": proxy})] if proxy else []
    if cafile and os.path.isfile(cafile):
        import ssl  # network modules only when an index is read (--check-index)

        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
    return urllib.request.build_opener(*handlers)  # no proxy given: the environment's (and no_proxy)


class Page(NamedTuple):
    url: str  # after redirects
    body: bytes
    content_type: str


def fetch(url: str, *, accept: str = ACCEPT, timeout: float = TIMEOUT_S, deadline: float = DEADLINE_S,
          max_bytes: int = MAX_BYTES, proxy: str | None = None, cafile: str | None = None) -> Page | str:
    """The page at `url`, or one line saying why not. Reads at most `max_bytes`, for at most
    `deadline` seconds, each socket operation within `timeout`."""
    import socket  # network modules only when an index is read (--check-index)
    import urllib.error  # network modules only when an index is read (--check-index)
    import urllib.request  # network modules only when an index is read (--check-index)

    if _OFFLINE:
        return f"{url}: not fetched (--offline)"
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "envcheck"})
    start = time.monotonic()
    try:
        with _opener(proxy, cafile).open(request, timeout=timeout) as resp:
            body = bytearray()
            while True:
                chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    cap = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
                    return f"{url}: listing larger than {cap}: stopped reading"
                if time.monotonic() - start > deadline:
                    return f"{url}: listing not read within {deadline:g} s ({len(body) // 1024} KiB so far): stopped"
            return Page(resp.geturl(), bytes(body), resp.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"{url}: no answer within {timeout:g} s"
        return f"{url}: cannot connect ({reason})"
    except (socket.timeout, TimeoutError):
        return f"{url}: no answer within {timeout:g} s"
    except (OSError, ValueError) as exc:  # connection reset, a malformed URL or proxy
        return f"{url}: {type(exc).__name__}: {exc}"
    except Exception as exc:  # http.client's IncompleteRead, BadStatusLine, ...
        return f"{url}: broken answer ({type(exc).__name__})"


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


def parse(page: Page, asked: str) -> Listing:
    """A listing from a fetched page: PEP 691 JSON when the server says JSON, else HTML links."""
    ctype = page.content_type.split(";")[0].strip().lower()
    text = page.body.decode("utf-8", errors="replace")
    offsite = set()
    if urlsplit(page.url).netloc != urlsplit(asked).netloc:
        offsite.add(urlsplit(page.url).netloc)
    base_host = urlsplit(page.url).netloc
    files = []
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
            url = urljoin(page.url, f["url"])
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
            url = urljoin(page.url, href).split("#", 1)[0]
            w = _wheel(_name_of(url), url, rp)
            if w is not None:
                files.append(w)
                if urlsplit(url).netloc != base_host:
                    offsite.add(urlsplit(url).netloc)
        form = "html"
    return Listing(asked, tuple(files), "", tuple(sorted(offsite)), form)


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
    page = fetch(url, **kw)
    if isinstance(page, str):
        return Listing(url, error=page)
    return parse(page, url)


def read_listings(urls: list[str], workers: int = 8, **kw) -> dict[str, Listing]:
    """Several listings at once: each waits on the network, not on the CPU."""
    from concurrent.futures import ThreadPoolExecutor  # only when an index is read (--check-index)

    unique = list(dict.fromkeys(urls))
    if not unique:
        return {}
    kw = _pip_settings(kw)
    with ThreadPoolExecutor(max_workers=min(workers, len(unique))) as pool:
        return dict(zip(unique, pool.map(lambda u: read_listing(u, **kw), unique)))


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
