"""Collection health read from the store: which sources failed in a span of time (from
the fetch log and the crawl runs, so a digest rewritten later says what happened then),
and what each source carried of a story day by day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.model.health import SourceActivity, SourceFailure
from storage.models import CrawlRun, FetchLog, Sighting, Source, StoryMembership

OK_OUTCOMES = ("ok", "not_modified", "unchanged")
NOT_TRIED = ("skipped",)
CRAWL_FAILED = ("failed", "killed")
CRAWL_OK = "finished"


def _sources(session: Session) -> dict[int, Source]:
    return {s.id: s for s in session.scalars(select(Source).where(Source.active.is_(True)))}


def source_failures(session: Session, start: datetime, end: datetime) -> list[SourceFailure]:
    """Active sources with a failed poll or crawl in [start, end), by name."""
    sources = _sources(session)
    found = _feed_failures(session, sources, start, end) + _crawl_failures(
        session, sources, start, end
    )
    return sorted(found, key=lambda f: f.name)


def attempts_between(session: Session, start: datetime, end: datetime) -> int:
    """Feed polls and site crawls recorded in [start, end) (the fetch log keeps 30 days)."""
    polls = session.scalar(
        select(func.count())
        .select_from(FetchLog)
        .where(FetchLog.kind == "feed", FetchLog.started_at >= start, FetchLog.started_at < end)
    )
    runs = session.scalar(
        select(func.count())
        .select_from(CrawlRun)
        .where(CrawlRun.started_at >= start, CrawlRun.started_at < end)
    )
    return (polls or 0) + (runs or 0)


def _feed_failures(
    session: Session, sources: dict[int, Source], start: datetime, end: datetime
) -> list[SourceFailure]:
    rows = session.execute(
        select(FetchLog.source_id, FetchLog.started_at, FetchLog.outcome, FetchLog.error,
               FetchLog.status_code)
        .where(FetchLog.kind == "feed", FetchLog.source_id.is_not(None),
               FetchLog.started_at >= start, FetchLog.started_at < end,
               FetchLog.outcome.not_in(NOT_TRIED))
        .order_by(FetchLog.source_id, FetchLog.started_at, FetchLog.id)
    ).all()  # fmt: skip
    polls: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        polls[row.source_id].append(row)
    result = []
    for source_id, seen in polls.items():
        failed = [r for r in seen if r.outcome not in OK_OUTCOMES]
        if not failed or source_id not in sources:
            continue
        last = failed[-1]
        after = [r.started_at for r in seen if r.started_at > last.started_at]
        source = sources[source_id]
        result.append(SourceFailure(
            name=source.name, kind=source.kind, group=source.outlet_group,
            failures=len(failed), attempts=len(seen),
            since=_feed_streak_start(session, source_id, last.started_at),
            last_outcome=last.outcome, last_error=last.error, status_code=last.status_code,
            recovered_at=after[0] if after else None,
        ))  # fmt: skip
    return result


def _feed_streak_start(session: Session, source_id: int, failed_at: datetime) -> datetime:
    """The first failed poll after the last successful one before ``failed_at``."""
    mine = (FetchLog.source_id == source_id, FetchLog.kind == "feed")
    last_ok = session.scalar(
        select(func.max(FetchLog.started_at)).where(
            *mine, FetchLog.outcome.in_(OK_OUTCOMES), FetchLog.started_at < failed_at
        )
    )
    query = select(func.min(FetchLog.started_at)).where(
        *mine, FetchLog.outcome.not_in((*OK_OUTCOMES, *NOT_TRIED)),
        FetchLog.started_at <= failed_at,
    )  # fmt: skip
    if last_ok is not None:
        query = query.where(FetchLog.started_at > last_ok)
    return session.scalar(query) or failed_at


def _crawl_failures(
    session: Session, sources: dict[int, Source], start: datetime, end: datetime
) -> list[SourceFailure]:
    runs = session.scalars(
        select(CrawlRun)
        .where(CrawlRun.started_at >= start, CrawlRun.started_at < end,
               CrawlRun.status.in_((*CRAWL_FAILED, CRAWL_OK)))
        .order_by(CrawlRun.source_id, CrawlRun.started_at, CrawlRun.id)
    ).all()  # fmt: skip
    by_source: dict[int, list[CrawlRun]] = defaultdict(list)
    for run in runs:
        by_source[run.source_id].append(run)
    result = []
    for source_id, seen in by_source.items():
        failed = [r for r in seen if r.status in CRAWL_FAILED]
        if not failed or source_id not in sources:
            continue
        last = failed[-1]
        after = [r.started_at for r in seen if r.started_at > last.started_at]
        source = sources[source_id]
        result.append(SourceFailure(
            name=source.name, kind=source.kind, group=source.outlet_group,
            failures=len(failed), attempts=len(seen),
            since=_crawl_streak_start(session, source_id, last.started_at),
            last_outcome=last.status, last_error=last.stop_reason,
            recovered_at=after[0] if after else None,
        ))  # fmt: skip
    return result


def _crawl_streak_start(session: Session, source_id: int, failed_at: datetime) -> datetime:
    last_ok = session.scalar(
        select(func.max(CrawlRun.started_at)).where(
            CrawlRun.source_id == source_id, CrawlRun.status == CRAWL_OK,
            CrawlRun.started_at < failed_at,
        )
    )  # fmt: skip
    query = select(func.min(CrawlRun.started_at)).where(
        CrawlRun.source_id == source_id, CrawlRun.status.in_(CRAWL_FAILED),
        CrawlRun.started_at <= failed_at,
    )  # fmt: skip
    if last_ok is not None:
        query = query.where(CrawlRun.started_at > last_ok)
    return session.scalar(query) or failed_at


def source_activity(
    session: Session, story: str | None, start: datetime, end: datetime, tz: ZoneInfo
) -> list[SourceActivity]:
    """Per active source: how many of the story's articles (any story's when None) it
    carried for the first time on each day of [start, end) in ``tz``."""
    query = (
        select(Sighting.source_id, Sighting.article_id, func.min(Sighting.seen_at))
        .where(Sighting.seen_at >= start, Sighting.seen_at < end)
        .where(Sighting.article_id.in_(_story_articles(story)))
        .group_by(Sighting.source_id, Sighting.article_id)
    )
    daily: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for source_id, _article, seen in session.execute(query):
        daily[source_id][seen.astimezone(tz).date()] += 1
    return [
        SourceActivity(
            name=s.name,
            kind=s.kind,
            group=s.outlet_group,
            first_day=s.created_at.astimezone(tz).date(),
            daily=tuple(sorted(daily.get(s.id, {}).items())),
        )
        for s in sorted(_sources(session).values(), key=lambda s: s.name)
    ]


def _story_articles(story: str | None) -> Any:
    query = select(StoryMembership.article_id)
    return query.where(StoryMembership.story == story) if story else query
