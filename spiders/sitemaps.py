"""Reading sitemaps: sitemap indexes, URL sets and Google News sitemaps, gzipped or not. Pure.

A news sitemap's ``news:publication_date`` and ``news:language`` travel with each URL to
the pipeline (the publisher's own date beats a date guessed from the page).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from ingest.model.errors import ParseError
from ingest.pipeline.normalize import language_code, parse_datetime
from ingest.pipeline.urls import canonicalize_url

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class SitemapEntry:
    url: str  # canonical
    published: datetime | None = None  # news:publication_date, else lastmod
    language: str | None = None  # news:language
    title: str | None = None  # news:title


@dataclass(frozen=True)
class Sitemap:
    sitemaps: tuple[str, ...] = ()  # child sitemaps of an index (canonical URLs)
    entries: tuple[SitemapEntry, ...] = ()


def gunzip_capped(data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip data, refusing more than ``max_bytes`` of output (gzip bombs)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise ParseError(f"not valid gzip: {exc}") from exc
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise ParseError(f"sitemap larger than {max_bytes} bytes once decompressed")
    return out


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *path: str) -> str | None:
    """Text of the first descendant along ``path`` of local names (namespaces ignored)."""
    current: etree._Element | None = element
    for name in path:
        current = (
            next((c for c in current if _local(c.tag) == name), None)
            if current is not None
            else None
        )
    text = current.text if current is not None else None
    return text.strip() if text and text.strip() else None


def _entry(url_element: etree._Element, base: str) -> SitemapEntry | None:
    loc = _child_text(url_element, "loc")
    if not loc:
        return None
    url = canonicalize_url(loc, base=base)
    if not url.startswith(("http://", "https://")):
        return None
    published = parse_datetime(_child_text(url_element, "news", "publication_date"))
    published = published or parse_datetime(_child_text(url_element, "lastmod"))
    language = language_code(_child_text(url_element, "news", "publication", "language"))
    return SitemapEntry(url, published, language, _child_text(url_element, "news", "title"))


def parse_sitemap(body: bytes, base_url: str, max_bytes: int) -> Sitemap:
    """Child sitemaps and URL entries of a sitemap; ParseError when it is not one."""
    if body[:2] == GZIP_MAGIC:
        body = gunzip_capped(body, max_bytes)
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False
    )
    try:
        root = etree.fromstring(body.lstrip(), parser=parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not a sitemap: {exc}") from exc
    if root is None:
        raise ParseError("not a sitemap: empty or unreadable XML")
    kind = _local(root.tag)
    if kind == "sitemapindex":
        locs = (_child_text(child, "loc") for child in root if _local(child.tag) == "sitemap")
        urls = (canonicalize_url(loc, base=base_url) for loc in locs if loc)
        return Sitemap(sitemaps=tuple(dict.fromkeys(u for u in urls if u.startswith("http"))))
    if kind == "urlset":
        unique: dict[str, SitemapEntry] = {}
        for child in root:
            entry = _entry(child, base_url) if _local(child.tag) == "url" else None
            if entry is not None:
                unique.setdefault(entry.url, entry)  # the first listing, with its news data
        return Sitemap(entries=tuple(unique.values()))
    raise ParseError(f"not a sitemap: the root element is <{kind or '?'}>")
