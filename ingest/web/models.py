"""The HTTP API's response bodies (pydantic models at the edge; they make the OpenAPI
document). Built from storage's dataclasses with ``from_attributes``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(_Out):
    """Every error answer: a short code, a sentence, and for a bad query where it is."""

    error: str = Field(description="bad_query | bad_filter | invalid_parameter | not_found | "
                       "not_available | unauthorized | method_not_allowed | search_timeout | "
                       "storage_unavailable")  # fmt: skip
    detail: str
    position: int | None = Field(None, description="0-based offset of a query error")
    query: str | None = None


class FrameOut(_Out):
    story: str | None
    frame: str
    voice: str | None = Field(description="own | quoted | distanced")
    evidence: str | None = Field(description="the sentence that shows the frame")
    speaker: str | None = Field(None, description="whose words (quoted) or framing (distanced)")
    voice_note: str | None = Field(
        None, description="the voice in plain words: quoted from X, reported as X's framing"
    )


class Hit(_Out):
    id: int
    url: str
    title: str
    outlet: str
    source: str | None
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    stories: list[str]
    duplicate_of: int | None
    cluster: int | None
    frames: list[FrameOut] = Field(description="the frames framing found, with evidence")
    score: float | None = Field(description="relevance (higher is better); null without a query")
    snippet: str = Field(description="plain text around the matches")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) character offsets of the matched words in the snippet"
    )


class ArticlePage(_Out):
    query: str | None
    sort: str
    total: int = Field(description="matching articles, counted up to 2,000")
    total_exact: bool = Field(
        description="false when there are more than `total`; relevance is then ranked "
        "among the newest 2,000 matches"
    )
    limit: int
    offset: int
    next_offset: int | None
    items: list[Hit]


class ArticleRef(_Out):
    id: int
    title: str
    outlet: str
    url: str
    published_at: datetime | None


class SightingOut(_Out):
    source: str | None
    url: str
    matched_by: str = Field(description="new | canonical_url | guid | content_hash")
    seen_at: datetime


class StoryOut(_Out):
    story: str
    matched_terms: list[str] = Field(description="the story query's terms found in the article")
    matched_at: datetime


class ClusterRef(_Out):
    id: int
    label: str
    top_terms: list[str]
    article_count: int
    outlet_count: int


class WireStoryOut(_Out):
    id: int
    origin: str = Field(description="the agency credited (AP, Reuters, BelTA...), else the "
                        "outlet of the earliest carrier")  # fmt: skip
    article_count: int
    outlet_count: int
    carriers: list[ArticleRef] = Field(description="every article carrying it, earliest first")


class ArticleOut(_Out):
    id: int
    url: str
    canonical_url: str
    source: str | None
    outlet: str
    title: str
    summary: str
    text: str
    author: str | None
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    stories: list[StoryOut]
    sightings: list[SightingOut] = Field(description="every time a source carried it")
    duplicate_of: ArticleRef | None = Field(description="the original, when this is a copy")
    duplicates: list[ArticleRef] = Field(description="near-duplicate copies of this article")
    cluster: ClusterRef | None
    frames: list[FrameOut] = Field(description="frames framing found, each with its evidence")
    wire_story: WireStoryOut | None = Field(
        None, description="the agency report it carries with other articles: carried by "
        "`outlet_count` outlets, from `origin`; null when no other article carries it"
    )  # fmt: skip


class ClusterOut(_Out):
    id: int
    story: str | None
    label: str
    top_terms: list[str]
    first_seen_at: datetime
    last_seen_at: datetime
    articles: int
    outlets: list[str]
    copies: int


class ClusterList(_Out):
    items: list[ClusterOut]


class FlagOut(_Out):
    id: int
    story: str
    kind: str = Field(
        description="first_seen | source_shift | distancing | surge | emerging_phrase"
    )
    frame: str | None
    phrase: str | None
    source: str | None
    article_ids: list[int]
    first_seen_at: datetime
    created_at: datetime
    score: float
    status: str = Field(description="new | reviewed | dismissed | promoted")
    evidence: list[str]
    statistic: str
    note: str | None


class FlagList(_Out):
    items: list[FlagOut]


class TimelineBucket(_Out):
    start: date = Field(description="first day of the day, ISO week (Monday) or month")
    articles: int = Field(description="the story's articles in the bucket (copies left out)")
    frames: dict[str, int] = Field(description="articles using each frame")


class Timeline(_Out):
    story: str
    interval: str
    voice: str | None
    buckets: list[TimelineBucket]


class DigestOut(_Out):
    story: str
    day: date = Field(description="calendar day in the configured timezone")
    written_at: datetime
    article_count: int
    summary: str
    sent_at: datetime | None
    html_url: str | None = Field(description="the HTML digest on the web page, if written")
    markdown: str | None = Field(None, description="the Markdown digest (one digest only)")


class DigestList(_Out):
    items: list[DigestOut]


class Health(_Out):
    status: str
    schema_revision: str | None
