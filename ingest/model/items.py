"""Plain values passed between pipeline stages (no SQLAlchemy here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RawItem:
    """One item as a source delivered it, before normalisation.

    Feeds fill the entry fields; ``html`` holds the article page when it was fetched
    (feeds with ``fetch_articles``, spiders always).
    """

    source: str
    url: str
    fetched_at: datetime
    guid: str | None = None
    title: str = ""
    summary: str = ""
    author: str | None = None
    published: datetime | None = None
    language_hint: str | None = None
    html: bytes | None = None
    final_url: str | None = None
    outlet: str | None = None


@dataclass(frozen=True)
class Extracted:
    """What extraction found in an article page (JSON-LD first, then trafilatura)."""

    title: str | None = None
    text: str = ""
    author: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Article:
    """A normalised article, ready for relevance, dedup and storage."""

    url: str
    canonical_url: str
    source: str
    outlet: str
    fetched_at: datetime
    title: str
    summary: str
    text: str
    guid: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    content_hash: str | None = None


@dataclass(frozen=True)
class StoryMatch:
    """An article's membership in one story, with the query terms that matched."""

    story: str
    terms: tuple[str, ...] = field(default_factory=tuple)
