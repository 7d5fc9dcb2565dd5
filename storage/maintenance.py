"""Housekeeping queries for the service: retention of the fetch log, schedule recovery."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import CrawlRun, FetchLog

FETCH_LOG_RETENTION = timedelta(days=30)


def prune_fetch_log(session: Session, now: datetime, keep: timedelta = FETCH_LOG_RETENTION) -> int:
    """Delete fetch-log lines older than ``keep``; feed state keeps what matters."""
    result = session.execute(delete(FetchLog).where(FetchLog.started_at < now - keep))
    return int(getattr(result, "rowcount", 0) or 0)


def last_crawl_started(session: Session) -> datetime | None:
    return session.scalar(select(func.max(CrawlRun.started_at)))
