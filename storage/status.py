"""What `framewatch status` shows: the service's recent work and what needs attention."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.model.outages import Outage
from storage.models import Article, CrawlRun, FeedState, Source
from storage.outages import last_outage

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class FailingSource:
    name: str
    kind: str
    since: datetime | None
    error: str | None


@dataclass(frozen=True)
class CrawlSummary:
    site: str
    started_at: datetime
    status: str
    new_articles: int
    stop_reason: str | None


@dataclass(frozen=True)
class StatusReport:
    last_poll_at: datetime | None
    feeds_by_status: dict[str, int]
    last_crawl: CrawlSummary | None
    articles_24h: int
    articles_total: int
    failing: list[FailingSource] = field(default_factory=list)
    last_outage: Outage | None = None  # the last store outage the service recorded


def service_status(session: Session, now: datetime) -> StatusReport:
    last_poll = session.scalar(select(func.max(FeedState.last_polled_at)))
    by_status = dict(
        session.execute(
            select(FeedState.last_status, func.count())
            .join(Source, Source.id == FeedState.source_id)
            .where(Source.active.is_(True))
            .group_by(FeedState.last_status)
        ).all()
    )
    recent = select(func.count()).select_from(Article).where(Article.fetched_at >= now - DAY)
    return StatusReport(
        last_poll_at=last_poll,
        feeds_by_status={str(k or "never polled"): int(v) for k, v in by_status.items()},
        last_crawl=_last_crawl(session),
        articles_24h=session.scalar(recent) or 0,
        articles_total=session.scalar(select(func.count()).select_from(Article)) or 0,
        failing=_failing(session),
        last_outage=last_outage(session),
    )  # fmt: skip


def _last_crawl(session: Session) -> CrawlSummary | None:
    row = session.execute(
        select(CrawlRun, Source.name)
        .join(Source, Source.id == CrawlRun.source_id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    run, name = row
    return CrawlSummary(name, run.started_at, run.status, run.new_articles, run.stop_reason)


def _failing(session: Session) -> list[FailingSource]:
    rows = session.execute(
        select(Source.name, Source.kind, FeedState.failing_since, FeedState.last_error)
        .join(FeedState, FeedState.source_id == Source.id)
        .where(Source.active.is_(True), FeedState.failing_since.is_not(None))
        .order_by(FeedState.failing_since)
    ).all()
    return [FailingSource(name, kind, since, error) for name, kind, since, error in rows]
