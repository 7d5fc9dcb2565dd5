"""Feeds that fail and recover (issue 9, item 8), on the service's scheduling path.

A real feed server answers 500 ten times, or 429 with ``Retry-After: 3600``; the polls
are the service's due-only polls (``PollOptions(due_only=True)``, what ``Service.poll_due``
runs every tick) on a simulated clock, so hours of backoff pass in a second, and every
request the server receives is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings, load_settings
from ingest.demo.webfixture import FixtureServer
from ingest.fetch.client import Fetcher
from ingest.sources.poll import MAX_BACKOFF, PollOptions, PollReport, poll_feeds
from storage.db import unit_of_work
from storage.health import SourceHealth, source_health
from tests.conftest import DATA, write_config

FEED_PATH = "/recovering.xml"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DUE_ONLY = PollOptions(due_only=True)  # the service's tick: only feeds whose time has come


class Script:
    """Answers ``failures`` requests with ``status`` (and headers), then the real feed."""

    def __init__(self, failures: int, status: int, headers: dict[str, str]) -> None:
        self.failures, self.status, self.headers = failures, status, headers
        self.server: FixtureServer | None = None

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        assert self.server is not None
        if len(self.server.requests_for(FEED_PATH)) < self.failures:
            h.send_plain(self.status, b"try later", self.headers)  # type: ignore[attr-defined]
            return
        body = self.server.body_for("/site/feed.xml") or b""
        h.send_plain(200, body, {}, "application/rss+xml")  # type: ignore[attr-defined]


@pytest.fixture
def scripted() -> Iterator[Callable[[int, int, dict[str, str]], FixtureServer]]:
    servers: list[FixtureServer] = []

    def start(failures: int, status: int, headers: dict[str, str]) -> FixtureServer:
        script = Script(failures, status, headers)
        server = FixtureServer(DATA, routes={FEED_PATH: script}).__enter__()
        script.server = server
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _settings(tmp_path: Path, database_url: str, server: FixtureServer) -> Settings:
    feed = {"name": "recovering", "url": server.base_url + FEED_PATH, "fetch_articles": True}
    return load_settings(write_config(tmp_path / "fw.toml", database_url, [feed]))


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher("fw-test", 3, 1_000_000, allow_private_addresses=True) as client:
        yield client


def _poll(
    settings: Settings, store: sessionmaker[Session], fetcher: Fetcher, clock: Clock
) -> PollReport:
    return poll_feeds(settings, store, fetcher, now=clock, options=DUE_ONLY)


def _health(store: sessionmaker[Session]) -> SourceHealth:
    with unit_of_work(store) as session:
        [health] = source_health(session)
    return health


def test_a_feed_failing_ten_times_backs_off_and_recovers_by_itself(
    scripted: Callable[[int, int, dict[str, str]], FixtureServer],
    store: sessionmaker[Session],
    fetcher: Fetcher,
    database_url: str,
    tmp_path: Path,
) -> None:
    server = scripted(10, 500, {})
    settings = _settings(tmp_path, database_url, server)
    clock = Clock(T0)
    waits: list[timedelta] = []
    for attempt in range(1, 11):
        [report] = _poll(settings, store, fetcher, clock).feeds
        assert report.status == "http_status" and "500" in (report.error or "")
        health = _health(store)
        assert health.consecutive_errors == attempt and health.failing_since == T0
        assert health.next_poll_at is not None
        waits.append(health.next_poll_at - clock.now)
        # A tick just before the feed's time comes and goes without a request to it.
        clock.now = health.next_poll_at - timedelta(seconds=1)
        assert _poll(settings, store, fetcher, clock).feeds == []
        assert len(server.requests_for(FEED_PATH)) == attempt
        clock.now = health.next_poll_at
    interval = settings.schedule.poll_interval
    expected = [min(interval * 2**n, MAX_BACKOFF) for n in range(10)]
    assert waits == expected  # 15m, 30m, 1h, ... doubling, then every 12 hours, never dropped
    [recovered] = _poll(settings, store, fetcher, clock).feeds
    assert recovered.status == "ok" and recovered.stored == 4
    health = _health(store)
    assert health.consecutive_errors == 0 and health.failing_since is None
    assert health.last_error is None and health.error_count == 10 and health.articles == 4
    assert health.next_poll_at == clock.now + interval  # back on the normal rhythm
    assert [r.status for r in server.requests_for(FEED_PATH)] == [500] * 10 + [200]


def test_retry_after_an_hour_means_no_request_within_the_hour(
    scripted: Callable[[int, int, dict[str, str]], FixtureServer],
    store: sessionmaker[Session],
    fetcher: Fetcher,
    database_url: str,
    tmp_path: Path,
) -> None:
    server = scripted(1, 429, {"Retry-After": "3600"})
    settings = _settings(tmp_path, database_url, server)
    clock = Clock(T0)
    [limited] = _poll(settings, store, fetcher, clock).feeds
    assert limited.status == "http_status" and "429" in (limited.error or "")
    assert _health(store).next_poll_at == T0 + timedelta(hours=1)
    # Service ticks through the hour, past the feed's normal 15-minute interval, send
    # nothing to it.
    for minutes in (0.5, 14.5, 15, 16, 30, 45, 59, 59.99):
        clock.now = T0 + timedelta(minutes=minutes)
        assert _poll(settings, store, fetcher, clock).feeds == []
    # A one-shot poll in the hour skips it too, saying until when.
    [skipped] = poll_feeds(settings, store, fetcher, now=clock).feeds
    assert skipped.status == "skipped" and "09:00" in (skipped.error or "")
    assert len(server.requests_for(FEED_PATH)) == 1
    clock.now = T0 + timedelta(hours=1)
    [back] = _poll(settings, store, fetcher, clock).feeds
    assert back.status == "ok" and back.stored == 4
    assert [r.status for r in server.requests_for(FEED_PATH)] == [429, 200]
    assert _health(store).consecutive_errors == 0
