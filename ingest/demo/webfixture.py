"""A small static web server on 127.0.0.1 for the offline demo, the tests and benchmarks.

It serves a folder with ETag / Last-Modified validators (answering conditional requests
with 304, like a well-behaved news site), replaces ``{{BASE}}`` in text files with its own
address, logs every request, and accepts extra routes for misbehaving-server cases.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_PLACEHOLDER = b"{{BASE}}"
TEXT_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".html", ".htm", ".txt", ".json", ".toml"}
CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".html": "text/html; charset=utf-8",
    ".gz": "application/gzip",
}
# Fixed so validators are stable across runs of the demo and tests.
LAST_MODIFIED = formatdate(1_750_000_000, usegmt=True)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int
    headers: dict[str, str]


Route = Callable[[BaseHTTPRequestHandler], None]


class FixtureServer:
    """``with FixtureServer(root) as server: server.base_url`` — serves until the block ends."""

    def __init__(self, root: Path, routes: dict[str, Route] | None = None) -> None:
        self.root = root.resolve()
        self.routes = dict(routes or {})
        self.requests: list[RequestRecord] = []
        self.overrides: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def requests_for(self, path: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def body_for(self, path: str) -> bytes | None:
        """The bytes served at ``path`` (an override set by a test, else the file)."""
        if path in self.overrides:
            return self.overrides[path].replace(BASE_PLACEHOLDER, self.base_url.encode())
        file = (self.root / unquote(path).lstrip("/")).resolve()
        if self.root not in file.parents or not file.is_file():
            return None
        body = file.read_bytes()
        if file.suffix in TEXT_SUFFIXES:
            body = body.replace(BASE_PLACEHOLDER, self.base_url.encode())
        return body

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                route = server.routes.get(path)
                if route is not None:
                    route(self)
                else:
                    self._static(path)

            def _static(self, path: str) -> None:
                if path.endswith("/"):
                    path += "index.html"
                body = server.body_for(path)
                if body is None:
                    self.send_plain(404, b"not found")
                    return
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_plain(304, b"", {"ETag": etag})
                    return
                suffix = Path(path).suffix
                content_type = CONTENT_TYPES.get(suffix) or (
                    mimetypes.guess_type(path)[0] or "application/octet-stream"
                )
                headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
                self.send_plain(200, body, headers, content_type)

            def send_plain(
                self,
                status: int,
                body: bytes,
                headers: dict[str, str] | None = None,
                content_type: str = "text/plain; charset=utf-8",
            ) -> None:
                self.send_response(status)
                if status != 304:
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def send_response(self, code: int, message: str | None = None) -> None:
                server.record(
                    RequestRecord(self.command, urlsplit(self.path).path, code, dict(self.headers))
                )
                super().send_response(code, message)

            def log_message(self, format: str, *args: object) -> None:
                pass  # requests are recorded, not printed

        return Handler
