"""The network side of polling one feed: conditional GET, parse, find new entries, fetch
their pages. Runs in worker threads and never writes; it returns a :class:`Harvest` that the
poller applies in the writing thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import FeedSettings, Settings
from ingest.fetch.client import Fetcher, FetchResult
from ingest.model.errors import FetchError, ParseError
from ingest.model.items import RawItem
from ingest.pipeline.prepare import Prepared
from ingest.pipeline.urls import canonicalize_url
from ingest.pipeline.workers import Preparer
from ingest.sources.feeds import FeedEntry, ParsedFeed, parse_feed
from storage import repo, versions
from storage.db import unit_of_work
from storage.failures import as_storage_error

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


@dataclass(frozen=True)
class Validators:
    etag: str | None
    last_modified: str | None
    body_hash: str | None


@dataclass
class Harvest:
    """What the network side of one feed poll produced, for the writer to apply."""

    feed: FeedSettings
    fetch: FetchResult | None = None
    parsed: ParsedFeed | None = None
    items: list[RawItem] = field(default_factory=list)
    carried: list[tuple[FeedEntry, int]] = field(default_factory=list)
    prepared: list[Prepared | None] = field(default_factory=list)  # per item
    page_logs: list[dict[str, object]] = field(default_factory=list)
    error: Exception | None = None
    unchanged: bool = False

    def release(self) -> None:
        """Applied: let the pages, prepared items and parsed feed go."""
        self.items, self.prepared, self.carried, self.parsed = [], [], [], None


@dataclass(frozen=True)
class PollJob:
    """What every feed's harvest in one poll shares."""

    settings: Settings
    reader: sessionmaker[Session]  # for "is this entry known?" (see poll._reader)
    fetcher: Fetcher
    pages: SharedPages
    now: Callable[[], datetime]
    preparer: Preparer | None = None  # worker processes for the pure work
    halt: threading.Event = field(default_factory=threading.Event)  # the poll gave up


def harvest_feed(
    feed: FeedSettings, source_id: int, validators: Validators, job: PollJob
) -> Harvest:
    """Network side of one feed: never raises, errors travel in the harvest."""
    harvest = Harvest(feed)
    settings, fetcher, preparer = job.settings, job.fetcher, job.preparer
    try:
        harvest.fetch = fetcher.fetch(
            feed.url, validators.etag, validators.last_modified, FEED_ACCEPT
        )
        if harvest.fetch.not_modified:
            return harvest
        if body_hash(harvest.fetch.body) == validators.body_hash:
            harvest.unchanged = True  # stale validators, same bytes: skip parsing
            return harvest
        harvest.parsed = parse_feed(
            harvest.fetch.body,
            harvest.fetch.final_url,
            harvest.fetch.content_type,
            settings.fetch.max_entries_per_feed,
        )
        new_entries, harvest.carried = _new_entries(job.reader, source_id, harvest.parsed.entries)
        harvest.items = _raw_items(feed, new_entries, job.pages, harvest, job.now)
        if preparer is not None and not job.halt.is_set():  # halted: nobody will apply it
            harvest.prepared = preparer.prepare(
                harvest.items, settings.active_stories, settings.config_dir
            )
    except (FetchError, ParseError) as exc:
        harvest.error = exc
    except Exception as exc:  # a bug must cost one feed, not the poll
        harvest.error = as_storage_error(exc) or exc  # the store: the writer stops the poll
        if harvest.error is exc and not job.halt.is_set():
            log.exception("unexpected error polling feed", extra={"source": feed.name})
    return harvest


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _new_entries(
    factory: sessionmaker[Session], source_id: int, entries: Sequence[FeedEntry]
) -> tuple[list[FeedEntry], list[tuple[FeedEntry, int]]]:
    """Split entries into ones never seen, and stored articles this source carries anew.

    Anything stored or rejected before is not fetched again, unless this source changed
    its entry (another title or summary: an edit); a stored article that another source
    carried first only gains a sighting.
    """
    canonical = {entry.link: canonicalize_url(entry.link) for entry in entries}
    with unit_of_work(factory) as session:
        known = repo.known_entries(
            session, source_id, canonical.values(), [e.guid for e in entries if e.guid]
        )
        states = versions.entry_states(session, source_id, known.sighted)
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
            elif key not in known.rejected and _edited(entry, states.get(article_id)):
                fresh.append(entry)  # the source changed the entry: fetch it again
        elif key not in known.rejected and not (entry.guid and entry.guid in known.guids):
            fresh.append(entry)
    return fresh, carried


def _edited(entry: FeedEntry, state: tuple[str | None, str] | None) -> bool:
    """Did the entry change since the pipeline last processed it from this source?
    (Without a digest, e.g. stored before digests were kept: did its title change?)"""
    if state is None:
        return False
    digest, title = state
    if digest is None:
        return " ".join(entry.title.split()) != " ".join(title.split())
    return digest != versions.entry_digest(entry.title, entry.summary)


def _raw_items(
    feed: FeedSettings,
    entries: list[FeedEntry],
    shared_pages: SharedPages,
    harvest: Harvest,
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


class SharedPages:
    """Page fetches shared by all feeds of one poll: two feeds carrying the same article
    in the same poll cause one request, not two."""

    def __init__(
        self, pool: Executor, fetcher: Fetcher, halt: threading.Event | None = None
    ) -> None:
        self._pool = pool
        self._fetcher = fetcher
        self._futures: dict[str, Future[FetchResult | FetchError]] = {}
        self._lock = threading.Lock()
        self._halt = halt or threading.Event()

    def fetch(self, url: str) -> Future[FetchResult | FetchError]:
        key = canonicalize_url(url)
        with self._lock:
            if self._halt.is_set():
                return _not_fetched(url)
            if key not in self._futures:
                self._futures[key] = self._pool.submit(_fetch_page, self._fetcher, url)
            return self._futures[key]

    def close(self) -> None:
        """The poll gave up: no page is fetched any more, queued fetches are dropped."""
        with self._lock:
            self._halt.set()
            futures, self._futures = list(self._futures.values()), {}
        for future in futures:
            future.cancel()

    def forget(self, urls: Iterable[str]) -> None:
        """Drop pages whose items were applied, so a large poll does not keep every page
        in memory to its end (a later feed asking for one fetches it again)."""
        with self._lock:
            for url in urls:
                self._futures.pop(canonicalize_url(url), None)


def _not_fetched(url: str) -> Future[FetchResult | FetchError]:
    future: Future[FetchResult | FetchError] = Future()
    future.set_result(FetchError(url, "poll stopped"))
    return future


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
