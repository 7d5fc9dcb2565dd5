"""Issue 9's hostile-input checks: SSRF guard, bombs and slow servers, XML attacks, fuzzing.

A canary (a plain socket server on loopback) must see zero connections while the guard
is on, for every address form and every entry point; a socket spy sees every connection
the fetcher tries to open and lets only loopback ones through, so nothing here can ever
send a packet off this machine, even with a broken guard.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bench.stress import fuzz_feeds
from ingest.config.settings import load_settings
from ingest.demo.webfixture import FixtureServer
from ingest.fetch.client import Fetcher
from ingest.fetch.netguard import IPAddress
from ingest.model.errors import BlockedAddress, FetchError, ParseError
from ingest.sources.feeds import parse_feed
from ingest.sources.poll import poll_feeds
from storage import migrate
from storage.db import make_engine, make_session_factory
from tests.conftest import write_config
from tests.support import hostile

ALL_FORMS = hostile.LOOPBACK_FORMS + hostile.OTHER_FORMS
NOT_A_URL = {"0177.0.0.1"}  # httpx refuses the URL itself (FetchError, not BlockedAddress)


@pytest.fixture
def canary() -> Iterator[hostile.Canary]:
    with hostile.Canary() as listener:
        yield listener


@pytest.fixture
def spy() -> Iterator[hostile.SocketSpy]:
    with hostile.socket_spy() as watcher:
        yield watcher


def _only(server: FixtureServer) -> object:
    """An address policy that admits exactly the fixture server: the guard stays on."""
    port = int(server.base_url.rsplit(":", 1)[1])

    def allowed(ip: IPAddress, to_port: int) -> bool:
        return str(ip) == "127.0.0.1" and to_port == port

    return allowed


def _guarded(**kwargs: object) -> Fetcher:
    return Fetcher("t", 3, 100_000, resolver=hostile.test_resolver, **kwargs)  # type: ignore[arg-type]


def _refusals(fetcher: Fetcher, urls: dict[str, str]) -> list[str]:
    """Forms that were not refused as they should be (empty when all is well)."""
    wrong = []
    for form, url in urls.items():
        expected = FetchError if form in NOT_A_URL else BlockedAddress
        try:
            fetcher.fetch(url)
            wrong.append(f"{form}: fetched")
        except FetchError as exc:
            if not isinstance(exc, expected):
                wrong.append(f"{form}: {type(exc).__name__} {exc}")
    return wrong


def test_canary_counts_when_the_guard_is_off(canary: hostile.Canary) -> None:
    """The control: without the guard the same URLs do reach the canary."""
    with Fetcher("t", 2, 10_000, allow_private_addresses=True) as fetcher:
        for form in ("127.1", "2130706433", "[::ffff:127.0.0.1]", "localhost"):
            with pytest.raises(FetchError):
                fetcher.fetch(hostile.form_url(form, canary.port))
    assert canary.settled() == 4


def test_every_form_refused_for_a_feed_url(canary: hostile.Canary, spy: hostile.SocketSpy) -> None:
    urls = {form: hostile.form_url(form, canary.port) for form in ALL_FORMS}
    urls |= {url: url for url in hostile.SCHEME_FORMS}
    with _guarded() as fetcher:
        assert _refusals(fetcher, urls) == []
    assert canary.settled() == 0 and spy.attempts == []


def test_every_form_refused_on_a_redirect_hop(
    web: FixtureServer, canary: hostile.Canary, spy: hostile.SocketSpy
) -> None:
    targets = {form: hostile.form_url(form, canary.port) for form in ALL_FORMS}
    targets |= {url: url for url in hostile.SCHEME_FORMS}
    redirect = f"{web.base_url}/bad/redirect?to="
    urls = {form: redirect + quote(target, safe="") for form, target in targets.items()}
    with _guarded(address_allowed=_only(web)) as fetcher:
        ok = fetcher.fetch(f"{web.base_url}/bad/redirect?to=/site/feed.xml")
        assert ok.status == 200  # the policy admits the fixture server: the guard is on
        assert _refusals(fetcher, urls) == []
        with pytest.raises(BlockedAddress, match=r"redirected to http://127\.1:"):
            fetcher.fetch(urls["127.1"])
    assert canary.settled() == 0
    assert spy.to_port(canary.port) == 0 and spy.outside_loopback() == 0


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'fw.db'}")
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _entry_links_feed(port: int) -> bytes:
    items = "".join(
        f"<item><title>Belarus prisoners {i}</title><link>{hostile.form_url(form, port, f'/{i}')}"
        f"</link><guid>ssrf-{i}</guid></item>"
        for i, form in enumerate(ALL_FORMS)
    )
    return f'<rss version="2.0"><channel><title>ssrf</title>{items}</channel></rss>'.encode()


def test_entry_links_are_refused_when_polling(
    fresh_web: FixtureServer,
    sqlite_store: sessionmaker[Session],
    tmp_path: Path,
    canary: hostile.Canary,
    spy: hostile.SocketSpy,
) -> None:
    fresh_web.overrides["/ssrf.xml"] = _entry_links_feed(canary.port)
    feed = {"name": "ssrf", "url": f"{fresh_web.base_url}/ssrf.xml", "fetch_articles": True}
    settings = load_settings(write_config(tmp_path / "fw.toml", "sqlite://", [feed]))
    with _guarded(address_allowed=_only(fresh_web)) as fetcher:
        report = poll_feeds(settings, sqlite_store, fetcher)
    [feed_report] = report.feeds
    assert feed_report.status == "ok" and feed_report.entries == len(ALL_FORMS)
    assert feed_report.page_errors >= len(ALL_FORMS) - 2  # LOCALHOST = localhost, 0 = 0.0.0.0
    assert canary.settled() == 0
    assert spy.to_port(canary.port) == 0 and spy.outside_loopback() == 0


@pytest.mark.parametrize(
    ("path", "max_bytes"),
    [
        ("/bad/gzip-bomb-10g", 20_000_000),  # 10.6 MB of gzip inflating to 10 GiB
        ("/bad/brotli-bomb", 20_000_000),  # 304 bytes of brotli inflating to 200 MB
        ("/bad/nested-bomb", 20_000_000),  # "gzip, gzip" inflating to 10 GiB
    ],
)
def test_bombs_stop_at_the_cap_in_bounded_memory(
    web: FixtureServer, path: str, max_bytes: int
) -> None:
    probe = hostile.fetch_probe(web.base_url + path, max_bytes)
    assert probe["outcome"].startswith("ResponseTooLarge")
    assert probe["seconds"] < 5 and probe["rss_growth_mb"] < 150


def test_headers_trickled_byte_by_byte_end_at_the_deadline(web: FixtureServer) -> None:
    with Fetcher("t", timeout_s=1.5, max_bytes=10_000, allow_private_addresses=True) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError):
            fetcher.fetch(f"{web.base_url}/bad/slow-headers")
        assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("name", sorted(hostile.xml_attacks("http://127.0.0.1:9/x")))
def test_xml_attacks_are_refused_quickly(name: str, canary: hostile.Canary) -> None:
    body = hostile.xml_attacks(f"http://127.0.0.1:{canary.port}/dtd")[name]
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ParseError, match="unsafe XML"):
            parse_feed(body, "http://example.org/feed.xml")
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1 and peak < 100_000_000
    assert canary.settled(0.1) == 0


def test_fuzzed_feeds_never_escape(tmp_path: Path) -> None:
    """The CI variant of ``python -m bench.stress.fuzz_feeds`` (which runs 100,000 inputs)."""
    report = fuzz_feeds.run(3_000, seed=9, seeds=fuzz_feeds.load_seeds())
    print(report.summary())
    assert report.inputs == 3_000
    assert report.escaped == [] and report.violations == []
    assert report.slowest_cpu_s < fuzz_feeds.MAX_PARSE_S


LIMIT_PAGES = {
    "/bad/brotli-bomb": "too_large",  # 304 bytes inflating to 200 MB: the cap after decoding
    "/bad/nested-bomb": "too_large",  # "gzip, gzip" inflating to 10 GiB
    "/bad/loop": "too_many_redirects",
    "/bad/trickle": "timeout",  # a body at 1 byte/s
    "/bad/slow-headers": "timeout",  # headers at 5 bytes/s
    "/bad/silent": "timeout",  # connects, never answers
}


def test_site_crawls_get_the_same_limits(fresh_web: FixtureServer, tmp_path: Path) -> None:
    """Item 2 for Scrapy: the crawl process stops bombs at the body cap (after decoding),
    redirect loops at the redirect cap and slow servers at the fetch deadline."""
    from ingest.config.settings import settings_from_mapping
    from ingest.sources.crawl import crawl_sites

    links = "".join(f'<a href="{path}">{path}</a>' for path in LIMIT_PAGES)
    fresh_web.overrides["/limits/index.html"] = f"<html><body>{links}</body></html>".encode()
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    settings = settings_from_mapping({
        "database": {"url": url},
        "fetch": {"allow_private_addresses": True, "timeout_s": 2, "max_bytes": 1_000_000},
        "crawl": {"start_delay_s": 0, "retries": 0, "time_limit": "60s"},
        "sites": [{"name": "limits", "start_urls": [f"{fresh_web.base_url}/limits/index.html"],
                   "article_pattern": "/bad/"}],
    })  # fmt: skip
    engine = make_engine(url)
    migrate.upgrade(engine)
    hostile.brotli_bomb()  # the bombs are built once, before the deadline's clock runs
    hostile.nested_gzip_bomb()
    started = time.monotonic()
    [report] = crawl_sites(settings, make_session_factory(engine), names=["limits"])
    elapsed = time.monotonic() - started
    engine.dispose()
    expected: dict[str, int] = {}
    for kind in LIMIT_PAGES.values():
        expected[kind] = expected.get(kind, 0) + 1
    assert report.errors == expected
    assert len(fresh_web.requests_for("/bad/loop")) == 11  # the first request and 10 hops
    assert elapsed < 45  # the three slow pages end at the 2 s deadline, not after minutes
