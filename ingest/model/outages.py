"""A time the store could not be used, as the service saw it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Outage:
    """The store unusable from ``started_at`` (the first failure) until ``ended_at``
    (when it answered again; None while it lasts)."""

    started_at: datetime
    ended_at: datetime | None
    cause: str  # the first error, one line
    last_error: str
    failures: int = 1

    def seconds(self, now: datetime) -> float:
        return ((self.ended_at or now) - self.started_at).total_seconds()
