"""Stored articles as DESIGN.md's export records (`framewatch export`), streamed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.frames import frames_by_article
from storage.models import Article, StoryMembership
from storage.repo import source_names, stories_by_article
from storage.wire import wire_of


def articles_for_export(
    session: Session,
    story: str | None = None,
    since: datetime | None = None,
    batch: int = 500,
) -> Iterable[Article]:
    """Stored articles in id order, streamed in batches so exports of any size fit memory."""
    query = select(Article).order_by(Article.id)
    if story:
        query = query.where(
            Article.id.in_(select(StoryMembership.article_id).where(StoryMembership.story == story))
        )
    if since:
        query = query.where(or_(Article.published_at >= since, Article.fetched_at >= since))
    last_id = 0
    while True:
        rows = list(session.scalars(query.where(Article.id > last_id).limit(batch)))
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


EXPORT_FIELDS = (
    "id", "url", "canonical_url", "source", "outlet", "title", "published_at", "fetched_at",
    "language", "stories", "duplicate_of", "cluster", "wire_story", "wire_origin", "frames",
    "text_chars",
)  # fmt: skip


def export_records(
    session: Session,
    story: str | None = None,
    since: datetime | None = None,
    with_text: bool = False,
) -> Iterable[dict[str, Any]]:
    """Stored articles as DESIGN.md's export records, streamed."""
    names = source_names(session)
    batch: list[Article] = []
    for article in articles_for_export(session, story, since):
        batch.append(article)
        if len(batch) >= 500:
            yield from _records(session, batch, names, with_text)
            batch = []
    yield from _records(session, batch, names, with_text)


def _records(
    session: Session, batch: list[Article], names: dict[int, str], with_text: bool
) -> Iterable[dict[str, Any]]:
    ids = [a.id for a in batch]
    stories = stories_by_article(session, ids)
    frames = frames_by_article(session, ids)
    wires = wire_of(session, ids)
    for a in batch:
        wire = wires.get(a.id)
        record: dict[str, Any] = {
            "id": a.id,
            "url": a.url,
            "canonical_url": a.canonical_url,
            "source": names.get(a.source_id),
            "outlet": a.outlet,
            "title": a.title,
            "published_at": a.published_at.isoformat() if a.published_at else None,
            "fetched_at": a.fetched_at.isoformat(),
            "language": a.language,
            "stories": stories.get(a.id, []),
            "duplicate_of": a.duplicate_of,
            "cluster": a.cluster_id,
            "wire_story": wire.id if wire else None,
            "wire_origin": wire.origin if wire else None,
            "frames": frames.get(a.id, []),
            "text_chars": len(a.text),
        }
        if with_text:
            record["text"] = a.text
        yield record
