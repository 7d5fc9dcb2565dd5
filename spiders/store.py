"""The crawl's one door to the database, shared by every site of a crawl process.

Every write (each hand-over to the ingest pipeline, the validators a site learnt) runs on a
single writer thread, one unit of work each, so the Twisted reactor never blocks on the
database and SQLite sees one writer per crawl; reads (which links are known, the
validators to send) run on a thread of their own, on a read-only connection under SQLite,
so a lookup never waits behind the writer. The pure, CPU-heavy part of a page's path
(extraction, language, relevance, signature, frames: ``ingest.pipeline.prepare``) runs in
the same worker processes as feed polls (:class:`ingest.pipeline.workers.Preparer`); the
writer gets the result. The spiders read through the store; only the item pipeline hands
it items, and those go through the one :class:`ingest.pipeline.run.Pipeline` (``ingest``,
``carried``, ``reject``); the crawl process ends the batch (``Pipeline.finish``) and its
parent does again after a crawl that died (see ``ingest.sources.crawl``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings
from ingest.model.items import RawItem
from ingest.pipeline.prepare import Prepared
from ingest.pipeline.run import Pipeline
from ingest.pipeline.workers import Preparer
from storage import crawls
from storage.db import make_engine, make_session_factory, unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class CarriedLink:
    """An item: the site links to an article that is stored already (a new sighting)."""

    source: str
    url: str
    article_id: int
    seen_at: datetime


@dataclass(frozen=True)
class RejectedPage:
    """An item: a fetched page that can never be an article (no body, not HTML); it is
    remembered like an off-story page so later crawls do not fetch it again."""

    source: str
    url: str
    reason: str
    seen_at: datetime


class CrawlStore:
    """Known-link lookups, validators and pipeline hand-overs for the sites of one crawl
    process (by site name: items carry their site's name as ``source``)."""

    def __init__(
        self,
        pipeline: Pipeline,
        source_ids: Mapping[str, int],
        engines: Iterable[Engine] = (),
        reader: sessionmaker[Session] | None = None,
        preparer: Preparer | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._factory = pipeline.factory
        self._reader = reader or pipeline.factory
        self.source_ids = dict(source_ids)
        self._engines = list(engines)
        self._preparer = preparer
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="fw-store")
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="fw-store-read")
        self._workers_ready = threading.Event()
        self._warming: threading.Thread | None = None

    @classmethod
    def open(cls, settings: Settings, source_ids: Mapping[str, int]) -> CrawlStore:
        """The store as the config describes it (database, stories, dedup window, and the
        config's folder for relative codebook paths), with worker processes."""
        engine = make_engine(settings.database.url)
        pipeline = Pipeline.from_settings(settings, make_session_factory(engine))
        engines, reader = [engine], None
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            read_only = make_engine(settings.database.url, read_only=True)
            engines.append(read_only)
            reader = make_session_factory(read_only)
        preparer = Preparer(inline_pages=0)  # pages go to workers once they run (see below)
        return cls(pipeline, source_ids, engines, reader, preparer)

    def __deepcopy__(self, _memo: dict[int, Any]) -> CrawlStore:
        # Scrapy deep-copies its settings; this is a handle, and copies share it.
        return self

    def finish(self) -> int:
        """End the crawl's batch (``Pipeline.finish``: cluster outlet counts, flags for what
        this crawl stored or re-framed) on the writer thread; new flags."""
        now = datetime.now(UTC)
        return self._executor.submit(self._pipeline.finish, now).result()

    def close(self) -> None:
        if self._warming is not None:
            self._warming.join()
        if self._preparer is not None:
            self._preparer.close()
        self._reads.shutdown(wait=True)
        self._executor.shutdown(wait=True)
        for engine in self._engines:
            engine.dispose()

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def _read(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reads, func, *args)

    # --- reads -------------------------------------------------------------------------------

    async def known(self, site: str, urls: Iterable[str]) -> crawls.KnownLinks:
        return await self._read(self._known, self.source_ids[site], list(urls))

    async def validators(self, site: str) -> dict[str, crawls.Validators]:
        """The site's listing and sitemap URLs with the validators to send back."""
        return await self._read(self._validators, self.source_ids[site])

    def _known(self, source_id: int, urls: list[str]) -> crawls.KnownLinks:
        with unit_of_work(self._reader) as session:
            return crawls.known_links(session, source_id, urls)

    def _validators(self, source_id: int) -> dict[str, crawls.Validators]:
        with unit_of_work(self._reader) as session:
            return crawls.page_validators(session, source_id)

    # --- writes ------------------------------------------------------------------------------

    async def ingest(self, raw: RawItem) -> str:
        """Walk one page through the pipeline; the outcome, or ``no_article_body``."""
        prepared = await self._prepared(raw)
        return await self._run(self._ingest, raw, prepared)

    async def carry(self, link: CarriedLink) -> bool:
        return await self._run(self._carry, link)

    async def reject(self, page: RejectedPage) -> None:
        await self._run(self._reject, page)

    async def save_validators(
        self, site: str, validators: Mapping[str, crawls.Validators], forget: Iterable[str]
    ) -> None:
        await self._run(self._save_validators, self.source_ids[site], dict(validators), forget)

    async def _prepared(self, raw: RawItem) -> Prepared | None:
        """The pure part from a worker process; None: the writer computes it (no workers,
        workers still starting, or a worker failed).

        The first page starts the workers in the background (their fork server takes a
        second or two to load the pipeline's models); meanwhile the writer prepares pages
        itself, so a crawl that finds a few pages is not held up, and one that finds
        nothing new never starts them."""
        preparer = self._preparer
        if preparer is None or raw.html is None or preparer.workers < 2:
            return None
        if not self._workers_ready.is_set():
            if self._warming is None:
                self._warming = threading.Thread(target=self._warm_up, name="fw-warm-up")
                self._warming.start()
            return None
        future = preparer.submit(raw, self._pipeline.stories, self._pipeline.codebook_dir)
        if future is None:
            return None
        try:
            return await asyncio.wrap_future(future)
        except Exception:  # a crashed worker: the writer prepares the page and reports errors
            log.warning("preparing a page in a worker failed; the writer will", exc_info=True)
            return None

    def _warm_up(self) -> None:
        assert self._preparer is not None
        try:
            self._preparer.start().submit(int).result()  # one worker up, models loaded
        except Exception:  # no worker processes here: the writer prepares every page
            log.warning("cannot start worker processes for the crawl", exc_info=True)
            return
        self._workers_ready.set()

    def _ingest(self, raw: RawItem, prepared: Prepared | None) -> str:
        # A crawled page is nothing without its body (a feed entry at least has a summary).
        source_id = self.source_ids[raw.source]
        with unit_of_work(self._factory) as session:
            return self._pipeline.ingest(
                session, raw, source_id, require_body=True, prepared=prepared
            ).status

    def _reject(self, page: RejectedPage) -> None:
        with unit_of_work(self._factory) as session:
            self._pipeline.reject(
                session, page.url, self.source_ids[page.source], page.reason, page.seen_at
            )

    def _carry(self, link: CarriedLink) -> bool:
        with unit_of_work(self._factory) as session:
            return self._pipeline.carried(
                session, link.article_id, self.source_ids[link.source], link.url, None,
                link.seen_at,
            )  # fmt: skip

    def _save_validators(
        self, source_id: int, validators: dict[str, crawls.Validators], forget: Iterable[str]
    ) -> None:
        with unit_of_work(self._factory) as session:
            crawls.save_page_validators(
                session, source_id, validators, list(forget), datetime.now(UTC)
            )
