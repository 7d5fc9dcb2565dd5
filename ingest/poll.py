"""Polling feeds: conditional GET, parse, fetch new entries' pages, hand items to the pipeline.

Network work runs in a thread pool; every database write happens in the calling thread,
one unit of work per feed, so a failing feed never touches another feed's data.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ingest.config import FeedSettings, Settings
from ingest.errors import FetchError, HTTPStatusError, ParseError
from ingest.feeds import FeedEntry, ParsedFeed, parse_feed
from ingest.fetch import Fetcher, FetchResult
from ingest.items import RawItem
from ingest.pipeline import DUPLICATE, IRRELEVANT, STORED, ingest_item, record_sighting
from ingest.urls import canonicalize_url
from storage import repo
from storage.db import unit_of_work
from storage.models import FeedState

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
MAX_BACKOFF = timedelta(hours=12)
MAX_RETRY_AFTER = timedelta(days=7)


@dataclass
class FeedReport:
    name: str
    status: str = "ok"  # ok | not_modified | unchanged | skipped | <error kind>
    entries: int = 0
    new_entries: int = 0
    stored: int = 0
    duplicates: int = 0
    irrelevant: int = 0
    page_errors: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class PollReport:
    feeds: list[FeedReport] = field(default_factory=list)

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.feeds)

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.error and f.status != "skipped"]


@dataclass(frozen=True)
class _Validators:
    etag: str | None
    last_modified: str | None
    body_hash: str | None


@dataclass
class _Harvest:
    """What the network side of one feed poll produced, for the writer to apply."""

    feed: FeedSettings
    fetch: FetchResult | None = None
    parsed: ParsedFeed | None = None
    items: list[RawItem] = field(default_factory=list)
    carried: list[tuple[FeedEntry, int]] = field(default_factory=list)
    page_logs: list[dict[str, object]] = field(default_factory=list)
    error: Exception | None = None
    unchanged: bool = False


def sync_config_sources(
    settings: Settings, factory: sessionmaker[Session], now: datetime
) -> dict[str, int]:
    specs = [repo.SourceSpec(f.name, "feed", f.url, f.group) for f in settings.feeds]
    specs += [
        repo.SourceSpec(s.name, "site", (s.start_urls or s.sitemap_urls)[0], s.group)
        for s in settings.sites
    ]
    with unit_of_work(factory) as session:
        return repo.sync_sources(session, specs, now)


def poll_feeds(
    settings: Settings,
    factory: sessionmaker[Session],
    fetcher: Fetcher,
    only: Sequence[str] = (),
    force: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_feed_done: Callable[[FeedReport], None] | None = None,
) -> PollReport:
    """Poll the configured feeds (or those named in ``only``) once."""
    feeds = [settings.feed(name) for name in only] if only else list(settings.feeds)
    source_ids = sync_config_sources(settings, factory, now())
    report = PollReport()
    due, waiting = _split_due(factory, feeds, source_ids, force, now())
    for feed, until in waiting:
        skipped = FeedReport(
            feed.name, status="skipped", error=f"backing off until {until:%Y-%m-%d %H:%M} UTC"
        )
        report.feeds.append(skipped)
    validators = _load_validators(factory, [source_ids[f.name] for f in due])
    with (
        ThreadPoolExecutor(settings.fetch.concurrency, "fw-feed") as feed_pool,
        ThreadPoolExecutor(settings.fetch.concurrency, "fw-page") as page_pool,
    ):
        pages = _SharedPages(page_pool, fetcher)
        futures = [
            feed_pool.submit(
                _harvest,
                feed,
                source_ids[feed.name],
                validators[source_ids[feed.name]],
                settings,
                factory,
                fetcher,
                pages,
                now,
            )
            for feed in due
        ]
        for future in futures:
            harvest = future.result()
            feed_report = _apply(harvest, source_ids[harvest.feed.name], settings, factory, now())
            report.feeds.append(feed_report)
            if on_feed_done:
                on_feed_done(feed_report)
    return report


def _split_due(
    factory: sessionmaker[Session],
    feeds: list[FeedSettings],
    ids: dict[str, int],
    force: bool,
    now: datetime,
) -> tuple[list[FeedSettings], list[tuple[FeedSettings, datetime]]]:
    """A one-shot poll skips only feeds that are backing off after errors or Retry-After."""
    due: list[FeedSettings] = []
    waiting: list[tuple[FeedSettings, datetime]] = []
    with unit_of_work(factory) as session:
        for feed in feeds:
            state = session.get(FeedState, ids[feed.name])
            backing_off = (
                state is not None
                and state.consecutive_errors > 0
                and state.next_poll_at is not None
                and state.next_poll_at > now
            )
            if backing_off and not force:
                assert state is not None and state.next_poll_at is not None
                waiting.append((feed, state.next_poll_at))
            else:
                due.append(feed)
    return due, waiting


def _load_validators(
    factory: sessionmaker[Session], source_ids: list[int]
) -> dict[int, _Validators]:
    with unit_of_work(factory) as session:
        result = {}
        for source_id in source_ids:
            state = repo.feed_state(session, source_id)
            result[source_id] = _Validators(state.etag, state.last_modified, state.body_hash)
        return result


def _harvest(
    feed: FeedSettings,
    source_id: int,
    validators: _Validators,
    settings: Settings,
    factory: sessionmaker[Session],
    fetcher: Fetcher,
    pages: _SharedPages,
    now: Callable[[], datetime],
) -> _Harvest:
    """Network side of one feed: never raises, errors travel in the harvest."""
    harvest = _Harvest(feed)
    try:
        harvest.fetch = fetcher.fetch(
            feed.url, validators.etag, validators.last_modified, FEED_ACCEPT
        )
        if harvest.fetch.not_modified:
            return harvest
        if _body_hash(harvest.fetch.body) == validators.body_hash:
            harvest.unchanged = True  # stale validators, same bytes: skip parsing
            return harvest
        harvest.parsed = parse_feed(
            harvest.fetch.body,
            harvest.fetch.final_url,
            harvest.fetch.content_type,
            settings.fetch.max_entries_per_feed,
        )
        new_entries, harvest.carried = _new_entries(factory, source_id, harvest.parsed.entries)
        harvest.items = _raw_items(feed, new_entries, pages, harvest, now)
    except (FetchError, ParseError) as exc:
        harvest.error = exc
    except Exception as exc:  # a bug must cost one feed, not the poll
        log.exception("unexpected error polling feed", extra={"source": feed.name})
        harvest.error = exc
    return harvest


def _body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _new_entries(
    factory: sessionmaker[Session], source_id: int, entries: Sequence[FeedEntry]
) -> tuple[list[FeedEntry], list[tuple[FeedEntry, int]]]:
    """Split entries into ones never seen, and stored articles this source carries anew.

    Anything stored or rejected before is not fetched again; a stored article that
    another source carried first only gains a sighting.
    """
    canonical = {entry.link: canonicalize_url(entry.link) for entry in entries}
    with unit_of_work(factory) as session:
        known = repo.known_entries(
            session, source_id, canonical.values(), [e.guid for e in entries if e.guid]
        )
    fresh: list[FeedEntry] = []
    carried: list[tuple[FeedEntry, int]] = []
    seen_now: set[str] = set()
    for entry in entries:
        key = canonical[entry.link]
        if key in seen_now:
            continue
        seen_now.add(key)
        article_id = known.stored.get(key)
        if article_id is not None:
            if article_id not in known.sighted:
                carried.append((entry, article_id))
        elif key not in known.rejected and not (entry.guid and entry.guid in known.guids):
            fresh.append(entry)
    return fresh, carried


def _raw_items(
    feed: FeedSettings,
    entries: list[FeedEntry],
    shared_pages: _SharedPages,
    harvest: _Harvest,
    now: Callable[[], datetime],
) -> list[RawItem]:
    pages: list[FetchResult | FetchError | None] = [None] * len(entries)
    if feed.fetch_articles:
        futures = [shared_pages.fetch(e.link) for e in entries]
        pages = [future.result() for future in futures]
    items = []
    for entry, page in zip(entries, pages, strict=True):
        html = final_url = None
        if isinstance(page, FetchResult):
            final_url = page.final_url
            html = page.body if _is_html(page) else None
            harvest.page_logs.append(_page_log(page, "ok" if html else "not_html", None))
        elif isinstance(page, FetchError):
            harvest.page_logs.append(_page_log(None, page.kind, page, entry.link))
        items.append(
            RawItem(
                source=feed.name,
                url=entry.link,
                fetched_at=now(),
                guid=entry.guid,
                title=entry.title,
                summary=entry.summary,
                author=entry.author,
                published=entry.published,
                language_hint=entry.language or feed.language,
                html=html,
                final_url=final_url,
                outlet=feed.outlet,
            )
        )
    return items


class _SharedPages:
    """Page fetches shared by all feeds of one poll: two feeds carrying the same article
    in the same poll cause one request, not two."""

    def __init__(self, pool: Executor, fetcher: Fetcher) -> None:
        self._pool = pool
        self._fetcher = fetcher
        self._futures: dict[str, Future[FetchResult | FetchError]] = {}
        self._lock = threading.Lock()

    def fetch(self, url: str) -> Future[FetchResult | FetchError]:
        key = canonicalize_url(url)
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._pool.submit(_fetch_page, self._fetcher, url)
            return self._futures[key]


def _fetch_page(fetcher: Fetcher, url: str) -> FetchResult | FetchError:
    try:
        return fetcher.fetch(url, accept=PAGE_ACCEPT)
    except FetchError as exc:
        return exc


def _is_html(page: FetchResult) -> bool:
    kind = page.content_type.split(";")[0].strip().lower()
    return kind in ("", "text/html", "application/xhtml+xml") or page.body[
        :100
    ].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def _page_log(
    page: FetchResult | None, outcome: str, error: FetchError | None, url: str = ""
) -> dict[str, object]:
    return {
        "url": page.url if page else url,
        "kind": "article",
        "status_code": page.status if page else getattr(error, "status", None),
        "outcome": outcome,
        "error": str(error) if error else None,
        "duration_ms": page.elapsed_ms if page else 0,
        "bytes_read": len(page.body) if page else 0,
    }


def _apply(
    harvest: _Harvest,
    source_id: int,
    settings: Settings,
    factory: sessionmaker[Session],
    now: datetime,
) -> FeedReport:
    """Writer side of one feed poll: items through the pipeline, then state and log."""
    report = FeedReport(harvest.feed.name)
    with unit_of_work(factory) as session:
        state = repo.feed_state(session, source_id)
        state.last_polled_at = now
        if harvest.error is not None:
            _record_failure(state, harvest.error, report, settings, now)
        else:
            _ingest_items(session, harvest, source_id, settings, report, now)
            _record_success(state, harvest, report, settings, now)
        for page_log in harvest.page_logs:
            repo.log_fetch(session, source_id=source_id, started_at=now, **page_log)
        report.page_errors = sum(1 for p in harvest.page_logs if p["error"])
        repo.log_fetch(
            session,
            source_id=source_id,
            url=harvest.feed.url,
            kind="feed",
            started_at=now,
            duration_ms=harvest.fetch.elapsed_ms if harvest.fetch else 0,
            status_code=harvest.fetch.status
            if harvest.fetch
            else getattr(harvest.error, "status", None),
            outcome=report.status,
            error=report.error or ("; ".join(report.warnings) or None),
            bytes_read=len(harvest.fetch.body) if harvest.fetch else 0,
            items_found=report.entries,
            items_new=report.stored,
        )
    log.info(
        "polled feed: %s entries, %s new, %s stored, status %s",
        report.entries,
        report.new_entries,
        report.stored,
        report.status,
        extra={"source": harvest.feed.name, "url": harvest.feed.url},
    )
    return report


def _ingest_items(
    session: Session,
    harvest: _Harvest,
    source_id: int,
    settings: Settings,
    report: FeedReport,
    now: datetime,
) -> None:
    stories = settings.active_stories
    report.entries = len(harvest.parsed.entries) if harvest.parsed else 0
    report.new_entries = len(harvest.items)
    for entry, article_id in harvest.carried:
        if record_sighting(session, article_id, source_id, entry.link, entry.guid, now):
            report.duplicates += 1
    for item in harvest.items:
        try:
            with session.begin_nested():  # one bad item rolls back alone
                outcome = ingest_item(
                    session, item, source_id, stories, window=settings.dedup.window_delta
                )
        except Exception as exc:
            log.exception(
                "item failed in the pipeline", extra={"source": item.source, "url": item.url}
            )
            report.warnings.append(f"item {item.url} failed: {exc}")
            continue
        if outcome.status == STORED:
            report.stored += 1
        elif outcome.status == DUPLICATE:
            report.duplicates += 1
        elif outcome.status == IRRELEVANT:
            report.irrelevant += 1


def _record_success(
    state: FeedState, harvest: _Harvest, report: FeedReport, settings: Settings, now: datetime
) -> None:
    fetch = harvest.fetch
    assert fetch is not None
    if fetch.not_modified:
        report.status = "not_modified"
    elif harvest.unchanged:
        report.status = "unchanged"
    else:
        state.etag, state.last_modified = fetch.etag, fetch.last_modified
        state.body_hash = _body_hash(fetch.body)
    if harvest.parsed:
        report.warnings.extend(harvest.parsed.warnings)
    state.last_success_at = now
    state.last_status = report.status
    state.consecutive_errors = 0
    state.failing_since = None
    state.last_error = None
    state.next_poll_at = now + settings.schedule.poll_interval
    state.items_seen += report.entries
    state.items_stored += report.stored


def _record_failure(
    state: FeedState, error: Exception, report: FeedReport, settings: Settings, now: datetime
) -> None:
    """Never give up on a feed: back off exponentially, honour Retry-After, keep trying."""
    report.status = getattr(error, "kind", "internal_error")
    report.error = str(error) or type(error).__name__
    state.consecutive_errors += 1
    state.error_count += 1
    state.last_error = report.error
    state.last_status = report.status
    state.failing_since = state.failing_since or now
    interval = settings.schedule.poll_interval
    backoff = min(interval * 2 ** min(state.consecutive_errors - 1, 10), max(MAX_BACKOFF, interval))
    if isinstance(error, HTTPStatusError) and error.retry_after_s is not None:
        backoff = max(backoff, min(timedelta(seconds=error.retry_after_s), MAX_RETRY_AFTER))
    state.next_poll_at = now + backoff
