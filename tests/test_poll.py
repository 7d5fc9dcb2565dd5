"""The feed reader end to end: local server, real database, the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings, load_settings
from ingest.demo.webfixture import FixtureServer
from ingest.fetch.client import Fetcher
from ingest.sources.poll import poll_feeds
from storage import repo
from storage.db import unit_of_work
from storage.health import source_health
from storage.models import Article, FeedState, SeenEntry, Sighting, Source
from tests.conftest import write_config


def _settings(tmp_path: Path, url: str, base: str, feeds: list[dict[str, object]]) -> Settings:
    return load_settings(write_config(tmp_path / "fw.toml", url, feeds))


def _fetcher(settings: Settings) -> Fetcher:
    f = settings.fetch
    return Fetcher(f.user_agent, f.timeout_s, f.max_bytes, f.allow_private_addresses)


MAIN = {"name": "herald", "url": "{base}/site/feed.xml", "fetch_articles": True, "group": "western"}
MIRROR = {"name": "mirror", "url": "{base}/site/atom.xml", "fetch_articles": True}


def _feeds(base: str, *feeds: dict[str, object]) -> list[dict[str, object]]:
    return [
        {k: (v.format(base=base) if isinstance(v, str) else v) for k, v in f.items()} for f in feeds
    ]


def test_poll_stores_relevant_articles_once(
    fresh_web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    base = fresh_web.base_url
    settings = _settings(tmp_path, database_url, base, _feeds(base, MAIN, MIRROR))
    with _fetcher(settings) as fetcher:
        first = poll_feeds(settings, store, fetcher)
        second = poll_feeds(settings, store, fetcher)
    herald = next(f for f in first.feeds if f.name == "herald")
    assert herald.status == "ok"
    assert herald.stored == 4  # en, ru, be and the entry whose page is gone (summary kept)
    assert herald.irrelevant == 1  # hockey
    assert herald.page_errors == 1
    with unit_of_work(store) as session:
        articles = {a.canonical_url.rsplit("/", 1)[-1]: a for a in session.scalars(select(Article))}
        assert set(articles) == {
            "release-52.html",
            "pomilovanie.html",
            "vyzvalenne.html",
            "missing-page.html",
        }
        ru = articles["pomilovanie.html"]
        assert ru.language == "ru" and "четырнадцать" in ru.text
        assert "Related" not in ru.text and "All rights reserved" not in ru.text
        assert ru.url.endswith("utm_medium=feed")  # original URL kept, canonical cleaned
        assert articles["vyzvalenne.html"].language == "be"
        assert articles["vyzvalenne.html"].published_at == datetime(2025, 12, 13, 18, tzinfo=UTC)
        assert articles["release-52.html"].published_at == datetime(2025, 9, 11, 12, tzinfo=UTC)
        # The mirror's exact copy and its fragment link are sightings of the same article.
        mirror_id = session.scalar(select(Source.id).where(Source.name == "mirror"))
        rules = set(
            session.scalars(select(Sighting.matched_by).where(Sighting.source_id == mirror_id))
        )
        assert rules == {"content_hash", "canonical_url"}
        assert (
            repo.count(session, Sighting, Sighting.article_id == articles["release-52.html"].id)
            == 3
        )
        assert repo.count(session, SeenEntry) == 1
    # Second poll: conditional requests answered 304, nothing new stored.
    assert {f.status for f in second.feeds} == {"not_modified"}
    assert second.total("stored") == 0
    feed_requests = fresh_web.requests_for("/site/feed.xml")
    assert len(feed_requests) == 2 and feed_requests[1].status == 304
    assert feed_requests[1].headers.get("If-None-Match")
    assert len(fresh_web.requests_for("/site/articles/release-52.html")) == 1


def test_changed_feed_fetches_only_new_pages(
    fresh_web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    base = fresh_web.base_url
    settings = _settings(tmp_path, database_url, base, _feeds(base, MAIN))
    with _fetcher(settings) as fetcher:
        poll_feeds(settings, store, fetcher)
        original = (Path(__file__).parent / "data/site/feed.xml").read_bytes()
        fresh_web.overrides["/site/feed.xml"] = original.replace(
            b"</channel>", b"<!-- new --></channel>"
        )
        report = poll_feeds(settings, store, fetcher)
    assert report.feeds[0].status == "ok" and report.feeds[0].new_entries == 0
    assert len(fresh_web.requests_for("/site/articles/hockey.html")) == 1  # rejected, not refetched


def test_same_bytes_with_stale_validators_skip_parsing(
    fresh_web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    base = fresh_web.base_url
    settings = _settings(tmp_path, database_url, base, _feeds(base, MAIN))
    with _fetcher(settings) as fetcher:
        poll_feeds(settings, store, fetcher)
        with unit_of_work(store) as session:
            for state in session.scalars(select(FeedState)):
                state.etag = '"stale"'  # the server will answer 200 with the same bytes
        report = poll_feeds(settings, store, fetcher)
    assert report.feeds[0].status == "unchanged"


BROKEN = [
    ("html", "/site/not-a-feed.html", "parse_error", "HTML page"),
    ("missing", "/site/nope.xml", "http_status", "HTTP 404"),
    ("server-error", "/bad/500", "http_status", "HTTP 500"),
    ("rate-limited", "/bad/429", "http_status", "HTTP 429"),
    ("loop", "/bad/loop", "fetch_error", "redirects"),
    ("huge", "/bad/huge", "too_large", "exceeds"),
    ("bomb", "/bad/gzip-bomb", "too_large", "exceeds"),
    ("garbage", "/bad/garbage", "parse_error", "not a feed"),
    ("slow", "/bad/slow", "timeout", "2s"),
]


def test_broken_feeds_are_recorded_and_others_go_on(
    web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    base = web.base_url
    feeds = _feeds(base, MAIN) + [{"name": n, "url": base + p} for n, p, _, _ in BROKEN]
    config = write_config(tmp_path / "fw.toml", database_url, feeds)
    config.write_text(
        config.read_text()
        .replace("timeout_s = 3", "timeout_s = 2")
        .replace(
            "allow_private_addresses = true", "allow_private_addresses = true\nmax_bytes = 1000000"
        )
    )
    settings = load_settings(config)
    now = datetime.now(UTC)
    with _fetcher(settings) as fetcher:
        report = poll_feeds(settings, store, fetcher)
        retry = poll_feeds(settings, store, fetcher)
    by_name = {f.name: f for f in report.feeds}
    assert by_name["herald"].stored == 4
    for name, _path, kind, text in BROKEN:
        assert by_name[name].status == kind, name
        assert text in (by_name[name].error or ""), name
    # A failing feed backs off: the next one-shot poll skips it, saying until when.
    skipped = {f.name for f in retry.feeds if f.status == "skipped"}
    assert skipped == {name for name, *_ in BROKEN}
    with unit_of_work(store) as session:
        health = {h.name: h for h in source_health(session)}
    limited = health["rate-limited"]
    assert limited.failing_since is not None and limited.consecutive_errors == 1
    assert limited.next_poll_at is not None and limited.next_poll_at >= now + timedelta(
        seconds=3590
    )
    assert health["herald"].failing_since is None and health["herald"].articles == 4


def test_forced_poll_and_recovery(
    fresh_web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    base = fresh_web.base_url
    settings = _settings(
        tmp_path, database_url, base, [{"name": "flaky", "url": f"{base}/flaky.xml"}]
    )
    with _fetcher(settings) as fetcher:
        assert poll_feeds(settings, store, fetcher).feeds[0].status == "http_status"
        assert poll_feeds(settings, store, fetcher, force=True).feeds[0].status == "http_status"
        fresh_web.overrides["/flaky.xml"] = (
            Path(__file__).parent / "data/site/atom.xml"
        ).read_bytes()
        recovered = poll_feeds(settings, store, fetcher, force=True).feeds[0]
    assert recovered.status == "ok"
    with unit_of_work(store) as session:
        [health] = source_health(session)
    assert (
        health.failing_since is None and health.consecutive_errors == 0 and health.error_count == 2
    )


def test_stored_text_is_clean_utf8(
    web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    base = web.base_url
    settings = _settings(
        tmp_path, database_url, base, _feeds(base, {"name": "cp", "url": "{base}/site/cp1251.xml"})
    )
    with _fetcher(settings) as fetcher:
        poll_feeds(settings, store, fetcher)
    with unit_of_work(store) as session:
        titles = list(session.scalars(select(Article.title)))
    assert titles == ["Политзаключённые Беларуси"]
