"""The crawl's report to its parent: stats written as JSON, every few seconds and at the end.

The parent process (:mod:`ingest.sources.crawl`) records the last report in ``crawl_runs``; a crawl
that is killed still leaves the report it wrote last.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from twisted.internet import task

from spiders.pipelines import ITEMS, NEW_ARTICLES, PROBLEMS

PAGES = "framewatch/pages"
PAGINATION_END = "framewatch/pagination_end/"
BUDGET_SPENT = "framewatch/budget_spent"
NOT_MODIFIED = "framewatch/not_modified"  # listings and sitemaps that answered 304
REPORT_EVERY_S = 2.0

_FINISH_REASONS = {
    "finished": "all links followed",
    "closespider_timeout": "time limit reached",
    "shutdown": "stopped by a signal",
    "cancelled": "cancelled",
}
_PAGINATION_WHY = {
    "no_new_articles": "a page with only known articles",
    "no_articles": "a page without article links",
    "max_depth": "max_depth",
    "max_pages": "max_pages",
}


def stop_reason(stats: Mapping[str, Any], finish_reason: str | None, max_pages: int) -> str:
    """One line on why the crawl ended, and where pagination stopped."""
    if finish_reason is None:
        reason = "still running"
    elif stats.get(BUDGET_SPENT):
        reason = f"max_pages ({max_pages}) reached"
    else:
        reason = _FINISH_REASONS.get(finish_reason, finish_reason)
    ends = {
        key.removeprefix(PAGINATION_END): count
        for key, count in stats.items()
        if key.startswith(PAGINATION_END)
    }
    if ends:
        listed = ", ".join(f"{_PAGINATION_WHY.get(k, k)} ×{n}" for k, n in sorted(ends.items()))
        reason += f"; pagination ended at {listed}"
    return reason


def summarize_stats(
    stats: Mapping[str, Any], finish_reason: str | None, max_pages: int, elapsed_s: float = 0.0
) -> dict[str, Any]:
    """The report the parent records: pages, items, new articles, problems by kind."""
    return {
        "elapsed_s": round(elapsed_s, 3),
        "pages": int(stats.get(PAGES, 0)),
        "items": int(stats.get(ITEMS, 0)),
        "new_articles": int(stats.get(NEW_ARTICLES, 0)),
        "duplicates": int(stats.get("framewatch/duplicates", 0)),
        "off_story": int(stats.get("framewatch/off_story", 0)),
        "carried": int(stats.get("framewatch/carried", 0)),
        "not_modified": int(stats.get(NOT_MODIFIED, 0)),
        "errors": _errors(stats),
        "finish_reason": finish_reason,
        "stop_reason": stop_reason(stats, finish_reason, max_pages),
    }


def _errors(stats: Mapping[str, Any]) -> dict[str, int]:
    errors = {
        key.removeprefix(PROBLEMS): int(count)
        for key, count in stats.items()
        if key.startswith(PROBLEMS)
    }
    # exceptions raised in the spider's own callbacks (bugs, or pages that broke a parser)
    bugs = sum(int(n) for key, n in stats.items() if key.startswith("spider_exceptions/"))
    if bugs:
        errors["spider_error"] = bugs
    return dict(sorted(errors.items()))


class CrawlStatsWriter:
    def __init__(self, stats: StatsCollector, path: Path, max_pages: int) -> None:
        self.stats = stats
        self.path = path
        self.max_pages = max_pages
        self._loop: task.LoopingCall | None = None
        self._opened = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlStatsWriter:
        path = crawler.settings.get("FRAMEWATCH_STATS_PATH")
        site = crawler.settings.get("FRAMEWATCH_SITE")
        if not path or site is None:
            raise NotConfigured("FRAMEWATCH_STATS_PATH is not set")
        assert crawler.stats is not None
        writer = cls(crawler.stats, Path(path), site.max_pages)
        crawler.signals.connect(writer.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        return writer

    def spider_opened(self, spider: Spider) -> None:
        self._opened = time.monotonic()
        self._loop = task.LoopingCall(self.write, None)
        self._loop.start(REPORT_EVERY_S, now=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.write(reason)

    def write(self, finish_reason: str | None) -> None:
        elapsed = time.monotonic() - self._opened
        report = summarize_stats(self.stats.get_stats(), finish_reason, self.max_pages, elapsed)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.path)  # the parent never reads half a report
