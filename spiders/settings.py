"""Scrapy settings built from framewatch's config (there is no separate Scrapy config).

``[fetch]`` gives the user agent, timeout, size cap and concurrency; ``[crawl]`` gives
AutoThrottle, retries and their backoff. robots.txt is always obeyed.
"""

from __future__ import annotations

from typing import Any

from ingest.config.settings import Settings, SiteSettings
from ingest.fetch.client import MAX_REDIRECTS

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# How far AutoThrottle may slow down a struggling site between two requests.
AUTOTHROTTLE_MAX_DELAY_S = 60.0


def download_settings(settings: Settings) -> dict[str, Any]:
    """How pages are fetched: limits, politeness, retries. Shared with the benchmark's
    bare spider so both download alike."""
    fetch, crawl = settings.fetch, settings.crawl
    return {
        "BOT_NAME": "framewatch",
        "USER_AGENT": fetch.user_agent,
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_TIMEOUT": fetch.timeout_s,
        "DOWNLOAD_MAXSIZE": fetch.max_bytes,  # also applies after decompression
        "DOWNLOAD_WARNSIZE": 0,
        "CONCURRENT_REQUESTS": fetch.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.concurrency,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": crawl.start_delay_s,
        "AUTOTHROTTLE_MAX_DELAY": max(AUTOTHROTTLE_MAX_DELAY_S, crawl.start_delay_s),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": crawl.target_concurrency,
        "RETRY_ENABLED": crawl.retries > 0,
        "RETRY_TIMES": crawl.retries,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "FRAMEWATCH_RETRY_BACKOFF_S": crawl.retry_backoff_s,
        "REDIRECT_MAX_TIMES": MAX_REDIRECTS,
        "FRAMEWATCH_ALLOW_PRIVATE_ADDRESSES": fetch.allow_private_addresses,
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.middlewares.PublicAddressMiddleware": 60,  # before robots.txt (100)
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "spiders.middlewares.BackoffRetryMiddleware": 550,
        },
        "COOKIES_ENABLED": False,  # news pages need none; avoids tldextract's list download
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "TWISTED_REACTOR": ASYNCIO_REACTOR,
        "LOG_LEVEL": "WARNING",
    }


def process_settings(settings: Settings, log_level: str = "WARNING") -> dict[str, Any]:
    """The crawl process's own settings (reactor, logging); each site's crawler has its own
    (:func:`crawl_settings`)."""
    return {**download_settings(settings), "LOG_LEVEL": log_level}


def crawl_settings(
    settings: Settings,
    site: SiteSettings,
    *,
    store: Any,
    refresh: bool,
    stats_path: str,
    time_limit_s: float,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """Everything one site's crawler needs; components read their part in ``from_crawler``.
    Politeness is per crawler, so per site: its own concurrency, AutoThrottle and robots.txt."""
    return {
        **download_settings(settings),
        "ITEM_PIPELINES": {"spiders.pipelines.IngestPipeline": 300},
        "EXTENSIONS": {"spiders.extensions.CrawlStatsWriter": 500},
        "CLOSESPIDER_TIMEOUT": time_limit_s,  # a graceful stop before the parent kills
        "LOG_LEVEL": log_level,
        "FRAMEWATCH_SITE": site,
        "FRAMEWATCH_STORE": store,
        "FRAMEWATCH_REFRESH": refresh,
        "FRAMEWATCH_STATS_PATH": stats_path,
    }
