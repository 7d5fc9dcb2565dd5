"""Read-only views of the store for the HTTP API and the web page: one article with all
that is known about it, and the values a search form offers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.model.frames import describe_voice
from storage import repo, wire
from storage.filters import stored_frames, stored_stories
from storage.frames import frames_by_article
from storage.models import Article, Cluster, Digest, Sighting, Source, StoryMembership


@dataclass(frozen=True)
class ArticleRef:
    id: int
    title: str
    outlet: str
    url: str
    published_at: datetime | None


@dataclass(frozen=True)
class SightingView:
    source: str | None
    url: str
    matched_by: str
    seen_at: datetime


@dataclass(frozen=True)
class StoryView:
    story: str
    matched_terms: list[str]
    matched_at: datetime


@dataclass(frozen=True)
class FrameView:
    story: str | None
    frame: str
    voice: str | None
    evidence: str | None
    speaker: str = ""  # whose words or framing (quoted, distanced)

    @property
    def voice_note(self) -> str:
        """The voice in plain words ("quoted from the presidential press service")."""
        return describe_voice(self.voice, self.speaker)


@dataclass(frozen=True)
class ClusterRef:
    id: int
    label: str
    top_terms: list[str]
    article_count: int
    outlet_count: int


@dataclass(frozen=True)
class WireView:
    """The agency report an article carries with others: "carried by N, from X"."""

    id: int
    origin: str
    article_count: int
    outlet_count: int
    carriers: list[ArticleRef]  # every member, earliest first


@dataclass(frozen=True)
class ArticleDetail:
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
    stories: list[StoryView]
    sightings: list[SightingView]
    duplicate_of: ArticleRef | None
    duplicates: list[ArticleRef]
    cluster: ClusterRef | None
    frames: list[FrameView] = field(default_factory=list)
    wire_story: WireView | None = None


def _ref(article: Article) -> ArticleRef:
    return ArticleRef(article.id, article.title, article.outlet, article.url, article.published_at)


def _frames(session: Session, article_id: int) -> list[FrameView]:
    """The frames framing stored for the article, each with its evidence sentence."""
    rows = frames_by_article(session, [article_id], detail=True).get(article_id, [])
    return [
        FrameView(r["story"], r["frame"], r["voice"], r["evidence"], r["speaker"]) for r in rows
    ]


def _cluster(session: Session, cluster_id: int | None) -> ClusterRef | None:
    cluster = session.get(Cluster, cluster_id) if cluster_id is not None else None
    if cluster is None:
        return None
    return ClusterRef(cluster.id, cluster.label, list(cluster.top_terms),
                      cluster.article_count, cluster.outlet_count)  # fmt: skip


def _wire(session: Session, article_id: int) -> WireView | None:
    ref = wire.wire_of(session, [article_id]).get(article_id)
    if ref is None:
        return None
    members = session.scalars(
        select(Article).where(Article.id.in_([i for i, *_ in wire.story_carriers(session, ref.id)]))
    )
    carriers = sorted(members, key=lambda m: (m.published_at or m.fetched_at, m.id))
    return WireView(ref.id, ref.origin, ref.article_count, ref.outlet_count,
                    [_ref(m) for m in carriers])  # fmt: skip


def article_detail(session: Session, article_id: int) -> ArticleDetail | None:
    """Everything known about one article, or None."""
    a = session.get(Article, article_id)
    if a is None:
        return None
    names = repo.source_names(session)
    memberships = session.scalars(
        select(StoryMembership).where(StoryMembership.article_id == a.id).order_by("story")
    )
    sightings = session.scalars(
        select(Sighting).where(Sighting.article_id == a.id).order_by(Sighting.seen_at, Sighting.id)
    )
    copies = session.scalars(
        select(Article).where(Article.duplicate_of == a.id).order_by(Article.id)
    )
    original = session.get(Article, a.duplicate_of) if a.duplicate_of is not None else None
    return ArticleDetail(
        id=a.id, url=a.url, canonical_url=a.canonical_url, source=names.get(a.source_id),
        outlet=a.outlet, title=a.title, summary=a.summary, text=a.text, author=a.author,
        published_at=a.published_at, fetched_at=a.fetched_at, language=a.language,
        stories=[StoryView(m.story, list(m.matched_terms), m.matched_at) for m in memberships],
        sightings=[SightingView(names.get(s.source_id), s.url, s.matched_by, s.seen_at)
                   for s in sightings],
        duplicate_of=_ref(original) if original is not None else None,
        duplicates=[_ref(c) for c in copies],
        cluster=_cluster(session, a.cluster_id),
        frames=_frames(session, a.id),
        wire_story=_wire(session, a.id),
    )  # fmt: skip


def recent_digests(
    session: Session, story: str | None, limit: int, offset: int = 0
) -> list[Digest]:
    """The digests written, newest day first (of one story, or all)."""
    query = select(Digest).order_by(Digest.day.desc(), Digest.story).limit(limit).offset(offset)
    if story is not None:
        query = query.where(Digest.story == story)
    return list(session.scalars(query))


def count_digests(session: Session, story: str | None) -> int:
    query = select(func.count()).select_from(Digest)
    if story is not None:
        query = query.where(Digest.story == story)
    return session.scalar(query) or 0


@dataclass(frozen=True)
class Choices:
    """What the search form offers in its lists."""

    sources: list[str]
    languages: list[str]
    stories: list[str]
    outlets: list[str]
    frames: list[str]


def filter_choices(
    session: Session, stories: list[str], frames: list[str], max_outlets: int = 500
) -> Choices:
    def distinct(col: Any) -> list[str]:
        rows = session.scalars(select(col).where(col.is_not(None)).distinct().order_by(col))
        return [str(v) for v in rows]

    outlets = distinct(Article.outlet)[:max_outlets]
    return Choices(
        sources=list(session.scalars(select(Source.name).order_by(Source.name))),
        languages=distinct(Article.language),
        stories=sorted({*stories, *stored_stories(session)}),
        outlets=outlets,
        frames=sorted({*frames, *stored_frames(session)}),
    )
