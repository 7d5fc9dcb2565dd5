"""The crawl fixture site: tests/data/crawlsite served on 127.0.0.1, plus bad-page routes.

"The Baltic Ledger" is a fictional outlet. Its listing pages (three, then an endless
``/news/archive?page=N`` pager) and its sitemaps (an index, a news sitemap and a gzipped
archive) lead to articles in five languages with JSON-LD, plain, malformed and lying
markup, and to the bad cases: a robots.txt-disallowed page, a 404, a JSON answer, a body
over the size cap, a redirect chain, a 503 that succeeds on retry, a page without an
article, duplicate links with tracking tags. ``expected.json`` holds each article's text.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingest.config.settings import Settings, settings_from_mapping
from ingest.demo.webfixture import FixtureServer

SITE_DIR = Path(__file__).parents[1] / "data" / "crawlsite"
ARTICLE_PATTERN = r"/(news|private)/20\d\d/[\w-]+\.html$"
MAX_BYTES = 100_000  # the live blog route sends three times as much

Route = Callable[[BaseHTTPRequestHandler], None]


def expected_articles() -> list[dict[str, Any]]:
    data = json.loads((SITE_DIR / "expected.json").read_text(encoding="utf-8"))
    return list(data["articles"])


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str, **headers: str) -> None:
    h.send_plain(status, body, headers, ctype)  # type: ignore[attr-defined]


def _redirect(status: int, target: str) -> Route:
    return lambda h: _send(h, status, b"", "text/plain", Location=target)


def _huge(h: BaseHTTPRequestHandler) -> None:
    """A chunked HTML body three times the size cap (no Content-Length to refuse early)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"<p>" + b"update " * 2000 + b"</p>\n"
    try:
        for _ in range(3 * MAX_BYTES // len(chunk) + 1):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        h.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass


def _query_number(h: BaseHTTPRequestHandler, name: str) -> int:
    values = parse_qs(urlsplit(h.path).query).get(name, ["1"])
    return int(values[0]) if values[0].isdigit() else 1


def _listing(title: str, links: list[tuple[str, str]], next_href: str) -> bytes:
    items = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f'<ul>{items}</ul><a rel="next" href="{next_href}">Older</a></body></html>'
    ).encode()


def _archive_pager(h: BaseHTTPRequestHandler) -> None:
    """An endless ``?page=N``: every page repeats page 3's links and links to page N+1."""
    n = _query_number(h, "page")
    links = [
        ("/news/2025/broken-markup-en.html", "Families wait"),
        ("/news/2025/missing-report.html", "Deleted"),
        ("/news/2025/minsk-frees-52.html?utm_campaign=archive", "Release"),
    ]
    _send(h, 200, _listing(f"Archive {n}", links, f"/news/archive?page={n + 1}"), "text/html")


def _calendar(h: BaseHTTPRequestHandler) -> None:
    """A calendar trap: each day links one new (missing) story and the next day, forever."""
    day = _query_number(h, "day")
    links = [(f"/trap/2025/story-{day}.html", f"Story of day {day}")]
    _send(h, 200, _listing(f"Day {day}", links, f"/trap/calendar?day={day + 1}"), "text/html")


def _flaky() -> Route:
    calls: list[int] = []

    def route(h: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            _send(h, 503, b"try again", "text/plain")
        else:
            body = b"<html><body><h1>Back again</h1><p>Nothing to read here.</p></body></html>"
            _send(h, 200, body, "text/html; charset=utf-8")

    return route


def _gzipped(server: FixtureServer, path: str) -> Route:
    """A gzip file served as such (no Content-Encoding): the sitemap reader must gunzip."""

    def route(h: BaseHTTPRequestHandler) -> None:
        body = gzip.compress(server.body_for(path) or b"")
        _send(h, 200, body, "application/x-gzip")

    return route


def site_routes(server: FixtureServer) -> dict[str, Route]:
    return {
        "/news/2025/data-export.html": lambda h: _send(h, 200, b'{"rows": []}', "application/json"),
        "/news/2025/huge-liveblog.html": _huge,
        "/news/2025/old-address.html": _redirect(301, "/go/old-address"),
        "/go/old-address": _redirect(302, "/news/2025/pardon-pl.html"),
        "/news/2025/flaky.html": _flaky(),
        "/news/archive": _archive_pager,
        "/trap/calendar": _calendar,
        "/sitemaps/archive-2024.xml.gz": _gzipped(server, "/sitemaps/archive-2024.xml"),
    }


def crawl_server() -> FixtureServer:
    """A Baltic Ledger server (start it with ``with``)."""
    server = FixtureServer(SITE_DIR)
    server.routes.update(site_routes(server))
    return server


def crawl_config(base: str, database_url: str, **fetch: Any) -> dict[str, Any]:
    """A config mapping with the Ledger (listings and sitemaps) and the calendar trap."""
    return {
        "database": {"url": database_url},
        "fetch": {
            "allow_private_addresses": True,
            "timeout_s": 5,
            "max_bytes": MAX_BYTES,
            "concurrency": 4,
            **fetch,
        },
        "crawl": {"start_delay_s": 0, "retries": 1, "retry_backoff_s": 0.2, "time_limit": "60s"},
        "sites": [
            {
                "name": "ledger",
                "start_urls": [f"{base}/news/index.html"],
                "sitemap_urls": [f"{base}/sitemap.xml"],
                "article_pattern": ARTICLE_PATTERN,
                "outlet": "ledger.example",
                "group": "by_independent",
            },
            {
                "name": "trap",
                "start_urls": [f"{base}/trap/calendar?day=1"],
                "article_pattern": r"/trap/2025/",
                "max_depth": 2,
            },
        ],
    }


def crawl_settings_for(base: str, database_url: str, **fetch: Any) -> Settings:
    return settings_from_mapping(crawl_config(base, database_url, **fetch))
