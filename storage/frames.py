"""Stored frames (per article, story, frame and voice) and flags, and the story timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ingest.flags import FlagDraft, TimelineArticle
from ingest.framing import FrameHit
from storage.models import Article, ArticleFrame, Flag, Source, StoryMembership

FLAG_STATUSES = ("new", "reviewed", "dismissed", "promoted")


def replace_frames(
    session: Session, article_id: int, story: str, hits: Sequence[FrameHit], version: str
) -> None:
    """The article's frames for a story, replacing whatever an earlier scoring stored."""
    session.execute(
        delete(ArticleFrame).where(
            ArticleFrame.article_id == article_id, ArticleFrame.story == story
        )
    )
    session.add_all(
        ArticleFrame(
            article_id=article_id,
            story=story,
            frame=hit.frame,
            voice=hit.voice,
            evidence=hit.evidence,
            sentence_index=hit.sentence_index,
            cue=hit.cue,
            scoring_version=version,
        )
        for hit in hits
    )
    session.flush()


def frames_by_article(session: Session, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Export shape: {"story", "frame", "voice", "evidence"} per stored frame."""
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = session.scalars(
        select(ArticleFrame)
        .where(ArticleFrame.article_id.in_(ids))
        .order_by(ArticleFrame.article_id, ArticleFrame.story, ArticleFrame.id)
    )
    for row in rows:
        result[row.article_id].append(
            {"story": row.story, "frame": row.frame, "voice": row.voice, "evidence": row.evidence}
        )
    return result


def articles_to_rescore(
    session: Session, story: str, version: str, after_id: int, batch: int
) -> list[Article]:
    """Members of the story whose stored frames were not computed with ``version``."""
    current = select(ArticleFrame.article_id).where(
        ArticleFrame.story == story, ArticleFrame.scoring_version == version
    )
    return list(
        session.scalars(
            select(Article)
            .join(StoryMembership, StoryMembership.article_id == Article.id)
            .where(StoryMembership.story == story, Article.id > after_id)
            .where(Article.id.not_in(current))
            .order_by(Article.id)
            .limit(batch)
        )
    )


def story_timeline(session: Session, story: str) -> list[TimelineArticle]:
    """The story's articles (near-duplicates left out) with the frames and voices they use."""
    when = func.coalesce(Article.published_at, Article.fetched_at)
    rows = session.execute(
        select(Article.id, Article.outlet, Source.outlet_group, when)
        .join(StoryMembership, StoryMembership.article_id == Article.id)
        .join(Source, Source.id == Article.source_id)
        .where(StoryMembership.story == story, Article.duplicate_of.is_(None))
    ).all()
    uses: dict[int, list[tuple[str, str]]] = defaultdict(list)
    frame_rows = session.execute(
        select(ArticleFrame.article_id, ArticleFrame.frame, ArticleFrame.voice).where(
            ArticleFrame.story == story
        )
    )
    for article_id, frame, voice in frame_rows:
        uses[article_id].append((frame, voice))
    return [
        TimelineArticle(article_id, outlet, group, stamp, tuple(sorted(uses.get(article_id, ()))))
        for article_id, outlet, group, stamp in rows
    ]


def _evidence(session: Session, story: str, draft: FlagDraft) -> list[str]:
    if draft.frame is None:
        return []
    rows = session.execute(
        select(ArticleFrame.article_id, ArticleFrame.evidence).where(
            ArticleFrame.story == story,
            ArticleFrame.frame == draft.frame,
            ArticleFrame.article_id.in_(draft.article_ids),
        )
    ).all()
    by_article = {article_id: evidence for article_id, evidence in rows}
    return [by_article[i] for i in draft.article_ids if i in by_article][:3]


def save_flags(
    session: Session, story: str, drafts: Iterable[FlagDraft], now: datetime
) -> tuple[int, int]:
    """Upsert drafts by key (reviews and notes survive); drop unreviewed flags no longer
    supported by the timeline. Returns (new flags, removed flags)."""
    existing = {f.key: f for f in session.scalars(select(Flag).where(Flag.story == story))}
    seen: set[str] = set()
    added = 0
    for draft in drafts:
        seen.add(draft.key)
        values = {
            "kind": draft.kind, "frame": draft.frame, "phrase": draft.phrase,
            "source": draft.source, "article_ids": list(draft.article_ids),
            "first_seen_at": draft.first_seen_at, "score": draft.score,
            "statistic": draft.statistic, "evidence": _evidence(session, story, draft),
        }  # fmt: skip
        flag = existing.get(draft.key)
        if flag is None:
            session.add(Flag(story=story, key=draft.key, created_at=now, status="new", **values))
            added += 1
        else:
            for name, value in values.items():
                setattr(flag, name, value)
    stale = [f for key, f in existing.items() if key not in seen and f.status == "new"]
    for flag in stale:
        session.delete(flag)
    session.flush()
    return added, len(stale)


def list_flags(
    session: Session,
    story: str | None = None,
    kinds: Sequence[str] = (),
    statuses: Sequence[str] = (),
    since: datetime | None = None,
    limit: int = 100,
) -> list[Flag]:
    query = select(Flag).order_by(Flag.first_seen_at.desc(), Flag.id.desc()).limit(limit)
    if story:
        query = query.where(Flag.story == story)
    if kinds:
        query = query.where(Flag.kind.in_(kinds))
    if statuses:
        query = query.where(Flag.status.in_(statuses))
    if since:
        query = query.where(Flag.first_seen_at >= since)
    return list(session.scalars(query))


def flag_record(flag: Flag) -> dict[str, Any]:
    """DESIGN.md's flag export shape."""
    return {
        "id": flag.id, "story": flag.story, "kind": flag.kind, "frame": flag.frame,
        "phrase": flag.phrase, "source": flag.source, "article_ids": list(flag.article_ids),
        "first_seen_at": flag.first_seen_at.isoformat(), "created_at": flag.created_at.isoformat(),
        "score": flag.score, "status": flag.status, "evidence": list(flag.evidence),
        "statistic": flag.statistic, "note": flag.note,
    }  # fmt: skip
