"""Polling feeds: conditional GET, parse, fetch new entries' pages, hand items to the pipeline.

Network work runs in a thread pool; every database write happens in the calling thread,
one unit of work per feed (committed item by item, so other writers are never kept waiting
long), so a failing feed never touches another feed's data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import FeedSettings, Settings
from ingest.fetch.client import Fetcher
from ingest.model.errors import HTTPStatusError
from ingest.pipeline.run import DUPLICATE, IRRELEVANT, STORED, Pipeline
from ingest.pipeline.workers import Preparer
from ingest.sources.harvest import (
    Harvest,
    PollJob,
    SharedPages,
    Validators,
    body_hash,
    harvest_feed,
)
from storage import repo
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.failures import as_storage_error
from storage.models import FeedState

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=12)
MAX_RETRY_AFTER = timedelta(days=7)
# The writer commits after each slice of WRITER_SLICE_S (not after each item: a commit
# costs as much as storing an article) and, on SQLite, then steps aside for
# SQLITE_WRITER_PAUSE_S: a waiting writer's busy handler retries every <=100 ms, so it
# finds the lock free within a few slices, while the poll loses ~10 % of its wall time.
HARVESTS_AHEAD_PER_FETCH = 2  # feeds harvested but not yet applied, per fetch thread
WRITER_SLICE_S = 0.1
SQLITE_WRITER_PAUSE_S = 0.01


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
    item_seconds: list[float] = field(default_factory=list)  # pipeline time per item


@dataclass
class PollReport:
    feeds: list[FeedReport] = field(default_factory=list)
    new_flags: int = 0

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.feeds)

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.error and f.status != "skipped"]


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


@dataclass(frozen=True)
class PollOptions:
    only: Sequence[str] = ()  # feed names; empty: every configured feed
    force: bool = False  # also poll feeds that are backing off
    due_only: bool = False  # the service: only feeds whose next poll time has come
    stop: threading.Event | None = None  # set to stop between feeds (graceful shutdown)
    sync_sources: bool = True  # register config changes first (the service does it once)
    # Recompute the flags even when this poll stored nothing: a run killed between storing
    # articles and recomputing left them stale, and a poll that stores nothing new would
    # otherwise never catch up.
    refresh_flags: bool = False


def poll_feeds(
    settings: Settings,
    factory: sessionmaker[Session],
    fetcher: Fetcher,
    only: Sequence[str] = (),
    force: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_feed_done: Callable[[FeedReport], None] | None = None,
    options: PollOptions | None = None,
    preparer: Preparer | None = None,
) -> PollReport:
    """Poll the configured feeds (or those named in ``only``) once: one batch of the
    pipeline. ``preparer``: the service's worker processes, kept across polls (default:
    this poll's own)."""
    opts = options or PollOptions(only=only, force=force, refresh_flags=True)
    feeds = [settings.feed(name) for name in opts.only] if opts.only else list(settings.feeds)
    source_ids = _source_ids(settings, factory, feeds, opts.sync_sources, now())
    report = PollReport()
    due = _due_feeds(factory, feeds, source_ids, opts, now(), report)
    pipeline = Pipeline.from_settings(settings, factory)
    validators = _load_validators(factory, list(source_ids.values()))
    with (  # the page pool closes last: a feed thread still running may hand it pages
        _reader(factory) as reader,
        _preparer(preparer) as workers,
        ThreadPoolExecutor(settings.fetch.concurrency, "fw-page") as page_pool,
        ThreadPoolExecutor(settings.fetch.concurrency, "fw-feed") as feed_pool,
    ):
        halt = threading.Event()
        job = PollJob(
            settings, reader, fetcher, SharedPages(page_pool, fetcher, halt), now, workers, halt
        )
        turns = _FeedTurns(feed_pool, job, source_ids, settings.fetch.concurrency, opts.stop)
        _apply_all(turns, turns.harvests(due, validators), pipeline, report, on_feed_done)
    refresh = opts.refresh_flags and not _stopping(opts)
    report.new_flags = pipeline.finish(now(), refresh=refresh)
    return report


def _apply_all(
    turns: _FeedTurns,
    harvests: Iterator[Harvest],
    pipeline: Pipeline,
    report: PollReport,
    on_feed_done: Callable[[FeedReport], None] | None,
) -> None:
    """The writer: each harvest in turn. When it fails (the store, usually), the poll
    stops at once: no new fetch, queued ones dropped."""
    try:
        for harvest in harvests:
            source_id = turns.source_ids[harvest.feed.name]
            feed_report = _apply(harvest, source_id, pipeline, turns.job.now(), turns)
            turns.job.pages.forget(item.url for item in harvest.items)
            harvest.release()
            report.feeds.append(feed_report)
            if on_feed_done:
                on_feed_done(feed_report)
    except BaseException:
        turns.halt()
        raise


class _FeedTurns:
    """Harvests run in the feed threads, handed to the writer in config order (so the
    first outlet to carry an article is the same on every run), at most
    ``HARVESTS_AHEAD_PER_FETCH`` per fetch thread ahead of it (see :class:`Backlog`)."""

    def __init__(
        self, pool: ThreadPoolExecutor, job: PollJob, source_ids: dict[str, int],
        concurrency: int, stop: threading.Event | None,
    ) -> None:  # fmt: skip
        self.pool, self.job, self.source_ids, self.stop = pool, job, source_ids, stop
        self.backlog = Backlog(HARVESTS_AHEAD_PER_FETCH * concurrency)
        self.pacing = WriterPacing()

    def stopping(self) -> bool:
        return (self.stop is not None and self.stop.is_set()) or self.job.halt.is_set()

    def halt(self) -> None:
        """The writer gave up: harvests not started never start, running ones fetch no
        more pages, queued page fetches are dropped, and no thread waits for its turn."""
        self.job.halt.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.job.pages.close()
        self.backlog.open()

    def harvests(
        self, due: list[FeedSettings], validators: dict[int, Validators]
    ) -> Iterator[Harvest]:
        futures = [
            self.pool.submit(self._in_turn, turn, feed, validators[self.source_ids[feed.name]])
            for turn, feed in enumerate(due)
        ]
        try:
            for future in futures:
                if self.stopping() or future.cancelled():
                    future.cancel()  # not applied: the feed's state is untouched
                    continue
                harvest = future.result()
                self.backlog.taken()
                if not self.stopping():  # fetched while shutting down: not applied
                    yield harvest
        finally:
            self.backlog.open()  # stopped or failed: no harvest waits for its turn

    def _in_turn(self, turn: int, feed: FeedSettings, validators: Validators) -> Harvest:
        self.backlog.wait_for_turn(turn)
        if self.stopping():
            return Harvest(feed)  # stopping: not fetched, not applied
        return harvest_feed(feed, self.source_ids[feed.name], validators, self.job)


class Backlog:
    """Back-pressure: the harvest of the n-th feed starts only when the writer has taken
    the harvests before n - ``ahead``, so a large poll keeps a bounded number of pages in
    memory. By position, not by count of free slots: the harvest the writer waits for
    can always start, so nothing can deadlock."""

    def __init__(self, ahead: int) -> None:
        self._ahead = ahead
        self._taken = 0
        self._open = False
        self._changed = threading.Condition()

    def wait_for_turn(self, turn: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._open or turn < self._taken + self._ahead)

    def taken(self) -> None:
        with self._changed:
            self._taken += 1
            self._changed.notify_all()

    def open(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()


@contextmanager
def _preparer(kept: Preparer | None) -> Iterator[Preparer]:
    preparer = kept or Preparer()
    try:
        yield preparer
    finally:
        preparer.end_poll()


def _stopping(opts: PollOptions) -> bool:
    return opts.stop is not None and opts.stop.is_set()


@contextmanager
def _reader(factory: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """Sessions for the harvest threads' "is this entry known?" lookups.

    On SQLite every session of the writing factory begins IMMEDIATE (takes the write
    lock), so the lookups would queue behind the writer's transaction and each other,
    holding up page fetches, and past the busy timeout fail with "database is locked".
    A read-only engine reads the last commit under WAL without waiting (as PostgreSQL
    sessions always do); an entry stored meanwhile becomes a duplicate, as before.
    """
    engine = factory.kw.get("bind")
    if (
        engine is None
        or engine.dialect.name != "sqlite"
        or engine.url.database in (None, "", ":memory:")
    ):
        yield factory
        return
    reader = make_engine(engine.url.render_as_string(hide_password=False), read_only=True)
    try:
        yield make_session_factory(reader)
    finally:
        reader.dispose()


def _skipped(feed: FeedSettings, until: datetime) -> FeedReport:
    return FeedReport(
        feed.name, status="skipped", error=f"backing off until {until:%Y-%m-%d %H:%M} UTC"
    )


def _source_ids(
    settings: Settings,
    factory: sessionmaker[Session],
    feeds: list[FeedSettings],
    sync: bool,
    now: datetime,
) -> dict[str, int]:
    if not sync:
        with unit_of_work(factory) as session:
            ids = repo.source_ids(session, [f.name for f in feeds])
        if all(f.name in ids for f in feeds):
            return ids
    return sync_config_sources(settings, factory, now)


def _due_feeds(
    factory: sessionmaker[Session],
    feeds: list[FeedSettings],
    ids: dict[str, int],
    opts: PollOptions,
    now: datetime,
    report: PollReport,
) -> list[FeedSettings]:
    """The feeds to poll now; a one-shot poll reports the others as skipped."""
    due, waiting = _split_due(factory, feeds, ids, opts, now)
    if not opts.due_only:
        report.feeds += [_skipped(feed, until) for feed, until in waiting]
    return due


def _split_due(
    factory: sessionmaker[Session],
    feeds: list[FeedSettings],
    ids: dict[str, int],
    opts: PollOptions,
    now: datetime,
) -> tuple[list[FeedSettings], list[tuple[FeedSettings, datetime]]]:
    """Which feeds to poll now. A one-shot poll skips only feeds backing off after errors
    or a Retry-After; the service polls each feed when its own next poll time comes."""
    due: list[FeedSettings] = []
    waiting: list[tuple[FeedSettings, datetime]] = []
    with unit_of_work(factory) as session:
        states = repo.feed_states(session, list(ids.values()))
    for feed in feeds:
        state = states.get(ids[feed.name])
        next_at = state.next_poll_at if state is not None else None
        if next_at is None or next_at <= now or opts.force:
            due.append(feed)
        elif opts.due_only or (state is not None and state.consecutive_errors > 0):
            waiting.append((feed, next_at))
        else:
            due.append(feed)
    return due, waiting


def _load_validators(
    factory: sessionmaker[Session], source_ids: list[int]
) -> dict[int, Validators]:
    with unit_of_work(factory) as session:
        result = {}
        for source_id in source_ids:
            state = repo.feed_state(session, source_id)
            result[source_id] = Validators(state.etag, state.last_modified, state.body_hash)
        return result


def _apply(
    harvest: Harvest, source_id: int, pipeline: Pipeline, now: datetime, turns: _FeedTurns
) -> FeedReport:
    """Writer side of one feed poll: items through the pipeline, then state and log. A
    store that failed under the harvest's lookups fails the poll, not the feed."""
    if harvest.error is not None and (failure := as_storage_error(harvest.error)) is not None:
        raise failure
    report = FeedReport(harvest.feed.name)
    settings, pacing = pipeline.settings, turns.pacing
    with unit_of_work(pipeline.factory) as session:
        dialect = session.get_bind().dialect.name
        state = repo.feed_state(session, source_id)
        state.last_polled_at = now
        if harvest.error is not None:
            _record_failure(state, harvest.error, report, settings, now)
        else:
            _ingest_items(session, harvest, source_id, pipeline, report, now, pacing)
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
    pacing.feed_done(dialect)
    log.debug(
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
    harvest: Harvest,
    source_id: int,
    pipeline: Pipeline,
    report: FeedReport,
    now: datetime,
    pacing: WriterPacing,
) -> None:
    report.entries = len(harvest.parsed.entries) if harvest.parsed else 0
    report.new_entries = len(harvest.items)
    for entry, article_id in harvest.carried:
        if pipeline.carried(session, article_id, source_id, entry.link, entry.guid, now):
            report.duplicates += 1
    prepared = harvest.prepared or [None] * len(harvest.items)
    for item, ready in zip(harvest.items, prepared, strict=True):
        started = time.perf_counter()
        try:
            with session.begin_nested():  # one bad item rolls back alone
                outcome = pipeline.ingest(session, item, source_id, prepared=ready)
            report.item_seconds.append(time.perf_counter() - started)
        except Exception as exc:
            if as_storage_error(exc) is not None:
                raise  # the store, not the item: the poll stops here (see Service)
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
        pacing.item_done(session)


class WriterPacing:
    """When the writing thread commits and steps aside.

    Items are committed in slices of time rather than one transaction per feed: on
    SQLite a writer holds the whole database, and a feed with hundreds of new entries in
    one transaction made other writers (a one-shot poll, the digest, the service's other
    jobs) give up after the busy timeout. After each slice the writer commits and, on
    SQLite, pauses so that a waiting writer's busy handler finds the lock free. The
    feed's validators are saved last, so a poll cut short fetches the feed again and
    skips the items already stored.
    """

    def __init__(self) -> None:
        self._since = time.monotonic()

    def item_done(self, session: Session) -> None:
        if time.monotonic() - self._since >= WRITER_SLICE_S:
            session.commit()
            self._step_aside(session.get_bind().dialect.name)

    def feed_done(self, dialect: str) -> None:
        """A feed's transaction was committed: step aside if a slice has passed."""
        if time.monotonic() - self._since >= WRITER_SLICE_S:
            self._step_aside(dialect)

    def _step_aside(self, dialect: str) -> None:
        if dialect == "sqlite":
            time.sleep(SQLITE_WRITER_PAUSE_S)
        self._since = time.monotonic()


def _record_success(
    state: FeedState, harvest: Harvest, report: FeedReport, settings: Settings, now: datetime
) -> None:
    fetch = harvest.fetch
    assert fetch is not None
    if fetch.not_modified:
        report.status = "not_modified"
    elif harvest.unchanged:
        report.status = "unchanged"
    else:
        state.etag, state.last_modified = fetch.etag, fetch.last_modified
        state.body_hash = body_hash(fetch.body)
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
