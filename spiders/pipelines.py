"""The item pipeline: every crawled page goes to :meth:`ingest.pipeline.run.Pipeline.ingest`.

Items are :class:`ingest.model.items.RawItem` (an article page, ``html`` set),
:class:`spiders.store.CarriedLink` (a stored article the site links to: a sighting) or
:class:`spiders.store.RejectedPage` (a page that is no article, remembered). Each is one
unit of work; a failing item is counted and logged, and the crawl goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector

from ingest.model.items import RawItem
from ingest.pipeline.run import DUPLICATE, IRRELEVANT, STORED
from spiders.reasons import NO_ARTICLE_BODY, PIPELINE_ERROR
from spiders.store import CarriedLink, CrawlStore, RejectedPage

log = logging.getLogger(__name__)

# crawl stats keys (see spiders.extensions.summarize_stats)
ITEMS = "framewatch/items"
NEW_ARTICLES = "framewatch/new_articles"
PROBLEMS = "framewatch/problems/"
OUTCOMES = {
    STORED: NEW_ARTICLES,
    DUPLICATE: "framewatch/duplicates",
    IRRELEVANT: "framewatch/off_story",
}


class IngestPipeline:
    def __init__(self, store: CrawlStore, stats: StatsCollector) -> None:
        self.store = store
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IngestPipeline:
        store = crawler.settings.get("FRAMEWATCH_STORE")
        if store is None:
            raise NotConfigured("FRAMEWATCH_STORE is not set")
        assert crawler.stats is not None
        return cls(store, crawler.stats)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, CarriedLink):
            if await self._guarded(self.store.carry(item), item.url):
                self.stats.inc_value("framewatch/carried")
            return item
        if isinstance(item, RejectedPage):
            await self._guarded(self.store.reject(item), item.url)
            return item
        if not isinstance(item, RawItem):
            raise DropItem(f"not a framewatch item: {type(item).__name__}")
        self.stats.inc_value(ITEMS)
        outcome = await self._guarded(self.store.ingest(item), item.url)
        if outcome == NO_ARTICLE_BODY:
            self.stats.inc_value(PROBLEMS + NO_ARTICLE_BODY)
            log.info("no article body", extra={"source": item.source, "url": item.url})
        elif isinstance(outcome, str) and outcome in OUTCOMES:
            self.stats.inc_value(OUTCOMES[outcome])
        return item

    async def _guarded(self, work: Any, url: str) -> Any:
        try:
            return await work
        except Exception:  # one bad item must not stop the crawl
            log.exception("item failed in the pipeline", extra={"url": url})
            self.stats.inc_value(PROBLEMS + PIPELINE_ERROR)
            return None
