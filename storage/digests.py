"""The daily digest's queries, and the record of the digests written (``digests``).

An article belongs to the day its timeline time falls on: published, else first fetched
(the same rule as the flags' timeline). Times are compared in UTC; callers turn a
calendar day in the configured zone into a [start, end) range first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ingest.model.digest import DigestArticle, DigestFlag, HistoryArticle
from storage.frames import flag_voices
from storage.models import Article, ArticleFrame, Digest, Flag, Sighting, StoryMembership
from storage.wire import wire_of

timeline_time = func.coalesce(Article.published_at, Article.fetched_at)
CHUNK = 500
_ARTICLE_COLUMNS = (
    Article.id, Article.title, Article.url, Article.outlet, Article.language,
    Article.published_at, Article.fetched_at, Article.duplicate_of, Article.cluster_id,
)  # fmt: skip


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _story_articles(story: str, *where: Any) -> Any:
    return (
        select(*_ARTICLE_COLUMNS)
        .join(StoryMembership, StoryMembership.article_id == Article.id)
        .where(StoryMembership.story == story, *where)
        .order_by(timeline_time, Article.id)
    )


def _frames(session: Session, story: str, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    uses: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = session.execute(
            select(ArticleFrame.article_id, ArticleFrame.frame, ArticleFrame.voice).where(
                ArticleFrame.story == story, ArticleFrame.article_id.in_(chunk)
            )
        )
        for article_id, frame, voice in rows:
            uses[article_id].append((frame, voice))
    return uses


def _carried(session: Session, roots: Sequence[int]) -> dict[int, int]:
    """Sightings of each group of copies (keyed by the group's original)."""
    root = func.coalesce(Article.duplicate_of, Article.id)
    counts: dict[int, int] = {}
    for chunk in _chunks(sorted(set(roots))):
        rows = session.execute(
            select(root, func.count(Sighting.id))
            .join(Sighting, Sighting.article_id == Article.id)
            .where(root.in_(chunk))
            .group_by(root)
        )
        counts.update({int(r): int(n) for r, n in rows})
    return counts


def _digest_articles(session: Session, story: str, rows: Sequence[Any]) -> list[DigestArticle]:
    ids = [row.id for row in rows]
    uses = _frames(session, story, ids)
    carried = _carried(session, [row.duplicate_of or row.id for row in rows])
    wires = wire_of(session, ids)
    return [
        DigestArticle(
            id=row.id,
            title=row.title,
            url=row.url,
            outlet=row.outlet,
            language=row.language,
            when=row.published_at or row.fetched_at,
            published=row.published_at is not None,
            fetched_at=row.fetched_at,
            duplicate_of=row.duplicate_of,
            cluster_id=row.cluster_id,
            frames=tuple(sorted(set(uses.get(row.id, ())))),
            carried_by=max(1, carried.get(row.duplicate_of or row.id, 1)),
            wire_story=wires[row.id].id if row.id in wires else None,
            wire_origin=wires[row.id].origin if row.id in wires else None,
        )
        for row in rows
    ]


def day_articles(
    session: Session, story: str, start: datetime, end: datetime
) -> list[DigestArticle]:
    """The story's articles whose timeline time falls in [start, end)."""
    rows = session.execute(
        _story_articles(story, timeline_time >= start, timeline_time < end)
    ).all()
    return _digest_articles(session, story, rows)


def fetched_between(
    session: Session, story: str, before: datetime, after: datetime, until: datetime
) -> list[DigestArticle]:
    """Articles dated before ``before`` that were fetched in (after, until]: the
    candidates for a digest's late arrivals."""
    rows = session.execute(
        _story_articles(
            story, timeline_time < before, Article.fetched_at > after, Article.fetched_at <= until
        )
    ).all()
    return _digest_articles(session, story, rows)


def history(session: Session, story: str, start: datetime, end: datetime) -> list[HistoryArticle]:
    """Outlet, language, copy link and frames of the story's articles in [start, end)."""
    rows = session.execute(
        select(Article.id, timeline_time, Article.outlet, Article.language, Article.duplicate_of)
        .join(StoryMembership, StoryMembership.article_id == Article.id)
        .where(StoryMembership.story == story, timeline_time >= start, timeline_time < end)
    ).all()
    uses: dict[int, list[tuple[str, str]]] = defaultdict(list)
    frame_rows = session.execute(
        select(ArticleFrame.article_id, ArticleFrame.frame, ArticleFrame.voice)
        .join(Article, Article.id == ArticleFrame.article_id)
        .where(ArticleFrame.story == story, timeline_time >= start, timeline_time < end)
    )
    for article_id, frame, voice in frame_rows:
        uses[article_id].append((frame, voice))
    return [
        HistoryArticle(when, outlet, language, dup, tuple(sorted(uses.get(i, ()))))
        for i, when, outlet, language, dup in rows
    ]


def day_flags(session: Session, story: str, start: datetime, end: datetime) -> list[DigestFlag]:
    """Flags first seen on the timeline in [start, end), dismissed ones left out, with the
    article that raised each (its outlet, title and link)."""
    flags = list(
        session.scalars(
            select(Flag)
            .where(Flag.story == story, Flag.first_seen_at >= start, Flag.first_seen_at < end)
            .where(Flag.status != "dismissed")
            .order_by(Flag.score.desc(), Flag.first_seen_at, Flag.id)
        )
    )
    keys = sorted({f.article_ids[0] for f in flags if f.article_ids})
    articles: dict[int, Any] = {}
    for chunk in _chunks(keys):
        rows = session.execute(
            select(Article.id, Article.outlet, Article.title, Article.url).where(
                Article.id.in_(chunk)
            )
        )
        articles.update({row.id: row for row in rows})
    voices = flag_voices(session, flags)
    result = []
    for flag in flags:
        article = articles.get(flag.article_ids[0]) if flag.article_ids else None
        result.append(
            DigestFlag(
                id=flag.id,
                kind=flag.kind,
                frame=flag.frame,
                phrase=flag.phrase,
                statistic=flag.statistic,
                evidence=flag.evidence[0] if flag.evidence else None,
                outlet=flag.source or (article.outlet if article else None),
                url=article.url if article else None,
                title=article.title if article else None,
                first_seen_at=flag.first_seen_at,
                score=flag.score,
                article_id=article.id if article else None,
                voice=voices.get(flag.id),
            )
        )
    return result


# -- the digests written ------------------------------------------------------------------


def get_digest(session: Session, story: str, day: date) -> Digest | None:
    return session.scalar(select(Digest).where(Digest.story == story, Digest.day == day))


def written_times(session: Session, story: str, days: Iterable[date]) -> dict[date, datetime]:
    """When each of these days' digests was first written (days without one left out)."""
    wanted = sorted(set(days))
    if not wanted:
        return {}
    rows = session.execute(
        select(Digest.day, Digest.written_at).where(Digest.story == story, Digest.day.in_(wanted))
    )
    return {day: written for day, written in rows}


def previous_written_at(
    session: Session, story: str, day: date, before: datetime
) -> datetime | None:
    """When the latest digest of an earlier day was written before ``before``: a digest's
    late arrivals start there (so each late article is listed once)."""
    return session.scalar(
        select(func.max(Digest.written_at)).where(
            Digest.story == story, Digest.day < day, Digest.written_at < before
        )
    )


def latest_day(session: Session, story: str, until: date | None = None) -> date | None:
    """The latest day (up to ``until``) the story has a digest of."""
    query = select(func.max(Digest.day)).where(Digest.story == story)
    if until is not None:
        query = query.where(Digest.day <= until)
    return session.scalar(query)


def timeline_times(session: Session, story: str) -> list[datetime]:
    """Every article's timeline time in the story (to find its busiest day)."""
    rows = session.scalars(
        select(timeline_time)
        .join(StoryMembership, StoryMembership.article_id == Article.id)
        .where(StoryMembership.story == story)
    )
    return list(rows)


def claim_digest(session: Session, story: str, day: date, now: datetime) -> Digest:
    """The row of (story, day), created with ``written_at=now`` unless it exists (a
    concurrent writer's row wins; ``written_at`` is never moved by a rewrite)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"story": story, "day": day, "written_at": now, "article_count": 0, "summary": ""}
    session.execute(insert(Digest).values(**values).on_conflict_do_nothing())
    digest = get_digest(session, story, day)
    if digest is None:  # pragma: no cover - the row was just inserted or already there
        raise RuntimeError(f"digest row for {story} {day} vanished")
    return digest


def record_files(
    session: Session, digest: Digest, html: str | None, md: str | None, count: int, summary: str
) -> None:
    digest.html_path, digest.md_path = html, md
    digest.article_count, digest.summary = count, summary
    session.flush()


def mark_sent(session: Session, digest_id: int, now: datetime) -> None:
    session.execute(update(Digest).where(Digest.id == digest_id).values(sent_at=now))


def list_digests(session: Session, limit: int = 100) -> list[Digest]:
    """The most recent digests (by day), newest first."""
    return list(
        session.scalars(select(Digest).order_by(Digest.day.desc(), Digest.story).limit(limit))
    )
