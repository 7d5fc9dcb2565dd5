"""Reading a listing page's links: which are articles, which is the next listing page. Pure.

Article links are same-site links matching the site's ``article_pattern``; they come back
canonical (tracking parameters removed), once each, in page order. The next page is the
``rel="next"`` link, else a link whose text says "next" in one of the story's languages,
else the nearest higher page number in ``?page=N`` or ``/page/N`` form. Following one
next page at a time is what lets a crawl stop paginating once a page brings nothing new.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ingest.pipeline.urls import canonicalize_url

# ?page=3, &p=3, ?start=40 ... and /page/3, /page-3, /p3, /strona/3 ...
_QUERY_PAGE = re.compile(r"(?:^|&)(?:page|p|pg|paged|pagenum|start|offset|from)=(\d{1,6})(?:&|$)")
_PATH_PAGE = re.compile(
    r"/(?:page|p|seite|strona|stranica|storinka|puslapis|pagina)[/_-]?(\d{1,6})"
    r"(?:/|\.html?|/index\.html?)?$",
    re.I,
)
# "Next page" in the languages the story is covered in, and the arrows pagers use.
_NEXT_TEXT = re.compile(
    r"^\W*(next|older|следующая|далее|дальше|наступная|далей|następna|dalej"
    r"|starsze|наступна|далі|kitas|toliau|weiter|suivant)\b|^[\s›»→>]+$",
    re.I,
)
_SAME_SITE_PREFIXES = ("www.", "m.", "mobile.", "amp.")


@dataclass(frozen=True)
class Anchor:
    """One ``<a>`` (or ``<link>``) of a page, as written: href, rel and visible text."""

    href: str
    rel: str = ""
    text: str = ""


@dataclass(frozen=True)
class ListingLinks:
    articles: tuple[str, ...]  # canonical URLs, once each, in page order
    next_pages: tuple[str, ...]  # canonical URLs of the next listing page (usually one)
    duplicates: int = 0  # article links repeated on the page (other tracking tags, anchors)


def site_of(url: str) -> str:
    """The host a URL belongs to, without port and a www./m./mobile./amp. prefix."""
    host = (urlsplit(url).hostname or "").lower()
    for prefix in _SAME_SITE_PREFIXES:
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def page_number(url: str) -> int | None:
    """The page number a listing URL carries (``?page=3``, ``/page/3/``), if any."""
    parts = urlsplit(url)
    match = _QUERY_PAGE.search(parts.query) or _PATH_PAGE.search(parts.path)
    return int(match.group(1)) if match else None


def is_article_url(url: str, pattern: re.Pattern[str] | None, sites: frozenset[str]) -> bool:
    """Same site and matching the article pattern (any non-listing page without one)."""
    if not url.startswith(("http://", "https://")) or site_of(url) not in sites:
        return False
    if pattern is not None:
        return pattern.search(url) is not None
    return urlsplit(url).path not in ("", "/") and page_number(url) is None


def classify_links(
    page_url: str,
    anchors: Iterable[Anchor],
    pattern: re.Pattern[str] | None,
    sites: frozenset[str],
) -> ListingLinks:
    """Article links and the next listing page among a listing page's anchors."""
    page = canonicalize_url(page_url)
    articles: dict[str, None] = {}
    duplicates = 0
    by_rel: list[str] = []
    by_text: list[str] = []
    numbered: list[tuple[int, str]] = []
    for anchor in anchors:
        url = canonicalize_url(anchor.href, base=page_url)
        if url == page or site_of(url) not in sites:
            continue
        rels = anchor.rel.lower().split()
        if is_article_url(url, pattern, sites) and "next" not in rels:
            duplicates += url in articles
            articles[url] = None
        elif "next" in rels:
            by_rel.append(url)
        elif _NEXT_TEXT.search(anchor.text.strip()):
            by_text.append(url)
        elif (number := page_number(url)) is not None:
            numbered.append((number, url))
    current = page_number(page) or 1
    later = sorted((n, u) for n, u in numbered if n > current)
    nearest = [u for n, u in later if n == later[0][0]] if later else []
    next_pages = by_rel or by_text or nearest
    return ListingLinks(tuple(articles), tuple(dict.fromkeys(next_pages)), duplicates)
