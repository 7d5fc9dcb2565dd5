"""The crawl's one door to the database.

Every read (which links are known) and every hand-over to the ingest pipeline runs on a
single worker thread, one unit of work each, so the Twisted reactor never blocks on the
database and SQLite sees one writer per crawl. The spider reads through it; only the
item pipeline hands it items, and those go through the one :class:`ingest.pipeline.run.Pipeline`
(``ingest``, ``carried``, ``reject``); the crawl's parent process ends the batch
(``Pipeline.finish``, see ``ingest.sources.crawl``), so even a crawl killed at its time
limit gets its flags.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine

from ingest.config.settings import Settings
from ingest.model.items import RawItem
from ingest.pipeline.run import Pipeline
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
    """Known-link lookups and pipeline hand-overs for one site crawl, on one thread."""

    def __init__(self, pipeline: Pipeline, source_id: int, engine: Engine | None = None) -> None:
        self._pipeline = pipeline
        self._factory = pipeline.factory
        self.source_id = source_id
        self._engine = engine
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="fw-store")

    @classmethod
    def open(cls, settings: Settings, source_id: int) -> CrawlStore:
        """The store as the config describes it (database, stories, dedup window, and the
        config's folder for relative codebook paths)."""
        engine = make_engine(settings.database.url)
        pipeline = Pipeline.from_settings(settings, make_session_factory(engine))
        return cls(pipeline, source_id, engine)

    def __deepcopy__(self, _memo: dict[int, Any]) -> CrawlStore:
        # Scrapy deep-copies its settings; this is a handle, and copies share it.
        return self

    def finish(self) -> int:
        """End the crawl's batch (``Pipeline.finish``: cluster outlet counts, flags for what
        this crawl stored or re-framed) on the store thread; new flags."""
        now = datetime.now(UTC)
        return self._executor.submit(self._pipeline.finish, now).result()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self._engine is not None:
            self._engine.dispose()

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def known(self, urls: Iterable[str]) -> crawls.KnownLinks:
        return await self._run(self._known, list(urls))

    async def ingest(self, raw: RawItem) -> str:
        """Walk one page through the pipeline; the outcome, or ``no_article_body``."""
        return await self._run(self._ingest, raw)

    async def carry(self, link: CarriedLink) -> bool:
        return await self._run(self._carry, link)

    async def reject(self, page: RejectedPage) -> None:
        await self._run(self._reject, page.url, page.reason, page.seen_at)

    def _known(self, urls: list[str]) -> crawls.KnownLinks:
        with unit_of_work(self._factory) as session:
            return crawls.known_links(session, self.source_id, urls)

    def _ingest(self, raw: RawItem) -> str:
        # A crawled page is nothing without its body (a feed entry at least has a summary).
        with unit_of_work(self._factory) as session:
            return self._pipeline.ingest(session, raw, self.source_id, require_body=True).status

    def _reject(self, url: str, reason: str, seen_at: datetime) -> None:
        with unit_of_work(self._factory) as session:
            self._pipeline.reject(session, url, self.source_id, reason, seen_at)

    def _carry(self, link: CarriedLink) -> bool:
        with unit_of_work(self._factory) as session:
            return self._pipeline.carried(
                session, link.article_id, self.source_id, link.url, None, link.seen_at
            )
