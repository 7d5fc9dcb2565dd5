"""What the web page's overview pages read: flags a page at a time with the article
that shows each one's evidence, and an analyst's review of a flag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, ArticleFrame, Flag

IDS_LOOKED_AT = 20  # of a flag's articles, the first ones searched for its evidence


@dataclass(frozen=True)
class FlagQuery:
    story: str | None = None
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    since: datetime | None = None  # first seen on the timeline since
    raised_since: datetime | None = None  # created (raised by framewatch) since
    raised_until: datetime | None = None


@dataclass(frozen=True)
class FlagTarget:
    """The article a flag points the analyst to, and the sentence to highlight there."""

    article_id: int
    outlet: str
    title: str
    evidence: str | None
    voice: str | None


def _where(query: Any, q: FlagQuery) -> Any:
    if q.story:
        query = query.where(Flag.story == q.story)
    if q.kinds:
        query = query.where(Flag.kind.in_(q.kinds))
    if q.statuses:
        query = query.where(Flag.status.in_(q.statuses))
    if q.since:
        query = query.where(Flag.first_seen_at >= q.since)
    if q.raised_since:
        query = query.where(Flag.created_at >= q.raised_since)
    if q.raised_until:
        query = query.where(Flag.created_at < q.raised_until)
    return query


def count_flags(session: Session, q: FlagQuery) -> int:
    return session.scalar(_where(select(func.count()).select_from(Flag), q)) or 0


def page_of_flags(session: Session, q: FlagQuery, limit: int, offset: int = 0) -> list[Flag]:
    """Newest on the timeline first (then the highest score)."""
    query = select(Flag).order_by(Flag.first_seen_at.desc(), Flag.score.desc(), Flag.id.desc())
    return list(session.scalars(_where(query, q).limit(limit).offset(offset)))


def flag_targets(session: Session, flags: Sequence[Flag]) -> dict[int, FlagTarget]:
    """Per flag: the first of its articles whose stored frame shows the flag's evidence
    (else its first article), with that sentence and its voice."""
    wanted = {i for f in flags for i in f.article_ids[:IDS_LOOKED_AT]}
    if not wanted:
        return {}
    articles = {
        row.id: row
        for row in session.execute(
            select(Article.id, Article.outlet, Article.title).where(Article.id.in_(wanted))
        )
    }
    uses: dict[tuple[int, str, str], list[tuple[str, str]]] = {}
    for row in session.execute(
        select(ArticleFrame.article_id, ArticleFrame.story, ArticleFrame.frame,
               ArticleFrame.evidence, ArticleFrame.voice)
        .where(ArticleFrame.article_id.in_(wanted))
        .order_by(ArticleFrame.id)
    ):  # fmt: skip
        uses.setdefault((row.article_id, row.story, row.frame), []).append(
            (row.evidence, row.voice)
        )
    return {
        flag.id: target for flag in flags if (target := _target(flag, articles, uses)) is not None
    }


def _target(
    flag: Flag, articles: dict[int, Any], uses: dict[tuple[int, str, str], list[tuple[str, str]]]
) -> FlagTarget | None:
    ids = [i for i in flag.article_ids[:IDS_LOOKED_AT] if i in articles]
    if not ids:
        return None
    evidence = list(flag.evidence)
    # first the article that holds the flag's own evidence, else the first using the frame
    for exact in (True, False):
        for article_id in ids:
            found = uses.get((article_id, flag.story, flag.frame or ""), [])
            matching = [u for u in found if u[0] in evidence] if exact else found
            if matching:
                row = articles[article_id]
                return FlagTarget(article_id, row.outlet, row.title, *matching[0])
    row = articles[ids[0]]
    return FlagTarget(row.id, row.outlet, row.title, evidence[0] if evidence else None, None)


def get_flag(session: Session, flag_id: int) -> Flag | None:
    return session.get(Flag, flag_id)


def set_flag_status(session: Session, flag_id: int, status: str, note: str | None) -> bool:
    """Review or dismiss a flag (a note, when given, is kept with it); False if none."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        return False
    flag.status = status
    if note:
        flag.note = note
    return True
