"""The Scrapy project's parts: settings from the config, link and sitemap reading, the SSRF
guard, retry backoff, failure kinds and the crawl report. Whole crawls: test_crawl.py."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import re
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import HtmlResponse, Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler

from ingest.config.settings import Settings, settings_from_mapping
from ingest.model.errors import ParseError
from ingest.pipeline.extract import headline_matches
from spiders import reasons
from spiders.extensions import summarize_stats
from spiders.links import Anchor, classify_links, page_number, site_of
from spiders.middlewares import PublicAddressMiddleware, _refusal, retry_delay
from spiders.news import NewsSiteSpider, _jsonld_problems
from spiders.settings import crawl_settings
from spiders.sitemaps import parse_sitemap

PATTERN = re.compile(r"/news/\d{4}/[\w-]+\.html$")
SITES = frozenset({"example.org"})
PAGE = "https://www.example.org/news/"


def _settings(**fetch: object) -> Settings:
    return settings_from_mapping(
        {
            "fetch": {"user_agent": "fw-test/1", "timeout_s": 7, "max_bytes": 123_456, **fetch},
            "crawl": {"retries": 3, "retry_backoff_s": 0.5, "start_delay_s": 2},
            "sites": [{"name": "s", "start_urls": [PAGE], "article_pattern": PATTERN.pattern}],
        }
    )


def test_scrapy_settings_come_from_the_config() -> None:
    settings = _settings(concurrency=16)
    site = settings.sites[0]
    built = crawl_settings(
        settings,
        site,
        store=None,
        refresh=True,
        stats_path="/tmp/x.json",
        time_limit_s=60,
    )
    assert built["USER_AGENT"] == "fw-test/1" and built["ROBOTSTXT_OBEY"] is True
    assert (built["DOWNLOAD_TIMEOUT"], built["DOWNLOAD_MAXSIZE"]) == (7.0, 123_456)
    assert built["CONCURRENT_REQUESTS"] == built["CONCURRENT_REQUESTS_PER_DOMAIN"] == 16
    assert built["AUTOTHROTTLE_ENABLED"] and built["AUTOTHROTTLE_START_DELAY"] == 2.0
    assert (built["RETRY_TIMES"], built["FRAMEWATCH_RETRY_BACKOFF_S"]) == (3, 0.5)
    assert built["CLOSESPIDER_TIMEOUT"] == 60 and built["FRAMEWATCH_SITE"] is site
    assert "spiders.middlewares.PublicAddressMiddleware" in built["DOWNLOADER_MIDDLEWARES"]


def test_components_read_their_settings_in_from_crawler() -> None:
    settings = _settings()
    site = settings.sites[0]
    crawler = get_crawler(NewsSiteSpider, {"FRAMEWATCH_SITE": site, "DOWNLOAD_MAXSIZE": 999})
    spider = NewsSiteSpider.from_crawler(crawler)
    assert spider.site == site and spider.max_bytes == 999 and spider.sites == SITES

    async def first_requests() -> list[Request]:
        return [request async for request in spider.start()]

    [request] = asyncio.run(first_requests())
    assert request.url == PAGE and request.meta["fw_kind"] == "listing"
    assert request.dont_filter  # the spider dedupes by canonical URL itself

    guarded = get_crawler(settings_dict={"FRAMEWATCH_ALLOW_PRIVATE_ADDRESSES": False})
    assert isinstance(PublicAddressMiddleware.from_crawler(guarded), PublicAddressMiddleware)
    allowed = get_crawler(settings_dict={"FRAMEWATCH_ALLOW_PRIVATE_ADDRESSES": True})
    with pytest.raises(Exception, match="private addresses are allowed"):
        PublicAddressMiddleware.from_crawler(allowed)


@pytest.mark.parametrize(
    ("host", "refused"),
    [("127.0.0.1", True), ("10.1.2.3", True), ("[::1]", True), ("localhost", True),
     ("169.254.169.254", True), ("93.184.216.34", False), ("no-such-host.invalid", False)],
)  # fmt: skip
def test_the_ssrf_guard_judges_every_resolved_address(host: str, refused: bool) -> None:
    assert (asyncio.run(_refusal(host, 80)) is not None) is refused


def test_the_ssrf_guard_checks_the_connected_address_too() -> None:
    guard = PublicAddressMiddleware()
    request = Request("http://example.org/a")
    response = Response("http://example.org/a", ip_address=ipaddress.ip_address("10.0.0.8"))
    with pytest.raises(reasons.BlockedAddressError):
        guard.process_response(request, response)


def test_listing_links_articles_once_and_the_next_page() -> None:
    anchors = [
        Anchor("https://www.example.org/news/"),  # the page itself
        Anchor("https://example.org/news/2025/freed.html"),
        Anchor("https://example.org/news/2025/freed.html?utm_source=x&fbclid=1#top"),
        Anchor("https://m.example.org/news/2025/second.html"),
        Anchor("https://other.example/news/2025/theirs.html"),
        Anchor("https://example.org/about/"),
        Anchor("https://example.org/news/?page=2", rel="next"),
        Anchor("https://example.org/news/?page=7"),
    ]
    links = classify_links(PAGE, anchors, PATTERN, SITES)
    assert links.articles == (
        "https://example.org/news/2025/freed.html",
        "https://m.example.org/news/2025/second.html",
    )
    assert links.duplicates == 1
    assert links.next_pages == ("https://example.org/news/?page=2",)


@pytest.mark.parametrize(
    ("page", "anchors", "expected"),
    [
        # numbered pager without rel=next: the nearest higher number, not every page
        ("https://example.org/news/page/3/",
         [Anchor("/news/page/2/", text="2"), Anchor("/news/page/4/", text="4"),
          Anchor("/news/page/9/", text="9")],
         ("https://example.org/news/page/4/",)),
        ("https://example.org/news/?start=20",
         [Anchor("?start=0"), Anchor("?start=40"), Anchor("?start=60")],
         ("https://example.org/news/?start=40",)),
        # "next" in the page's language
        ("https://example.org/naviny/",
         [Anchor("/naviny/archive-b", text="Наступная старонка »")],
         ("https://example.org/naviny/archive-b",)),
        ("https://example.org/news/", [Anchor("/news/older", text="→")],
         ("https://example.org/news/older",)),
        ("https://example.org/news/", [Anchor("/news/2025/a.html", text="Next")], ()),
    ],
)  # fmt: skip
def test_the_next_listing_page(page: str, anchors: list[Anchor], expected: tuple[str]) -> None:
    absolute = [Anchor(urljoin(page, a.href), a.rel, a.text) for a in anchors]
    assert classify_links(page, absolute, PATTERN, SITES).next_pages == expected


def test_page_numbers_and_sites() -> None:
    assert page_number("https://e.org/news/page/12/") == 12
    assert page_number("https://e.org/news?p=3&x=1") == 3
    assert page_number("https://e.org/news/2025/page-turner.html") is None
    assert site_of("https://www.Example.org:8080/x") == "example.org"


NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://example.org/news/2025/a.html?utm_source=sitemap</loc>
    <news:news><news:publication><news:name>E</news:name><news:language>be</news:language>
    </news:publication><news:publication_date>2025-09-11T18:20:00+03:00</news:publication_date>
    <news:title>A</news:title></news:news></url>
  <url><loc>https://example.org/news/2025/b.html</loc><lastmod>2025-09-10</lastmod></url>
  <url><loc>https://example.org/news/2025/a.html</loc></url>
  <url><loc>javascript:alert(1)</loc></url>
</urlset>"""


def test_news_sitemaps_give_dates_and_languages() -> None:
    sitemap = parse_sitemap(NEWS_SITEMAP, "https://example.org/sitemap.xml", 10_000)
    first, second = sitemap.entries
    assert first.url == "https://example.org/news/2025/a.html"
    assert first.published == datetime(2025, 9, 11, 15, 20, tzinfo=UTC)
    assert (first.language, first.title) == ("be", "A")
    assert second.published == datetime(2025, 9, 10, tzinfo=UTC) and second.language is None


def test_sitemap_indexes_and_gzip() -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>/sitemaps/news.xml</loc></sitemap>
      <sitemap><loc>https://example.org/sitemaps/2024.xml.gz</loc></sitemap></sitemapindex>"""
    parsed = parse_sitemap(gzip.compress(index), "https://example.org/sitemap.xml", 10_000)
    assert parsed.sitemaps == (
        "https://example.org/sitemaps/news.xml",
        "https://example.org/sitemaps/2024.xml.gz",
    )
    assert parsed.entries == ()


@pytest.mark.parametrize(
    "body",
    [gzip.compress(b"<urlset>" + b" " * 50_000 + b"</urlset>"),  # a gzip bomb, in small
     b"<html><body>not a sitemap</body></html>", b"", b"\x1f\x8bnot gzip at all"],
)  # fmt: skip
def test_bad_sitemaps_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sitemap(body, "https://example.org/sitemap.xml", 10_000)


def test_retry_backoff_doubles_and_honours_retry_after() -> None:
    assert [retry_delay(n, 1.0, None) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert retry_delay(1, 1.0, 30.0) == 30.0
    assert retry_delay(1, 1.0, 3600.0) is None  # come back in an hour: not this run


def _failure_of(response_status: int) -> HttpError:
    return HttpError(Response("https://example.org/x", status=response_status))


@pytest.mark.parametrize(
    ("exc", "kind"),
    [(_failure_of(404), "http_404"), (_failure_of(503), "http_503"),
     (IgnoreRequest("Forbidden by robots.txt"), "robots_txt"),
     (IgnoreRequest("max redirections reached"), "too_many_redirects"),
     (IgnoreRequest("body exceeded DOWNLOAD_MAXSIZE (100 B)"), "too_large"),
     (DownloadCancelledError("larger than download max size"), "too_large"),
     (DownloadTimeoutError("took too long"), "timeout"),
     (CannotResolveHostError("nope"), "dns_error"),
     (ConnectionRefusedError(), "connection_error"),
     (reasons.BlockedAddressError("refused"), "blocked_address")],
)  # fmt: skip
def test_failure_kinds(exc: BaseException, kind: str) -> None:
    assert reasons.failure_kind(exc) == kind


def test_the_crawl_report() -> None:
    stats = {
        "framewatch/pages": 12, "framewatch/items": 7, "framewatch/new_articles": 5,
        "framewatch/problems/http_404": 2, "framewatch/problems/robots_txt": 1,
        "framewatch/pagination_end/max_depth": 1, "spider_exceptions/KeyError": 1,
    }  # fmt: skip
    report = summarize_stats(stats, "finished", max_pages=50)
    assert (report["pages"], report["items"], report["new_articles"]) == (12, 7, 5)
    assert report["errors"] == {"http_404": 2, "robots_txt": 1, "spider_error": 1}
    assert report["stop_reason"] == "all links followed; pagination ended at max_depth ×1"
    spent = summarize_stats({**stats, "framewatch/budget_spent": 9}, "finished", max_pages=50)
    assert spent["stop_reason"].startswith("max_pages (50) reached")
    assert summarize_stats({}, None, 50)["stop_reason"] == "still running"


def _html(body: str) -> HtmlResponse:
    return HtmlResponse("https://example.org/a", body=body.encode(), encoding="utf-8")


def test_jsonld_that_lies_or_breaks_is_recorded() -> None:
    good = '{"@type": "NewsArticle", "headline": "Minsk frees 52 prisoners"}'
    page = (
        "<html><head><title>Minsk frees 52 prisoners | E</title>{}</head>"
        "<body><h1>Minsk frees 52 prisoners</h1></body></html>"
    )
    script = '<script type="application/ld+json">{}</script>'
    assert _jsonld_problems(_html(page.format(script.format(good)))) == []
    broken = script.format('{"@type": "NewsArticle", "headline": ')
    assert _jsonld_problems(_html(page.format(broken))) == [reasons.MALFORMED_JSONLD]
    other = script.format('{"@type": "NewsArticle", "headline": "Weather for the weekend"}')
    assert _jsonld_problems(_html(page.format(other))) == [reasons.JSONLD_MISMATCH]
    assert headline_matches("Minsk frees prisoners", ["Minsk frees 52 prisoners - Site"])
    assert headline_matches("Anything", [])  # no visible headline to compare with
