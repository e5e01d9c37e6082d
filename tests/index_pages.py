"""A wheel index on 127.0.0.1 whose pages a test writes: PEP 503 HTML and PEP 691 JSON with real
wheel names, and the ways real servers fail (slow, 404, an HTML error page, a redirect to another
host, truncated JSON, a listing too large to read).

    with IndexServer() as server:
        server.pages["/whl/cu126/torch/"] = pep691("torch", [wheel("torch", "2.6.0+cu126", "cp312")])
        read_listing(server.url("/whl/cu126/torch/"))
"""

from __future__ import annotations

import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import quote, urlsplit

# How often serve_forever looks for shutdown(): the longest a close() waits. Its default, 0.5 s,
# cost up to half a second per test that starts a server.
POLL_S = 0.01
JSON = "application/vnd.pypi.simple.v1+json"
HTML = "text/html; charset=utf-8"


class Answer(NamedTuple):
    body: bytes = b""
    ctype: str = HTML
    status: int = 200
    delay: float = 0.0  # seconds before the status line
    location: str = ""  # for a redirect
    stream: int = 0  # send this many bytes of filler after the body, in 64 KiB pieces
    drip: float = 0.0  # seconds between pieces
    reason: str = ""  # the status line's reason phrase ("" : the standard one)
    header_drip: float = 0.0  # seconds between the bytes of the status line and headers


class Wheel(NamedTuple):
    filename: str
    requires_python: str = ""


def wheel(project: str, version: str, python: str, platform: str = "manylinux_2_28_x86_64", requires: str = ">=3.9") -> Wheel:
    """wheel('torch', '2.6.0+cu126', 'cp312') -> torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl"""
    abi = python
    interp = python.rstrip("t")
    return Wheel(f"{project}-{version}-{interp}-{abi}-{platform}.whl", requires)


def pep503(project: str, files: list[Wheel], prefix: str = "") -> Answer:
    """A PEP 503 project page as PyTorch's index writes it: '+' as %2B, '>=' as &gt;=."""
    links = "\n".join(
        f'<a href="{html.escape(prefix + quote(f.filename))}#sha256=00"'
        + (f' data-requires-python="{html.escape(f.requires_python)}"' if f.requires_python else "")
        + f">{html.escape(f.filename)}</a><br/>"
        for f in files
    )
    body = f"<!DOCTYPE html>\n<html>\n  <body>\n    <h1>Links for {project}</h1>\n{links}\n  </body>\n</html>\n"
    return Answer(body.encode(), HTML)


def pep691(project: str, files: list[Wheel], prefix: str = "") -> Answer:
    """A PEP 691 project page (application/vnd.pypi.simple.v1+json)."""
    data = {
        "meta": {"api-version": "1.1"},
        "name": project,
        "files": [
            {"filename": f.filename, "url": prefix + quote(f.filename), "hashes": {"sha256": "00"},
             **({"requires-python": f.requires_python} if f.requires_python else {})}
            for f in files
        ],
        "versions": sorted({f.filename.split("-")[1] for f in files}),
    }
    return Answer(json.dumps(data).encode(), JSON)


class IndexServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 answering from `pages` (path -> Answer); 404 otherwise."""

    def __init__(self):
        self.pages: dict[str, Answer] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Accept)
        self._server = None
        self._thread = None
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> IndexServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urlsplit(self.path).path
                owner.requests.append((path, self.headers.get("Accept", "")))
                a = owner.pages.get(path) or Answer(b"<html><title>404 Not Found</title></html>", HTML, 404)
                if a.delay:
                    time.sleep(a.delay)
                try:
                    self.send_response(a.status, a.reason or None)
                    self.send_header("Content-Type", a.ctype)
                    self.send_header("Content-Length", str(len(a.body) + a.stream))
                    if a.location:
                        self.send_header("Location", a.location)
                    if a.header_drip:  # a server that sends its headers a byte at a time, forever slow
                        for byte in b"".join(self._headers_buffer):
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(a.header_drip)
                        self._headers_buffer = []
                    self.end_headers()
                    self.wfile.write(a.body)
                    sent = 0
                    while sent < a.stream:
                        piece = min(65536, a.stream - sent)
                        self.wfile.write(b" " * piece)
                        sent += piece
                        if a.drip:
                            time.sleep(a.drip)
                except OSError:
                    pass  # the client stopped reading: that is what a bounded read does

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self.base = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_S,), daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
