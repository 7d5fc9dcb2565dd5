"""Many small sites: one framewatch crawl of N outlets against polling their feeds.

Each outlet ``/sNNN/`` has a listing page (``index.html``) linking its articles and a
feed (``feed.xml``) of the same articles, served from their own process without delay.
framewatch crawls every outlet in one crawl (the config's politeness: AutoThrottle on),
and, into another fresh SQLite file, polls every outlet's feed with ``fetch_articles``:
both fetch and ingest the same pages. Then the crawl runs again on the unchanged web: its
listings should answer 304 and no article page be fetched again. Times are wall clock,
process start-up included (that is what a user waits for).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests.support import synthweb


def generate(root: Path, sites: int, pages_per_site: int, seed: int = 11) -> list[str]:
    """The outlets' path prefixes (``/s000`` ...), their listings, articles and feeds."""
    pages = synthweb.make_pages(sites * pages_per_site, seed)
    prefixes = []
    for s in range(sites):
        prefix = f"/s{s:03d}"
        chunk = pages[s * pages_per_site : (s + 1) * pages_per_site]
        pairs = [(page, f"{prefix}/news/{page.n:05d}.html") for page in chunk]
        files = {path: synthweb.render_page(page, path) for page, path in pairs}
        links = "".join(
            f"<li><a href='{path}'>{escape(page.title)}</a></li>" for page, path in pairs
        )
        files[f"{prefix}/index.html"] = (
            f"<!DOCTYPE html><html><head><title>Outlet {s}</title></head><body>"
            f"<h1>Outlet {s}</h1><ul>{links}</ul></body></html>"
        )
        items = [synthweb.feed_item(page, path) for page, path in pairs]
        files[f"{prefix}/feed.xml"] = synthweb.feed_xml(str(s), items)
        synthweb.write_files(root, files)
        prefixes.append(prefix)
    return prefixes


def _settings(db_url: str, base: str, prefixes: list[str], crawl: bool) -> Any:
    from ingest.config.settings import settings_from_mapping

    outlets: dict[str, Any] = {"database": {"url": db_url},
                               "fetch": {"allow_private_addresses": True}}  # fmt: skip
    if crawl:
        outlets["sites"] = [
            {"name": f"site{prefix}", "start_urls": [f"{base}{prefix}/index.html"],
             "article_pattern": rf"{prefix}/news/\d+\.html$"}
            for prefix in prefixes
        ]  # fmt: skip
    else:
        outlets["feeds"] = [
            {"name": f"feed{prefix}", "url": f"{base}{prefix}/feed.xml", "fetch_articles": True}
            for prefix in prefixes
        ]
    return settings_from_mapping(outlets)


def _factory(url: str) -> Any:
    from storage import migrate
    from storage.db import make_engine, make_session_factory

    engine = make_engine(url)
    migrate.upgrade(engine)
    return make_session_factory(engine)


def _crawl(settings: Any, factory: Any) -> dict[str, Any]:
    from ingest.sources.crawl import crawl_sites

    started = time.perf_counter()
    reports = crawl_sites(settings, factory)
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "pages": sum(r.pages for r in reports),
        "new_articles": sum(r.new_articles for r in reports),
        "finished": sum(not r.failed for r in reports),
        "slowest_site_s": round(max(r.duration_ms for r in reports) / 1000, 2),
    }


def _poll(settings: Any, factory: Any) -> dict[str, Any]:
    from ingest.fetch.client import Fetcher
    from ingest.sources.poll import poll_feeds

    started = time.perf_counter()
    with Fetcher("framewatch-bench", 30, 5_000_000, True) as fetcher:
        report = poll_feeds(settings, factory, fetcher)
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "entries": report.total("entries"),
        "stored": report.total("stored"),
        "failed_feeds": len(report.failed),
    }


def run(work: Path, sites: int, pages_per_site: int) -> dict[str, Any]:
    prefixes = generate(work / "sites", sites, pages_per_site)
    with synthweb.served(work / "sites", synthweb.NO_LATENCY, quiet=True) as base:
        crawl_settings = _settings(f"sqlite:///{work / 'sites-crawl.db'}", base, prefixes, True)
        poll_settings = _settings(f"sqlite:///{work / 'sites-poll.db'}", base, prefixes, False)
        crawl_factory = _factory(crawl_settings.database.url)
        poll_factory = _factory(poll_settings.database.url)
        crawl = _crawl(crawl_settings, crawl_factory)
        poll = _poll(poll_settings, poll_factory)
        again = _crawl(crawl_settings, crawl_factory)
    return {
        "sites": sites,
        "pages_per_site": pages_per_site,
        "crawl": crawl,
        "poll": poll,
        "recrawl": again,
        "crawl_vs_poll_time": round(crawl["wall_s"] / poll["wall_s"], 2),
    }


def describe(result: dict[str, Any]) -> str:
    crawl, poll, again = result["crawl"], result["poll"], result["recrawl"]
    return (
        f"many sites: {result['sites']} sites x {result['pages_per_site']} pages: crawl "
        f"{crawl['wall_s']:.1f} s ({crawl['new_articles']} stored, {crawl['finished']} "
        f"finished), feeds polled {poll['wall_s']:.1f} s ({poll['stored']} stored): "
        f"{result['crawl_vs_poll_time']:.2f}x; re-crawl {again['wall_s']:.1f} s, "
        f"{again['pages']} pages fetched"
    )
