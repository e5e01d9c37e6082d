"""The replicas served over HTTP on 127.0.0.1, and the rewriting of printed URLs to them.

    with Replicas() as replicas:
        replicas.rewrite(["pip", "install", "torch", "--index-url", "https://download.pytorch.org/whl/cu126"])
        # -> [..., "http://127.0.0.1:PORT/pytorch/whl/cu126/"]

Nothing may leave 127.0.0.1: `rewrite` refuses any other http(s) URL. Every request path is
recorded (unquoted, without the query) so a test can tell which replica served a file.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple, Sequence
from urllib.parse import unquote, urlsplit

from envcheck.compat import Tables

from .model import File, Page, Redirect, ReplicaModel, Site, map_url, url_rules
from .wheels import build_wheel

POLL_S = 0.01  # how often serve_forever looks for shutdown(): the longest a close() waits

_URL = re.compile(r"https?://[^\s'\"<>]+")


class Served(NamedTuple):
    method: str
    path: str  # unquoted, no query: "/pytorch/whl/cu126/torch-2.14.1+cu126-...whl"
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-answer is not news; nothing goes to stderr


class Replicas:
    """A ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread, serving the replicas of model.py.

    Use as a context manager (or start()/close()). Wheels are built on first request and memoised.
    """

    def __init__(self, tables: Tables | None = None):
        self.model = ReplicaModel(tables)
        self.site = Site(self.model)
        self.rules = url_rules(self.model.tables)
        self._log: list[Served] = []
        self._log_lock = threading.Lock()
        self._wheels: dict = {}
        self._wheel_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base = ""

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Replicas:
        handler = type("Handler", (_Handler,), {"replicas": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        host, port = self._server.server_address[:2]
        self.base = f"http://{host}:{port}"
        # serve_forever notices shutdown() only between polls: at its default 0.5 s every close
        # waited up to half a second, seconds over the suite.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_S,), name="replicas", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Replicas:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- URLs ------------------------------------------------------------------------------
    @property
    def default_index(self) -> str:
        """The default index's replica, where pip and uv look when no index is given."""
        return f"{self.base}/pypi/simple/"

    def url(self, real: str) -> str:
        """The local URL standing for a real one; ValueError for a URL no replica stands for."""
        if self.base and (real == self.base or real.startswith(self.base + "/")):
            return real
        local = map_url(real, self.rules)
        if local is None:
            raise ValueError(f"no local replica for {real!r}: nothing may leave 127.0.0.1")
        # Normalise a folder written without its trailing slash, as the server would redirect.
        found = self.site.route(unquote(local))
        if isinstance(found, Redirect) and not local.endswith("/"):
            local += "/"
        return self.base + local

    def rewrite(self, argv: Sequence[str]) -> list[str]:
        """argv with every known real URL (also inside `--index-url=URL`) replaced by its replica."""
        return [_URL.sub(lambda m: self.url(m.group(0)), token) for token in argv]

    # -- what was served -------------------------------------------------------------------
    @property
    def log(self) -> list[Served]:
        with self._log_lock:
            return list(self._log)

    @property
    def requests(self) -> list[str]:
        """Every request path so far, in order."""
        return [s.path for s in self.log]

    def mark(self) -> int:
        """A position in the log; requests_since(mark) gives what came after it."""
        with self._log_lock:
            return len(self._log)

    def requests_since(self, mark: int) -> list[Served]:
        with self._log_lock:
            return list(self._log[mark:])

    def clear(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _record(self, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self._log.append(Served(method, path, status))

    def wheel(self, spec) -> bytes:
        with self._wheel_lock:
            data = self._wheels.get(spec)
            if data is None:
                data = self._wheels[spec] = build_wheel(spec)
            return data


class _Handler(BaseHTTPRequestHandler):
    replicas: Replicas
    protocol_version = "HTTP/1.1"
    server_version = "envcheck-replicas"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # nothing to stderr

    def do_GET(self):
        self._answer(body=True)

    def do_HEAD(self):
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        try:
            found = self.replicas.site.route(path)
        except Exception:  # a bug here must show as a failed request, not a hung client
            found = None
            status, ctype, data = 500, "text/plain", b"replica error\n"
        else:
            status, ctype, data = 404, "text/plain", b"not found\n"
            if isinstance(found, Redirect):
                status, data = 301, b""
            elif isinstance(found, Page):
                status, ctype, data = 200, "text/html; charset=utf-8", found.body.encode("utf-8")
            elif isinstance(found, File):
                status, ctype, data = 200, "application/octet-stream", self.replicas.wheel(found.spec)
        self.replicas._record(self.command, path, status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if isinstance(found, Redirect):
            self.send_header("Location", found.location)
        self.end_headers()
        if body:
            self.wfile.write(data)
