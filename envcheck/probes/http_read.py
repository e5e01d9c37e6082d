"""One HTTP GET, bounded: the only code in envcheck that opens a network connection.

Bounded three ways, so a slow, huge or hostile server costs a one-line reason, never the memory or
the afternoon: a timeout on each socket operation, a cap on the body's size, and a deadline for the
whole answer, connect, headers and body together. urllib's timeout alone bounds each socket
operation, so a server that drips one byte of header a second would never be cut off; a watchdog
shuts the connection's socket when the deadline passes. pip's proxy (`pip config set global.proxy
...`, PIP_PROXY) and CA bundle are used when set, else the environment's proxies, as pip does.

Command line equivalent: `curl --max-time DEADLINE -H 'Accept: ...' URL`.
"""

from __future__ import annotations

import os
import threading
import time
from typing import NamedTuple

TIMEOUT_S = 10.0  # each connect / read
DEADLINE_S = 60.0  # a whole answer (PyTorch's flat torch_stable.html is tens of MB on a slow link)
MAX_BYTES = 64 * 1024 * 1024
_REASON_CHARS = 80  # of a server's reason phrase or exception text: a line, not a page

_OFFLINE = False


def forbid_network(forbid: bool = True) -> None:
    """--offline: until allowed again, every read fails before any socket opens. The CLI allows it
    again when the command ends (a test runs many commands in one process)."""
    global _OFFLINE
    _OFFLINE = forbid


def allow_network() -> None:
    forbid_network(False)


def network_forbidden() -> bool:
    return _OFFLINE


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
    from envcheck.probes.pip_config import read_pip_value  # as above

    return read_pip_value("cert", env=env)


class _Watchdog:
    """Shuts every socket of one fetch when its deadline passes; `fired` says it did."""

    def __init__(self, seconds: float):
        self.fired = False
        self._socks: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def add(self, sock) -> None:
        with self._lock:
            self._socks.append(sock)
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._socks:
                _shut(sock)


def _shut(sock) -> None:
    import socket  # network modules only when an index is read (--check-index)

    try:
        sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns at once; urllib closes the socket
    except OSError:
        pass


def _opener(proxy: str | None, cafile: str | None, watchdog: _Watchdog):
    """urllib's opener whose HTTP and HTTPS connections (direct, or through pip's proxy) hand their
    socket to the watchdog as soon as it is connected."""
    import urllib.request  # network modules only when an index is read (--check-index)

    class Watched:
        def do_open(self, http_class, req, **kw):
            class Connection(http_class):
                def connect(self):
                    super().connect()
                    watchdog.add(self.sock)

            return super().do_open(Connection, req, **kw)

    class HTTP(Watched, urllib.request.HTTPHandler):
        pass

    class HTTPS(Watched, urllib.request.HTTPSHandler):
        pass

    context = None
    if cafile and os.path.isfile(cafile):
        import ssl  # network modules only when an index is read (--check-index)

        context = ssl.create_default_context(cafile=cafile)
    handlers: list = [HTTP(), HTTPS(context=context)]
    if proxy:
        handlers.append(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    return urllib.request.build_opener(*handlers)  # no proxy given: the environment's (and no_proxy)


class Page(NamedTuple):
    url: str  # after redirects
    body: bytes
    content_type: str


def _short(text) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS] + "…"


def fetch(url: str, *, accept: str = "*/*", timeout: float = TIMEOUT_S, deadline: float = DEADLINE_S,
          max_bytes: int = MAX_BYTES, proxy: str | None = None, cafile: str | None = None) -> Page | str:
    """The page at `url`, or one line saying why not. Reads at most `max_bytes`, connect, headers
    and body within `deadline` seconds, each socket operation within `timeout`."""
    import socket  # network modules only when an index is read (--check-index)
    import urllib.error  # network modules only when an index is read (--check-index)
    import urllib.request  # network modules only when an index is read (--check-index)

    if _OFFLINE:
        return f"{url}: not fetched (--offline)"
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "envcheck"})
    start = time.monotonic()
    body = bytearray()

    def late() -> str:
        return f"{url}: not read within {deadline:g} s ({len(body) // 1024} KiB so far): stopped"

    with _Watchdog(deadline) as watchdog:
        try:
            with _opener(proxy, cafile, watchdog).open(request, timeout=min(timeout, deadline)) as resp:
                while True:
                    chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
                    if not chunk:
                        break
                    body += chunk
                    if len(body) > max_bytes:
                        cap = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
                        return f"{url}: listing larger than {cap}: stopped reading"
                    if time.monotonic() - start > deadline:
                        return late()
                if watchdog.fired:  # the socket was shut under a body still coming
                    return late()
                return Page(resp.geturl(), bytes(body), _short(resp.headers.get("Content-Type", "")))
        except urllib.error.HTTPError as exc:
            return late() if watchdog.fired else f"{url}: HTTP {exc.code} {_short(exc.reason)}"
        except urllib.error.URLError as exc:
            if watchdog.fired:
                return late()
            if isinstance(exc.reason, (socket.timeout, TimeoutError)):
                return f"{url}: no answer within {min(timeout, deadline):g} s"
            return f"{url}: cannot connect ({_short(exc.reason)})"
        except (socket.timeout, TimeoutError):
            return late() if watchdog.fired else f"{url}: no answer within {min(timeout, deadline):g} s"
        except (OSError, ValueError) as exc:  # connection reset, a malformed URL or proxy
            return late() if watchdog.fired else f"{url}: {type(exc).__name__}: {_short(exc)}"
        except Exception as exc:  # http.client's IncompleteRead, BadStatusLine, ...
            return late() if watchdog.fired else f"{url}: broken answer ({type(exc).__name__})"
