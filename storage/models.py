"""Typed SQLAlchemy models. The schema is only ever changed through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names so migrations look the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's INTEGER PRIMARY KEY is its rowid; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A configured feed or site; rows stay when removed from the config (history)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "feed" | "site"
    url: Mapped[str] = mapped_column(Text)
    outlet_group: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    state: Mapped[FeedState | None] = relationship(back_populates="source", uselist=False)


class FeedState(Base):
    """Per-feed fetch state: validators for conditional GET, health and the next due time."""

    __tablename__ = "feed_states"

    source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(40))
    consecutive_errors: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items_seen: Mapped[int] = mapped_column(default=0)
    items_stored: Mapped[int] = mapped_column(default=0)

    source: Mapped[Source] = relationship(back_populates="state")


class Article(Base):
    """One piece of coverage, stored once however many sources carried it."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text, index=True)
    source_id: Mapped[int] = mapped_column(Id, ForeignKey("sources.id"), index=True)
    outlet: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(12), index=True)
    # Unique: a second copy of the same normalised text under another URL is one article.
    content_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Near-duplicate of the earliest-published copy (every copy stays stored).
    duplicate_of: Mapped[int | None] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    cluster_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("clusters.id", ondelete="SET NULL"), index=True
    )

    sightings: Mapped[list[Sighting]] = relationship(back_populates="article")
    stories: Mapped[list[StoryMembership]] = relationship(back_populates="article")


class Sighting(Base):
    """Every time a source carried an article (under which URL, when)."""

    __tablename__ = "sightings"
    __table_args__ = (
        UniqueConstraint("article_id", "source_id", "url"),
        # known-link and known-guid look-ups ask "has this source carried this URL/guid?"
        Index("ix_sightings_source_url", "source_id", "url"),
        Index("ix_sightings_source_guid", "source_id", "guid"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(Id, ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    matched_by: Mapped[str] = mapped_column(String(20))  # new | canonical_url | guid | content_hash
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    article: Mapped[Article] = relationship(back_populates="sightings")


class StoryMembership(Base):
    """Article x story, with the query terms that matched."""

    __tablename__ = "story_memberships"

    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    story: Mapped[str] = mapped_column(String(100), primary_key=True)
    matched_terms: Mapped[list[str]] = mapped_column(JSON)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime)

    article: Mapped[Article] = relationship(back_populates="stories")


class SeenEntry(Base):
    """An entry that matched no story: remembered just enough not to fetch it again."""

    __tablename__ = "seen_entries"
    __table_args__ = (Index("ix_seen_entries_source_guid", "source_id", "guid"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    source_id: Mapped[int] = mapped_column(Id, ForeignKey("sources.id"))
    guid: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(40))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FetchLog(Base):
    """One line per fetch attempt: what was asked, what came back, how long it took."""

    __tablename__ = "fetch_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("sources.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # feed | article | page
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(40))  # ok | not_modified | unchanged | <error kind>
    error: Mapped[str | None] = mapped_column(Text)
    bytes_read: Mapped[int] = mapped_column(default=0)
    items_found: Mapped[int] = mapped_column(default=0)
    items_new: Mapped[int] = mapped_column(default=0)


class Signature(Base):
    """An article's MinHash signature, for near-duplicate detection."""

    __tablename__ = "signatures"

    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    shingles: Mapped[int] = mapped_column()
    # The time the index window is judged on: published, else fetched.
    dated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SignatureBand(Base):
    """LSH band hashes: articles sharing a (band, hash) are near-duplicate candidates.

    Kept in the database so every worker sharing it sees the others' articles. The key
    (in column order) is the lookup itself; on SQLite the table is WITHOUT ROWID, so a row
    goes into that one B-tree plus the article_id index that deletes need (migration 0009).
    """

    __tablename__ = "signature_bands"
    __table_args__ = ({"sqlite_with_rowid": False},)

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Cluster(Base):
    """Articles about the same event (not copies) within a time window."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story: Mapped[str | None] = mapped_column(String(100), index=True)
    label: Mapped[str] = mapped_column(Text, default="")
    top_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Term weights of the cluster's articles, for assigning new ones.
    centroid: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    article_count: Mapped[int] = mapped_column(default=0)
    outlet_count: Mapped[int] = mapped_column(default=0)


class WireStory(Base):
    """One underlying agency report carried by several articles of an event (copies,
    trims, rewrites, translations), with the agency or outlet it comes from."""

    __tablename__ = "wire_stories"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    cluster_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("clusters.id", ondelete="SET NULL"), index=True
    )
    origin: Mapped[str] = mapped_column(String(255))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    article_count: Mapped[int] = mapped_column(default=0)
    outlet_count: Mapped[int] = mapped_column(default=0)


class WireFeature(Base):
    """An article in the wire-story stage: what it compares (``ingest.pipeline.wire``:
    credits, quote and name keys as JSON, the lead's 3-gram hashes as 32-bit integers)
    and the wire story it carries (None: carried by no other article). Articles stored
    before the stage existed have no row."""

    __tablename__ = "wire_features"
    __table_args__ = (Index("ix_wire_features_cluster_dated", "cluster_id", "dated_at"),)

    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[int | None] = mapped_column(Id)
    dated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wire_story_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("wire_stories.id", ondelete="SET NULL"), index=True
    )
    features: Mapped[str] = mapped_column(Text)
    shingles: Mapped[bytes] = mapped_column(LargeBinary)


class CrawlRun(Base):
    """One site crawl: what it fetched and found, how long it took, why it stopped."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # running | finished | failed | killed
    stop_reason: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(default=0)
    items: Mapped[int] = mapped_column(default=0)
    new_articles: Mapped[int] = mapped_column(default=0)
    errors: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # by kind
    duration_ms: Mapped[int] = mapped_column(default=0)
    pid: Mapped[int | None] = mapped_column()


class CrawlValidator(Base):
    """A listing page's or sitemap's ETag / Last-Modified from the last crawl that followed
    all its links, sent back as If-None-Match / If-Modified-Since: an unchanged page
    answers 304 and costs neither the download nor a look at its links."""

    __tablename__ = "crawl_validators"

    source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text, primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleFrame(Base):
    """A frame an article uses for a story, in one voice, with the sentence that shows it."""

    __tablename__ = "article_frames"
    __table_args__ = (UniqueConstraint("article_id", "story", "frame", "voice"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    story: Mapped[str] = mapped_column(String(100))
    frame: Mapped[str] = mapped_column(String(100), index=True)
    voice: Mapped[str] = mapped_column(String(12))  # own | quoted | distanced
    evidence: Mapped[str] = mapped_column(Text)
    sentence_index: Mapped[int] = mapped_column()
    cue: Mapped[str] = mapped_column(Text)
    # "strong" | "weak" (one weak cue only: no first_seen / source_shift flag on it alone)
    strength: Mapped[str] = mapped_column(String(8), default="strong", server_default="strong")
    # whose words (quoted) or framing (distanced) it is, as the article names them
    speaker: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Codebook fingerprint and algorithm version the frame was computed with (rescore).
    scoring_version: Mapped[str] = mapped_column(String(80))


class Flag(Base):
    """A new framing on a story's timeline, for an analyst to review."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("story", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story: Mapped[str] = mapped_column(String(100), index=True)
    key: Mapped[str] = mapped_column(String(400))  # stable identity across recomputation
    kind: Mapped[str] = mapped_column(String(30), index=True)
    frame: Mapped[str | None] = mapped_column(String(100))
    phrase: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(255))
    article_ids: Mapped[list[int]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[float] = mapped_column()
    statistic: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="new", index=True)
    note: Mapped[str | None] = mapped_column(Text)


class Digest(Base):
    """A daily digest written for a story: where its files are and whether it was mailed.

    ``written_at`` is when it was first written; regenerating it keeps that time, so late
    arrivals (articles fetched after their day's digest) are judged against it.
    """

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("story", "day"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date, index=True)  # calendar day in the configured zone
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    html_path: Mapped[str | None] = mapped_column(Text)
    md_path: Mapped[str | None] = mapped_column(Text)
    article_count: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(Text, default="")  # one line, for the Atom feed
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhraseSet(Base):
    """An article's reading for a story: with which version (codebook fingerprint and
    phrase extraction: ``rescore`` redoes outdated ones) and the distinct phrases it uses
    in its own voice (``ingest.framing.phrases``; headline and lede only, so bounded), for
    emerging-phrase flags.

    The phrases are one value, sorted, one per line: one row per article rather than one
    per phrase (about 80), which made phrases most of the database (migration 0010)."""

    __tablename__ = "phrase_sets"

    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    story: Mapped[str] = mapped_column(String(100), primary_key=True)
    phrases: Mapped[int] = mapped_column(default=0)  # how many
    version: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text, default="", server_default="")


class FlagState(Base):
    """What a story's stored flags were computed from (``ingest.flags.refresh``): a digest of
    the settings they depend on and one of each day of the story's timeline, so the next
    refresh recomputes from the earliest day that changed, not the whole timeline; the
    days phrases fired (their quiet periods reach back 90 days); and how many flags it
    left stored (fewer now: some were deleted, recompute them all)."""

    __tablename__ = "flag_states"

    story: Mapped[str] = mapped_column(String(100), primary_key=True)
    inputs: Mapped[str] = mapped_column(String(64))
    days: Mapped[dict[str, str]] = mapped_column(JSON)  # ISO day -> digest
    # every day a phrase fired: [phrase, ISO day, uses] (ingest.flags.emerging.PhraseFire)
    fires: Mapped[list[list[Any]]] = mapped_column(JSON)
    flags: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleVersion(Base):
    """An earlier version of a stored article's headline and lede, kept when a refetch
    found them changed, with the frames it had then."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    lede: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    # [{"story", "frame", "voice", "evidence"}] as stored while this version was current
    frames: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was fetched
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when a newer one replaced it


class EntryDigest(Base):
    """What a source's feed entry for a stored article looked like when last processed
    (a hash of its title and summary), so a poll refetches exactly the entries that
    changed (edits as signal) and not every known entry."""

    __tablename__ = "entry_digests"

    source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        Id, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    digest: Mapped[str] = mapped_column(String(64))


class StoreOutage(Base):
    """A time the service found the store unusable (unreachable, disk full), written
    once the store answers again, so the digest of that day can say so."""

    __tablename__ = "store_outages"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, unique=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    cause: Mapped[str] = mapped_column(Text)  # the first error, one line
    last_error: Mapped[str] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=1)  # failed attempts while it lasted
