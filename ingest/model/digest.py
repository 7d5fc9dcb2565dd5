"""What a daily digest shows, as values: articles, flags, the 14 days behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ingest.model.health import SourceActivity, SourceFailure
from ingest.model.outages import Outage


@dataclass(frozen=True)
class DigestArticle:
    """An article as the digest shows it."""

    id: int
    title: str
    url: str
    outlet: str
    language: str | None
    when: datetime  # published, else first seen (UTC)
    published: bool  # False when ``when`` is the first-seen time
    fetched_at: datetime
    duplicate_of: int | None
    cluster_id: int | None
    frames: tuple[tuple[str, str], ...] = ()  # (frame, voice), sorted
    carried_by: int = 1  # sightings of the article and its near-copies
    wire_story: int | None = None  # the agency report it carries with other articles
    wire_origin: str | None = None  # where that report comes from (agency or outlet)


@dataclass(frozen=True)
class HistoryArticle:
    """The little the numbers and the chart need about an article of the last 14 days."""

    when: datetime
    outlet: str
    language: str | None
    duplicate_of: int | None
    frames: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DigestFlag:
    id: int
    kind: str
    frame: str | None
    phrase: str | None
    statistic: str
    evidence: str | None
    outlet: str | None
    url: str | None  # the article that raised it
    title: str | None
    first_seen_at: datetime
    score: float
    article_id: int | None = None  # the article that raised it
    voice: str | None = None  # the frame's voice in the raising article, in plain words


@dataclass(frozen=True)
class DigestData:
    """Everything one story's digest for one day shows."""

    story: str
    day: date
    timezone: str
    written_at: datetime  # when this digest was first written
    articles: tuple[DigestArticle, ...]  # the day's articles
    history: tuple[HistoryArticle, ...]  # the 14 days ending with ``day``
    flags: tuple[DigestFlag, ...]  # flags first seen on the day
    late: tuple[DigestArticle, ...] = ()  # earlier days' articles fetched after their digest
    failures: tuple[SourceFailure, ...] = ()  # sources whose polls or crawls failed that day
    activity: tuple[SourceActivity, ...] = ()  # what each source carried, day by day
    attempts: int | None = None  # polls and crawls recorded that day (None: not looked up)
    outages: tuple[Outage, ...] = ()  # store outages that overlap the day

    @property
    def quiet(self) -> bool:
        return not self.articles and not self.flags

    @property
    def title(self) -> str:
        return f"{self.story} — {self.day.isoformat()}"


@dataclass(frozen=True)
class FeedEntry:
    """One digest in the Atom feed of digests."""

    story: str
    day: date
    written_at: datetime
    summary: str
    link: str  # relative to the feed, or a file: URI
