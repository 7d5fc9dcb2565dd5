"""Feed parsing: bytes in, entries out. feedparser only ever sees bytes (never a URL or
a path: ``feedparser.parse(url)`` has no timeout and would open local files).

Hostile input is expected: entity attacks are refused before feedparser runs
(:func:`ingest.sources.xmlguard.check_xml_safety`), feedparser is given a bounded amount of work
(:func:`ingest.sources.feedlimits.bound_feed`), an exception inside feedparser becomes a
ParseError, every text field comes out as valid UTF-8 without NUL or other control
characters and within its size cap, and entries whose link is not a usable http(s) URL
are skipped."""

from __future__ import annotations

import calendar
import io
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from ingest.model.errors import ParseError
from ingest.sources.feedlimits import bound_feed
from ingest.sources.xmlguard import check_xml_safety

MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 20_000
MAX_AUTHOR_CHARS = 500
MAX_GUID_CHARS = 2_000
MAX_LINK_CHARS = 4_000
# C0 controls other than tab, newline and carriage return, DEL, and lone surrogates.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_URL_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


@dataclass(frozen=True)
class FeedEntry:
    link: str
    guid: str | None
    title: str
    summary: str
    author: str | None
    published: datetime | None
    language: str | None


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    version: str
    language: str | None
    entries: tuple[FeedEntry, ...]
    warnings: tuple[str, ...]


def parse_feed(body: bytes, url: str, content_type: str = "", max_entries: int = 500) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0 or Atom bytes. A bozo feed is used as far as it parses.

    Raises ParseError when nothing usable is there (empty body, HTML page, garbage) or the
    bytes are unsafe to parse (entity expansion, external entities).
    """
    if not body.strip():
        raise ParseError("empty response where a feed was expected")
    check_xml_safety(body, content_type)
    body, warnings = bound_feed(body, max_entries)
    parsed = _feedparser(body, url, content_type)
    if parsed.get("bozo"):
        warnings.append(f"feed is not well-formed ({_bozo_reason(parsed)}); used as parsed")
    raw_entries = parsed.get("entries") or []
    if not parsed.get("version") and not raw_entries:
        raise ParseError(_not_a_feed_reason(body, content_type, parsed))
    feed_info = parsed.get("feed") or {}
    feed_language = _language(feed_info.get("language"))
    entries: list[FeedEntry] = []
    for raw in raw_entries[:max_entries]:
        entry = _entry(raw, url, feed_language)
        if entry is not None:
            entries.append(entry)
    if len(raw_entries) > max_entries:
        warnings.append(f"{len(raw_entries)} entries; only the first {max_entries} read")
    skipped_no_link = min(len(raw_entries), max_entries) - len(entries)
    if skipped_no_link:
        warnings.append(f"{skipped_no_link} entries without a usable link skipped")
    undated = sum(1 for e in entries if e.published is None)
    if undated:
        warnings.append(f"{undated} entries without a date (page date or first-seen time used)")
    return ParsedFeed(
        title=_text(feed_info.get("title"), MAX_TITLE_CHARS),
        version=_text(parsed.get("version"), 40) or "unknown",
        language=feed_language,
        entries=tuple(entries),
        warnings=tuple(warnings),
    )


def _feedparser(body: bytes, url: str, content_type: str) -> Any:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        return feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser's own bug on hostile bytes: this feed only
        raise ParseError(f"feedparser failed on this input ({type(exc).__name__})") from exc


def _bozo_reason(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return str(exc).splitlines()[0][:200] if exc else "unknown problem"


def _not_a_feed_reason(body: bytes, content_type: str, parsed: Any) -> str:
    head = body[:512].lstrip().lower()
    if b"<html" in head or b"<!doctype html" in head or "html" in content_type.lower():
        return "not a feed: the server sent an HTML page"
    if parsed.get("bozo"):
        return f"not a feed: {_bozo_reason(parsed)}"
    return "not a feed: no RSS or Atom content found"


def _entry(raw: Any, feed_url: str, feed_language: str | None) -> FeedEntry | None:
    guid = _text(raw.get("id"), MAX_GUID_CHARS) or None
    link = _link(_text(raw.get("link"), MAX_LINK_CHARS + 1), feed_url)
    if link is None and guid and guid.startswith(("http://", "https://")):
        link = _link(guid, feed_url)  # RSS <guid isPermaLink="true"> without <link>
    if link is None:
        return None
    summary = _text(raw.get("summary"), MAX_SUMMARY_CHARS)
    for content in raw.get("content") or []:
        value = _text(content.get("value") if isinstance(content, dict) else None)
        if len(value) > len(summary):
            summary = value[:MAX_SUMMARY_CHARS]  # full content beats a teaser
    return FeedEntry(
        link=link,
        guid=guid,
        title=_text(raw.get("title"), MAX_TITLE_CHARS),
        summary=summary,
        author=_text(raw.get("author"), MAX_AUTHOR_CHARS) or None,
        published=_entry_time(raw),
        language=_language(raw.get("language")) or feed_language,
    )


def _link(value: str, feed_url: str) -> str | None:
    """An absolute http(s) URL of reasonable length, or None."""
    value = _URL_TAB_OR_NEWLINE.sub("", value).replace(" ", "%20")  # as browsers do
    if not value or len(value) > MAX_LINK_CHARS:
        return None
    try:
        link = urljoin(feed_url, value)
        parts = urlsplit(link)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return link if len(link) <= MAX_LINK_CHARS else None


def _entry_time(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get, not FeedParserDict.get: its deprecated updated -> published fallback
        # warns, and published was asked first anyway
        value = dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _text(value: Any, limit: int | None = None) -> str:
    """A clean single string: no NUL, control characters or lone surrogates, at most ``limit``."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if limit is not None:
        value = value[: limit * 2]  # cleaning only ever shortens; bound its work first
    return _UNSAFE_CHARS.sub("", value).strip()[:limit]


def _language(value: Any) -> str | None:
    text = _text(value, 100)
    return text.split("-")[0].split("_")[0].lower()[:12] or None if text else None
