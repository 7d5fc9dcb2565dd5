"""The record of store outages (``store_outages``): written by the service once the store
answers again, read by `framewatch status` and the daily digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.model.outages import Outage
from storage.models import StoreOutage


def record_outage(session: Session, outage: Outage, ended_at: datetime) -> None:
    """Write (or extend) the outage that began at ``outage.started_at``: idempotent, so a
    store that fails again before the service confirms it is back extends the same row."""
    row = session.scalar(select(StoreOutage).where(StoreOutage.started_at == outage.started_at))
    if row is None:
        row = StoreOutage(started_at=outage.started_at, cause=outage.cause)
        session.add(row)
    row.ended_at = ended_at
    row.last_error = outage.last_error
    row.failures = outage.failures


def outages_between(session: Session, start: datetime, end: datetime) -> list[Outage]:
    """Outages that overlap [start, end), oldest first."""
    rows = session.scalars(
        select(StoreOutage)
        .where(StoreOutage.started_at < end, StoreOutage.ended_at > start)
        .order_by(StoreOutage.started_at)
    )
    return [_outage(row) for row in rows]


def last_outage(session: Session) -> Outage | None:
    row = session.scalar(select(StoreOutage).order_by(StoreOutage.started_at.desc()).limit(1))
    return _outage(row) if row is not None else None


def _outage(row: StoreOutage) -> Outage:
    return Outage(row.started_at, row.ended_at, row.cause, row.last_error, row.failures)
