"""Feed parsing: bytes in, entries out. feedparser only ever sees bytes (never a URL or
a path: ``feedparser.parse(url)`` has no timeout and would open local files)."""

from __future__ import annotations

import calendar
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from ingest.errors import ParseError

MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 20_000


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

    Raises ParseError when nothing usable is there (empty body, HTML page, garbage).
    """
    if not body.strip():
        raise ParseError("empty response where a feed was expected")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    warnings: list[str] = []
    if parsed.get("bozo"):
        warnings.append(f"feed is not well-formed ({_bozo_reason(parsed)}); used as parsed")
    if not parsed.version and not parsed.entries:
        raise ParseError(_not_a_feed_reason(body, content_type, parsed))
    feed_language = _language(parsed.feed.get("language"))
    entries: list[FeedEntry] = []
    skipped_no_link = 0
    for raw in parsed.entries[:max_entries]:
        entry = _entry(raw, url, feed_language)
        if entry is None:
            skipped_no_link += 1
        else:
            entries.append(entry)
    if len(parsed.entries) > max_entries:
        warnings.append(f"{len(parsed.entries)} entries; only the first {max_entries} read")
    if skipped_no_link:
        warnings.append(f"{skipped_no_link} entries without a usable link skipped")
    undated = sum(1 for e in entries if e.published is None)
    if undated:
        warnings.append(f"{undated} entries without a date (page date or first-seen time used)")
    return ParsedFeed(
        title=str(parsed.feed.get("title", ""))[:MAX_TITLE_CHARS],
        version=parsed.version or "unknown",
        language=feed_language,
        entries=tuple(entries),
        warnings=tuple(warnings),
    )


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
    guid = _text(raw.get("id")) or None
    link = _text(raw.get("link"))
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid  # RSS <guid isPermaLink="true"> without <link>
    if not link:
        return None
    link = urljoin(feed_url, link.strip())
    if urlsplit(link).scheme not in ("http", "https"):
        return None
    summary = _text(raw.get("summary"))
    for content in raw.get("content") or []:
        value = _text(content.get("value"))
        if len(value) > len(summary):
            summary = value  # full content beats a teaser
    return FeedEntry(
        link=link,
        guid=guid[:2000] if guid else None,
        title=_text(raw.get("title"))[:MAX_TITLE_CHARS],
        summary=summary[:MAX_SUMMARY_CHARS],
        author=_text(raw.get("author"))[:500] or None,
        published=_entry_time(raw),
        language=_language(raw.get("language")) or feed_language,
    )


def _entry_time(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _language(value: Any) -> str | None:
    text = _text(value)
    return text.split("-")[0].split("_")[0].lower()[:12] or None if text else None
