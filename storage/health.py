"""Each source's state and counts, for `framewatch sources`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import Article, FetchLog, Sighting, Source


@dataclass(frozen=True)
class SourceHealth:
    name: str
    kind: str
    group: str | None
    url: str
    active: bool
    status: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    failing_since: datetime | None
    consecutive_errors: int
    error_count: int
    last_error: str | None
    next_poll_at: datetime | None
    articles: int
    items_seen: int
    last_warning: str | None
    copied: int = 0  # articles it carried that another source published first, or near-copies


def _copied_by_source(session: Session) -> dict[int, int]:
    """Per source: carried articles that are copied material: a near-duplicate of an
    earlier report, or the same text found under another URL (an exact copy). The same page
    seen again (same URL or GUID, e.g. by a feed and a site crawl) is not a copy."""
    copy = or_(Article.duplicate_of.is_not(None), Sighting.matched_by == "content_hash")
    rows = session.execute(
        select(Sighting.source_id, func.count(func.distinct(Sighting.article_id)))
        .join(Article, Article.id == Sighting.article_id)
        .where(copy)
        .group_by(Sighting.source_id)
    ).all()
    return {source_id: int(n) for source_id, n in rows}


def source_health(session: Session) -> list[SourceHealth]:
    """Each source's state and counts, for `framewatch sources`."""
    carried = dict(
        session.execute(
            select(Sighting.source_id, func.count(func.distinct(Sighting.article_id))).group_by(
                Sighting.source_id
            )
        ).all()
    )
    copied = _copied_by_source(session)
    result = []
    for source in session.scalars(select(Source).order_by(Source.kind, Source.name)):
        state = source.state
        last_log = session.scalar(
            select(FetchLog.error)
            .where(FetchLog.source_id == source.id, FetchLog.kind == "feed")
            .order_by(FetchLog.id.desc())
            .limit(1)
        )
        result.append(
            SourceHealth(
                name=source.name,
                kind=source.kind,
                group=source.outlet_group,
                url=source.url,
                active=source.active,
                status=state.last_status if state else None,
                last_polled_at=state.last_polled_at if state else None,
                last_success_at=state.last_success_at if state else None,
                failing_since=state.failing_since if state else None,
                consecutive_errors=state.consecutive_errors if state else 0,
                error_count=state.error_count if state else 0,
                last_error=state.last_error if state else None,
                next_poll_at=state.next_poll_at if state else None,
                articles=carried.get(source.id, 0),
                items_seen=state.items_seen if state else 0,
                last_warning=last_log if state and not state.last_error else None,
                copied=copied.get(source.id, 0),
            )
        )
    return result
