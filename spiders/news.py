"""The generic, config-driven news-site spider (one ``[[sites]]`` entry per crawl).

From the start URLs (listing pages) it follows article links matching ``article_pattern``
and the next listing page; from the sitemap URLs it follows child sitemaps and the
articles they list. Before scheduling an article it asks the store whether the page is
known (stored or rejected before) and skips it unless ``--refresh``; a stored article the
site now carries becomes a sighting without a fetch. Pagination stops at a page that
brings nothing new, at ``max_depth``, or when ``max_pages`` requests have been made;
every stop and every skipped page is counted with its reason.

Listings and sitemaps are asked for conditionally (If-None-Match / If-Modified-Since with
the validators of the last crawl that followed all their links, ``storage.crawls``): an
unchanged one answers 304 and is not read again. A page's validators are remembered when
the crawl finishes and every link it led to was settled (stored, known, or refused for
good: 404, robots.txt); one that led to a transient failure (a timeout, a 5xx, the page
budget) is read whole next time. Sitemap indexes are always read whole, since their
children change under an unchanged index.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from ingest.config.settings import SiteSettings
from ingest.model.errors import ParseError
from ingest.model.items import RawItem
from ingest.pipeline.extract import headline_matches
from ingest.pipeline.urls import canonicalize_url
from spiders import reasons
from spiders.extensions import BUDGET_SPENT, NOT_MODIFIED, PAGES, PAGINATION_END
from spiders.links import Anchor, ListingLinks, classify_links, is_article_url, site_of
from spiders.pipelines import PROBLEMS
from spiders.sitemaps import SitemapEntry, parse_sitemap
from spiders.store import CarriedLink, CrawlStore, RejectedPage
from storage.crawls import KnownLinks, Validators

log = logging.getLogger(__name__)

LISTING, SITEMAP, ARTICLE = "listing", "sitemap", "article"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Failures that will recur on the next crawl: they do not make a listing worth re-reading.
_LASTING_FAILURES = frozenset(
    {"http_404", "http_410", reasons.ROBOTS_TXT, reasons.TOO_LARGE, reasons.BLOCKED_ADDRESS,
     reasons.TOO_MANY_REDIRECTS, reasons.NOT_HTML}
)  # fmt: skip


class NewsSiteSpider(Spider):
    name = "framewatch-news"

    def __init__(
        self,
        site: SiteSettings,
        store: CrawlStore | None = None,
        refresh: bool = False,
        max_bytes: int = 5_000_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.site = site
        self.store = store
        self.refresh = refresh
        self.max_bytes = max_bytes
        self.pattern = re.compile(site.article_pattern) if site.article_pattern else None
        self.sites = frozenset(site_of(u) for u in (*site.start_urls, *site.sitemap_urls))
        self._budget = site.max_pages
        self._seen: set[str] = set()  # canonical URLs scheduled (or settled) in this run
        self._validators: dict[str, Validators] = {}  # listings' and sitemaps', last crawl's
        self._learnt: dict[str, Validators] = {}  # this crawl's answers
        self._origin: dict[str, str] = {}  # listing or sitemap -> the page that led to it
        self._tainted: set[str] = set()  # pages with links not settled: read whole next time

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSiteSpider:
        settings = crawler.settings
        spider = cls(
            settings["FRAMEWATCH_SITE"],
            store=settings.get("FRAMEWATCH_STORE"),
            refresh=settings.getbool("FRAMEWATCH_REFRESH"),
            max_bytes=settings.getint("DOWNLOAD_MAXSIZE"),
        )
        spider._set_crawler(crawler)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        if self.store is not None and not self.refresh:
            self._validators = await self.store.validators(self.site.name)
        for url, kind in [(u, LISTING) for u in self.site.start_urls] + [
            (u, SITEMAP) for u in self.site.sitemap_urls
        ]:
            self._seen.add(canonicalize_url(url))
            if request := self._request(url, kind, depth=0):
                yield request

    # --- callbacks -------------------------------------------------------------------------

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        self._count(PAGES)
        if self._unchanged(response):
            return
        if not _is_html(response):
            self._problem(reasons.NOT_HTML, response.url)
            return
        links = classify_links(response.url, _anchors(response), self.pattern, self.sites)
        self._problem(reasons.DUPLICATE_LINK, response.url, links.duplicates)
        self._learn(response)
        follow, new = await self._follow(links.articles, origin=response.meta["fw_url"])
        for thing in follow:
            yield thing
        for request in self._next_listing(response, links, new):
            yield request

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Any]:
        self._count(PAGES)
        if self._unchanged(response):
            return
        try:
            sitemap = parse_sitemap(response.body, response.url, self.max_bytes)
        except ParseError as exc:
            self._problem(reasons.BAD_SITEMAP, response.url, note=str(exc))
            return
        origin = response.meta["fw_url"]
        for request in self._child_sitemaps(sitemap.sitemaps, response.meta["fw_depth"], origin):
            yield request
        if not sitemap.sitemaps:  # an index is read whole every time (see above)
            self._learn(response)
        entries = {
            e.url: e for e in sitemap.entries if is_article_url(e.url, self.pattern, self.sites)
        }
        follow, _new = await self._follow(list(entries), origin, entries)
        for thing in follow:
            yield thing

    def parse_article(self, response: Response) -> Iterator[RawItem | RejectedPage]:
        self._count(PAGES)
        if not _is_html(response):
            self._problem(reasons.NOT_HTML, response.url)
            yield RejectedPage(self.site.name, response.meta["fw_url"], reasons.NOT_HTML, _now())
            return
        for problem in _jsonld_problems(response):
            self._problem(problem, response.url)
        entry: SitemapEntry | None = response.meta.get("fw_entry")
        yield RawItem(
            source=self.site.name,
            url=response.meta["fw_url"],
            fetched_at=_now(),
            published=entry.published if entry else None,
            language_hint=(entry.language if entry else None) or self.site.language,
            html=response.body,
            final_url=response.url,
            outlet=self.site.outlet,
        )

    def on_error(self, failure: Failure) -> None:
        request: Request | None = getattr(failure, "request", None)
        exc = failure.value or RuntimeError("unknown failure")
        if isinstance(exc, HttpError):
            self._count(PAGES)
        kind = reasons.failure_kind(exc)
        self._problem(kind, request.url if request else "", note=str(exc)[:200])
        if request is not None and kind not in _LASTING_FAILURES:
            self._taint(request.meta.get("fw_from"))

    def closed(self, reason: str) -> Any:
        """A crawl that finished remembers its listings' and sitemaps' validators (and
        forgets those of pages it could not settle); one cut short changes none."""
        if self.store is None or reason != "finished":
            return None
        learnt = {u: v for u, v in self._learnt.items() if u not in self._tainted}
        forget = self._tainted & (set(self._validators) | set(self._learnt))
        if not learnt and not forget:
            return None
        saving = self.store.save_validators(self.site.name, learnt, forget)
        return Deferred.fromFuture(asyncio.ensure_future(saving))

    # --- conditional requests ----------------------------------------------------------------

    def _unchanged(self, response: Response) -> bool:
        """A 304: the page is as it was when all its links were followed."""
        if response.status != 304:
            return False
        self._count(NOT_MODIFIED)
        url = response.meta["fw_url"]
        if url in self._validators:
            self._learnt[url] = self._validators[url]
        return True

    def _learn(self, response: Response) -> None:
        etag, modified = (response.headers.get(h) for h in (b"ETag", b"Last-Modified"))
        if etag or modified:
            self._learnt[response.meta["fw_url"]] = (
                etag.decode("latin-1") if etag else None,
                modified.decode("latin-1") if modified else None,
            )

    def _taint(self, url: str | None) -> None:
        """``url`` and the pages that led to it: not all their links were settled."""
        while url is not None and url not in self._tainted:
            self._tainted.add(url)
            url = self._origin.get(url)

    def _conditional(self, url: str) -> dict[str, Any]:
        """Request arguments for a listing or sitemap: validators, and 304 let through."""
        etag, modified = self._validators.get(url, (None, None))
        headers = {"If-None-Match": etag} if etag else {}
        if modified:
            headers["If-Modified-Since"] = modified
        return {"headers": headers, "meta": {"handle_httpstatus_list": [304]}}

    # --- what to follow --------------------------------------------------------------------

    async def _follow(
        self, urls: Sequence[str], origin: str, entries: Mapping[str, SitemapEntry] | None = None
    ) -> tuple[list[Any], int]:
        """Requests (or sightings) for the article links not seen before in this run, and
        how many of them are new to this site (neither carried nor rejected before).
        ``origin``: the listing or sitemap they are on."""
        fresh = [url for url in urls if url not in self._seen]
        self._seen.update(fresh)
        known = await self._known(fresh)
        follow: list[Any] = []
        new = 0
        for url in fresh:
            if known.is_carried(url) or url in known.rejected:
                continue
            new += 1
            if url in known.stored:
                follow.append(CarriedLink(self.site.name, url, known.stored[url], _now()))
            elif request := self._request(
                url, ARTICLE, 0, fw_entry=(entries or {}).get(url), fw_from=origin
            ):
                follow.append(request)
            else:
                self._taint(origin)  # the page budget is spent: links left unfollowed
        return follow, new

    async def _known(self, urls: list[str]) -> KnownLinks:
        if self.refresh or self.store is None or not urls:
            return KnownLinks()
        return await self.store.known(self.site.name, urls)

    def _next_listing(self, response: Response, links: ListingLinks, new: int) -> list[Request]:
        nexts = [url for url in links.next_pages if url not in self._seen]
        if not nexts:
            return []
        depth = int(response.meta["fw_depth"])
        if not links.articles:
            return self._end_pagination("no_articles", response.url)
        if new == 0:
            return self._end_pagination("no_new_articles", response.url)
        if depth >= self.site.max_depth:
            return self._end_pagination("max_depth", response.url)
        return self._pages_from(nexts, LISTING, depth + 1, response.meta["fw_url"])

    def _child_sitemaps(self, urls: Sequence[str], depth: int, origin: str) -> list[Request]:
        fresh = [url for url in urls if url not in self._seen]
        if fresh and depth >= self.site.max_depth:
            return self._end_pagination("max_depth", fresh[0])
        return self._pages_from(fresh, SITEMAP, depth + 1, origin)

    def _pages_from(self, urls: Sequence[str], kind: str, depth: int, origin: str) -> list[Request]:
        """Requests for further listing pages or child sitemaps that ``origin`` leads to."""
        self._seen.update(urls)
        requests = []
        for url in urls:
            self._origin.setdefault(url, origin)
            if request := self._request(url, kind, depth, fw_from=origin):
                requests.append(request)
            else:
                self._taint(origin)
        return requests

    def _end_pagination(self, why: str, url: str) -> list[Request]:
        self._count(PAGINATION_END + why)
        log.info("pagination ends: %s", why, extra={"source": self.site.name, "url": url})
        return []

    def _request(self, url: str, kind: str, depth: int, **meta: Any) -> Request | None:
        """A request within the page budget (max_pages), or None once it is spent."""
        if self._budget <= 0:
            self._count(BUDGET_SPENT)
            return None
        self._budget -= 1
        callbacks = {
            LISTING: self.parse_listing,
            SITEMAP: self.parse_sitemap,
            ARTICLE: self.parse_article,
        }
        conditional = self._conditional(url) if kind != ARTICLE else {"headers": {}, "meta": {}}
        return Request(
            url,
            callback=callbacks[kind],
            errback=self.on_error,
            headers=conditional["headers"],
            dont_filter=True,  # this spider dedupes by canonical URL; redirect loops must fail
            priority=0 if kind == ARTICLE else 10,
            meta={"fw_kind": kind, "fw_depth": depth, "fw_url": url, **conditional["meta"], **meta},
        )

    # --- stats -------------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, n)

    def _problem(self, kind: str, url: str, n: int = 1, note: str = "") -> None:
        if n <= 0:
            return
        self._count(PROBLEMS + kind, n)
        log.info("skipped: %s %s", kind, note, extra={"source": self.site.name, "url": url})


def _now() -> datetime:
    return datetime.now(UTC)


def _is_html(response: Response) -> bool:
    declared = response.headers.get(b"Content-Type") or b""
    kind = declared.decode("latin-1").split(";")[0].strip().lower()
    return kind in _HTML_TYPES if kind else isinstance(response, HtmlResponse)


def _anchors(response: Response) -> Iterator[Anchor]:
    if not isinstance(response, HtmlResponse):
        return
    for node in response.xpath("//a[@href] | //link[@href][@rel]"):
        href = (node.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        text = " ".join(" ".join(node.xpath(".//text()").getall()).split())
        yield Anchor(response.urljoin(href), node.attrib.get("rel", ""), text[:200])


def _jsonld_problems(response: Response) -> list[str]:
    """JSON-LD that is not JSON, or whose headline is not this page's: extraction falls
    back to the page itself; the crawl records why."""
    if not isinstance(response, HtmlResponse):
        return []
    problems: list[str] = []
    headlines: list[str] = []
    for raw in response.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            problems.append(reasons.MALFORMED_JSONLD)
            continue
        nodes = data.get("@graph", [data]) if isinstance(data, dict) else data
        for node in nodes if isinstance(nodes, list) else []:
            if isinstance(node, dict) and isinstance(node.get("headline"), str):
                headlines.append(node["headline"])
    shown = []
    if response.xpath("//h1"):
        shown = [" ".join(response.xpath("//h1[1]//text()").getall())]
        shown += response.xpath('//meta[@property="og:title"]/@content | //title/text()').getall()
    if headlines and not headline_matches(headlines[0], shown):
        problems.append(reasons.JSONLD_MISMATCH)
    return sorted(set(problems))
