"""Article extraction from one HTML page: JSON-LD metadata first, trafilatura for the rest.

Pure (page in, ``Extracted`` out) so feeds and the Scrapy spiders share it. Never raises:
a page it cannot read comes back as ``Extracted()`` with empty text, which callers treat
as "no article body".
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml.html import HtmlElement

from ingest.model.items import Extracted
from ingest.pipeline.normalize import (
    clean_text,
    detect_language,
    language_code,
    parse_datetime,
    tidy_text,
)
from ingest.pipeline.urls import canonicalize_url

# Pages above this are truncated before parsing: fetches stop at 5 MB anyway, and
# trafilatura's time grows with size (about 3.5 s for 5 MB of paragraphs).
MAX_HTML_CHARS = 5_000_000

# schema.org types whose node describes the article itself.
ARTICLE_TYPES = frozenset(
    {
        "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
        "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle",
        "AskPublicNewsArticle", "BlogPosting", "LiveBlogPosting", "Report", "ScholarlyArticle",
    }
)  # fmt: skip

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
# WHATWG: pages labelled latin-1 or ASCII are decoded as windows-1252.
_CHARSET_OVERRIDES = {"iso8859-1": "cp1252", "ascii": "cp1252"}


def _declared_charset(head: bytes) -> str | None:
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # WHATWG: a UTF-16/32 label inside ASCII-compatible bytes is wrong
    return _CHARSET_OVERRIDES.get(name, name)


def decode_html(data: bytes) -> str:
    """Bytes to text: BOM, then valid UTF-8, then the page's declared charset, then a guess.

    Valid UTF-8 beats the declaration because mislabelled UTF-8 pages are common while a
    legacy-encoded page practically never happens to be valid UTF-8.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(data) - 3:  # valid UTF-8 cut mid-character by a size limit
            return data[: err.start].decode("utf-8")
    declared = _declared_charset(data[:8192])
    if declared is None:
        from charset_normalizer import from_bytes  # trafilatura's own dependency

        best = from_bytes(data[:65536]).best()
        declared = best.encoding if best is not None else "utf-8"
    return data.decode(declared, "replace")


# --- JSON-LD ---------------------------------------------------------------------------

_MAX_JSONLD_CHARS = 1_000_000
_MAX_WALK_DEPTH = 6
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WRAPPERS = re.compile(r"^\s*(?://\s*)?(?:<!--|<!\[CDATA\[)|(?://\s*)?(?:-->|\]\]>)\s*$")


@dataclass
class _Meta:
    """Fields found so far; the first source to set a field wins."""

    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    language: str | None = None
    body: str = ""
    description: str | None = None
    is_article: bool = False
    types: set[str] = field(default_factory=set)
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)


def _load_json(raw: str) -> Any:
    """Parse JSON-LD leniently (control characters, comment wrappers, trailing commas)."""
    if len(raw) > _MAX_JSONLD_CHARS:
        return None
    for candidate in (raw, _TRAILING_COMMA.sub(r"\1", _WRAPPERS.sub("", raw))):
        try:
            return json.loads(candidate, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


def _nodes(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Top-level nodes, @graph members and mainEntity; not ItemList members (teasers)."""
    if depth > _MAX_WALK_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _nodes(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity"):
            if key in data:
                yield from _nodes(data[key], depth + 1)


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    # "schema:NewsArticle" and "http://schema.org/NewsArticle" mean NewsArticle
    return {re.split(r"[/:]", v)[-1] for v in values if isinstance(v, str)}


def _string(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("@value")
    return value if isinstance(value, str) and value.strip() else None


def _names(value: Any, ids: dict[str, dict[str, Any]], depth: int = 0) -> list[str]:
    """Author names from a string, a Person/Organization (or @id reference), or a list."""
    if depth > 3:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value[:20] for name in _names(item, ids, depth + 1)]
    if isinstance(value, dict):
        if isinstance(value.get("@value"), str):
            return [value["@value"]]
        ref = value.get("@id")
        if "name" not in value and isinstance(ref, str):
            value = ids.get(ref, value)
        return _names(value.get("name"), ids, depth + 1) if "name" in value else []
    return []


def _author(value: Any, ids: dict[str, dict[str, Any]]) -> str | None:
    names: list[str] = []
    for raw in _names(value, ids):
        name = " ".join(clean_text(raw).split())
        # URLs and e-mail addresses are where a name should be, not names
        if 2 <= len(name) <= 200 and not re.match(r"(https?:|www\.)|\S+@\S+$", name):
            names.append(name)
    return ", ".join(dict.fromkeys(names)) or None


def _language(value: Any) -> str | None:
    if isinstance(value, list):
        return next(filter(None, map(_language, value)), None)
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    return language_code(value) if isinstance(value, str) else None


def _line(value: Any) -> str | None:
    text = _string(value)
    if text is None:
        return None
    return " ".join(clean_text(text).split()) or None


def _read_article_node(node: dict[str, Any], meta: _Meta) -> None:
    publisher = node.get("publisher")
    site = _line(publisher.get("name")) if isinstance(publisher, dict) else None
    headline = _line(node.get("headline")) or _line(node.get("name"))
    if headline and headline != site:  # templates sometimes put the site name here
        meta.title = headline
    meta.author = _author(node.get("author"), meta.ids)
    meta.published = parse_datetime(_string(node.get("datePublished")))
    meta.modified = parse_datetime(_string(node.get("dateModified")))
    meta.language = _language(node.get("inLanguage"))
    body = _string(node.get("articleBody"))
    meta.body = clean_text(body) if body else ""
    meta.description = _line(node.get("description"))


def _jsonld_meta(tree: HtmlElement) -> _Meta:
    """Metadata from the first schema.org article node; invalid values are skipped."""
    nodes: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json":
            nodes.extend(_nodes(_load_json(script.text or "")))
    meta = _Meta(
        ids={n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)},
        types=set().union(*map(_types, nodes)),
    )
    article = next((n for n in nodes if _types(n) & ARTICLE_TYPES), None)
    if article is not None:
        meta.is_article = True
        _read_article_node(article, meta)
    return meta


# --- page head -------------------------------------------------------------------------

# XPath 1.0 has no lower-case()
_LOWER = 'translate({}, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")'
# Publication time in the page head, most specific first (htmldate is the last resort).
_DATE_XPATHS = (
    '//meta[@property="article:published_time" or @property="og:article:published_time"]/@content',
    '//*[@itemprop="datePublished"]/@content | //*[@itemprop="datePublished"]/@datetime',
    '//meta[contains(" pubdate publishdate publish-date date dc.date dc.date.issued '
    'dcterms.created sailthru.date parsely-pub-date article.published ", '
    f'concat(" ", {_LOWER.format("@name")}, " "))]/@content',
    # The article's own <time>: htmldate reads it too, but keeps only the day.
    "(//article//time[@datetime] | //main//time[@datetime])[1]/@datetime",
)
_CANONICAL_XPATH = (
    f'//link[contains(concat(" ", normalize-space({_LOWER.format("@rel")}), " "), " canonical ")]'
    "/@href"
)
_LISTING_TYPES = frozenset({"CollectionPage", "SearchResultsPage", "ProfilePage"})
# Bodies shorter than this may be a listing's teasers (see _looks_like_listing).
_TEASER_CHARS = 600


def _attr(tree: HtmlElement, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _declared_canonical(tree: HtmlElement, url: str) -> str | None:
    href = _attr(tree, _CANONICAL_XPATH) or _attr(tree, '//meta[@property="og:url"]/@content')
    if not href:
        return None
    canonical = canonicalize_url(href, base=url)
    return canonical if canonical.startswith(("http://", "https://")) else None


def _page_language(tree: HtmlElement) -> str | None:
    for xpath in (
        "/html/@lang",
        '/html/@*[name()="xml:lang"]',
        f'//meta[{_LOWER.format("@http-equiv")}="content-language"]/@content',
        '//meta[@property="og:locale"]/@content',
    ):
        if code := language_code(_attr(tree, xpath)):
            return code
    return None


def _head_published(tree: HtmlElement) -> datetime | None:
    for xpath in _DATE_XPATHS:
        if found := parse_datetime(_attr(tree, xpath)):
            return found
    return None


def _declared_listing(meta: _Meta) -> bool:
    """JSON-LD says section front, search or profile page, and describes no article."""
    return not meta.is_article and bool(meta.types & _LISTING_TYPES)


def _looks_like_listing(tree: HtmlElement) -> bool:
    """Not typed as an article and a grid of <article> teasers (checked only when the
    extracted body is teaser-sized, so related-story cards cannot cost a real body)."""
    og_type = _attr(tree, '//meta[@property="og:type"]/@content')
    return og_type != "article" and len(tree.xpath("//article")) >= 3


# --- body ------------------------------------------------------------------------------

# htmldate's defaults read the clock (max_date = today); normalize_item checks dates
# against the item's fetch time instead. Markup only: text patterns guess too freely.
_DATE_PARAMS = {
    "original_date": True,
    "extensive_search": False,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "max_date": "2100-01-01",
}
# An articleBody must be this much longer than the visible text to replace it (paywalls
# and script-rendered pages show a teaser; the JSON-LD holds the whole text).
_ARTICLE_BODY_FACTOR = 1.5
# Less visible text than this is a teaser, caption or consent notice, not a body.
MIN_BODY_CHARS = 100
_CELL_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "ul", "ol", "table", "article"})


def _parse(html: bytes | str) -> HtmlElement | None:
    from trafilatura.utils import load_html

    text = decode_html(html[:MAX_HTML_CHARS]) if isinstance(html, bytes) else html
    # lone surrogates and NULs make lxml fail on otherwise readable pages
    text = text[:MAX_HTML_CHARS].encode("utf-8", "replace").decode("utf-8").replace("\0", "")
    tree = load_html(text) if text.strip() else None
    return tree if isinstance(tree, HtmlElement) else None


def _unwrap_layout_tables(tree: HtmlElement) -> None:
    """Turn tables used for page layout into divs so the text in them survives
    ``include_tables=False`` (which keeps data tables and menus out of the body)."""
    for table in list(tree.iter("table")):
        parts = [
            el
            for el in table.iter("tbody", "thead", "tfoot", "tr", "td", "th")
            if next(el.iterancestors("table"), None) is table
        ]
        cells = (el for el in parts if el.tag in ("td", "th"))
        if any(child.tag in _CELL_BLOCKS for cell in cells for child in cell):
            for el in [table, *parts]:
                el.tag = "div"


# trafilatura's own extractor alone (``fast``) finds the body of an ordinary article page;
# its comparison with readability and jusText costs as much again and only matters when
# the body found is short (a page the extractor could not read). Below this many
# characters the full cascade runs.
_FAST_ENOUGH_CHARS = 600


def _body_text(tree: HtmlElement, url: str) -> str:
    """Main text by trafilatura, tuned for precision: no comments, tables, images, links."""
    _unwrap_layout_tables(tree)
    text = _trafilatura_text(tree, url, fast=True)
    if len(text) < _FAST_ENOUGH_CHARS:
        text = max(text, _trafilatura_text(tree, url, fast=False), key=len)
    return text


def _trafilatura_text(tree: HtmlElement, url: str, *, fast: bool) -> str:
    from trafilatura import bare_extraction

    document = bare_extraction(
        tree,
        url=url,
        fast=fast,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        deduplicate=False,
        with_metadata=False,
    )
    text = getattr(document, "text", None)
    # plain text already: clean_text would unescape "&amp;" twice and eat "<b>"
    return tidy_text(text) if isinstance(text, str) else ""


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _choose_body(visible: str, declared: str, title: str | None) -> str:
    """The visible text without a leading headline, or the JSON-LD articleBody when that
    is much longer and starts like the visible text (a paywalled or scripted page)."""
    first, _, rest = visible.partition("\n")
    if title and _words(first) == _words(title):
        visible = rest.lstrip("\n")
    opening = _words(" ".join(visible.split()[:12]))
    if len(declared) >= _ARTICLE_BODY_FACTOR * len(visible) and opening in _words(declared):
        visible = declared
    return visible if len(visible) >= MIN_BODY_CHARS else ""


def _fallback_meta(tree: HtmlElement, url: str, meta: _Meta, *, title_only: bool) -> None:
    """Fill what JSON-LD lacked from the HTML head and byline, via trafilatura."""
    from trafilatura.metadata import extract_metadata

    pruned = deepcopy(tree)
    for script in pruned.xpath("//script"):  # JSON-LD was read already, invalid parts too
        script.drop_tree()
    found = extract_metadata(pruned, default_url=url, date_config=dict(_DATE_PARAMS))
    meta.title = meta.title or _line(found.title)
    if not title_only:
        meta.author = meta.author or _line(found.author)
        meta.published = meta.published or parse_datetime(found.date)


def _visible_body(tree: HtmlElement, url: str) -> str:
    try:
        return _body_text(tree, url)
    except Exception:  # a trafilatura bug on one page must not lose its metadata
        return ""


# At least this share of a JSON-LD headline's words must be in the page's own title.
_HEADLINE_OVERLAP = 0.5


def headline_matches(headline: str, shown_titles: Sequence[str]) -> bool:
    """Whether a declared (JSON-LD) headline belongs to a page that shows these titles
    (its <h1>, og:title and <title>); True when there is nothing to compare with.

    A headline sharing less than half its words with all of them describes another page:
    a template filled with the wrong article, or a copy's metadata left in place.
    """
    words = set(_words(headline).split())
    shown = set(_words(" ".join(shown_titles)).split())
    if not words or not shown:
        return True
    return len(words & shown) >= _HEADLINE_OVERLAP * len(words)


def shown_titles(tree: HtmlElement) -> list[str]:
    """The headline a page shows (<h1>) with its og:title and <title>; none without <h1>,
    since SEO titles alone often differ from the headline."""
    h1 = next(iter(tree.xpath("//h1")), None)
    if h1 is None:
        return []
    found = [
        h1.text_content(),
        _attr(tree, '//meta[@property="og:title"]/@content'),
        _attr(tree, "//title/text()"),
    ]
    return [title for title in found if title and title.strip()]


def _extract(html: bytes | str, url: str) -> Extracted:
    tree = _parse(html)
    if tree is None:
        return Extracted()
    meta = _jsonld_meta(tree)
    if meta.title and not headline_matches(meta.title, shown_titles(tree)):
        # the article node describes another page: none of its claims are used
        meta = _Meta(is_article=meta.is_article, types=meta.types, ids=meta.ids)
    listing = _declared_listing(meta)
    visible = "" if listing else _visible_body(tree, url)
    listing = listing or (len(visible) < _TEASER_CHARS and _looks_like_listing(tree))
    if not listing:
        meta.published = meta.published or _head_published(tree)
    if not (meta.title and (listing or (meta.author and meta.published))):
        # a listing's bylines and dates belong to its teasers, not to the page
        _fallback_meta(tree, url, meta, title_only=listing)
    text = "" if listing else _choose_body(visible, meta.body, meta.title)
    language = meta.language or _page_language(tree)
    if language is None and text:
        language = detect_language(f"{meta.title or ''}\n{text}")
    return Extracted(
        title=meta.title,
        text=text,
        author=meta.author,
        published=meta.published,
        modified=meta.modified,
        language=language,
        canonical_url=_declared_canonical(tree, url),
        description=meta.description,
    )


def extract_article(html: bytes | str, url: str) -> Extracted:
    """Title, body text, author, dates, language and declared canonical URL of a page.

    Never raises: garbage, empty or hostile input gives ``Extracted()`` (empty text).
    """
    try:
        return _extract(html, url)
    except Exception:  # one unreadable page must not stop a crawl; empty text says so
        return Extracted()
