"""Shared fixtures: a real HTTP server with misbehaving routes, real databases, the CLI."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import brotli
import pytest
from sqlalchemy.orm import Session, sessionmaker

from ingest.demo.webfixture import FixtureServer
from storage import migrate
from storage.db import make_engine, make_session_factory, private_schema
from tests.support import hostile

DATA = Path(__file__).parent / "data"
PG_URL_ENV = "FRAMEWATCH_TEST_DATABASE_URL"
HUGE_BYTES = 3_000_000


def _find_corpora() -> Path:
    """The shared real-world feed corpora, read in place (never copied into the project)."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "corpora",
                  Path("/work/shared/corpora")]  # fmt: skip
    if env := os.environ.get("FRAMEWATCH_CORPORA"):
        candidates.insert(0, Path(env))
    return next((p for p in candidates if p.is_dir()), candidates[0])


CORPORA = _find_corpora()


def _status(code: int, headers: dict[str, str] | None = None):
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_plain(code, f"status {code}".encode(), headers or {})  # type: ignore[attr-defined]

    return route


def _redirect(target: str):
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_plain(302, b"", {"Location": target})  # type: ignore[attr-defined]

    return route


def _drip(h: BaseHTTPRequestHandler) -> None:
    """Answers at once, then trickles one byte every 0.2 s for a minute."""
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", "300")
    h.end_headers()
    try:
        for _ in range(300):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def _hang(h: BaseHTTPRequestHandler) -> None:
    time.sleep(30)  # never answers within any test timeout


def _huge(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"<!-- padding -->" * 4096
    try:
        for _ in range(HUGE_BYTES // len(chunk) + 2):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        h.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass


_BOMB = gzip.compress(b"<rss>" + b" " * 50_000_000, compresslevel=9)


def _gzip_bomb(h: BaseHTTPRequestHandler) -> None:
    h.send_plain(200, _BOMB, {"Content-Encoding": "gzip"}, "application/rss+xml")  # type: ignore[attr-defined]


def _garbage(h: BaseHTTPRequestHandler) -> None:
    h.send_plain(200, bytes(range(256)) * 40, {}, "application/rss+xml")  # type: ignore[attr-defined]


def _encode(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body))
    if encoding == "deflate-raw":
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return packer.compress(body) + packer.flush()
    return zlib.compress(body) if encoding == "deflate" else gzip.compress(body)


def _encoded(h: BaseHTTPRequestHandler) -> None:
    """``/bad/encoded?enc=gzip,br``: site/feed.xml with those content encodings applied."""
    body = (DATA / "site" / "feed.xml").read_bytes()
    names = [n for n in hostile.query_value(h, "enc").split(",") if n]
    for name in names:
        body = _encode(body, name)
    header = ", ".join("deflate" if n == "deflate-raw" else n for n in names)
    h.send_plain(200, body, {"Content-Encoding": header}, "application/rss+xml")  # type: ignore[attr-defined]


BAD_ROUTES = {
    "/bad/500": _status(500),
    "/bad/429": _status(429, {"Retry-After": "3600"}),
    "/bad/slow": _drip,
    "/bad/hang": _hang,
    "/bad/loop": _redirect("/bad/loop"),
    "/bad/hop1": _redirect("/bad/hop2"),
    "/bad/hop2": _redirect("/site/feed.xml"),
    "/bad/huge": _huge,
    "/bad/gzip-bomb": _gzip_bomb,
    "/bad/garbage": _garbage,
    "/bad/encoded": _encoded,
    **hostile.ROUTES,  # redirect anywhere, trickled headers, bombs (see tests/support/hostile.py)
}


@pytest.fixture(scope="session")
def web() -> Iterator[FixtureServer]:
    """tests/data served on 127.0.0.1, plus the bad-server routes under /bad/."""
    with FixtureServer(DATA, routes=BAD_ROUTES) as server:
        yield server


@pytest.fixture
def fresh_web() -> Iterator[FixtureServer]:
    """A function-scoped server, for tests that count requests or change content."""
    with FixtureServer(DATA, routes=BAD_ROUTES) as server:
        yield server


def _pg_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a private schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'framewatch.db'}"
        return
    base = _pg_url()
    if base is None:
        pytest.skip(
            f"PostgreSQL tests need {PG_URL_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    with private_schema(base) as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database's session factory."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> CliResult:
    """Run `framewatch ARGS` as a user would: a subprocess of the installed package."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full_env.pop("FRAMEWATCH_CONFIG", None)
    full_env.pop("FRAMEWATCH_DATABASE_URL", None)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def write_config(path: Path, db_url: str, feeds: list[dict[str, object]], extra: str = "") -> Path:
    """A config file with these feeds, loopback allowed (the SSRF guard is for the real web)."""
    lines = [
        f'[database]\nurl = "{db_url}"\n',
        "[fetch]\nallow_private_addresses = true\ntimeout_s = 3\n",
    ]
    for feed in feeds:
        lines.append("[[feeds]]")
        for key, value in feed.items():
            rendered = str(value).lower() if isinstance(value, bool) else f'"{value}"'
            lines.append(f"{key} = {rendered}")
        lines.append("")
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path
