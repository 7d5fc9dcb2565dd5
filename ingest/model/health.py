"""Collection health as values: which sources failed in a span of time, and what each
source carried day by day (the input of the "silent against its usual rate" rule in
``ingest.digest.health``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class SourceFailure:
    """A source whose fetches (a feed's polls, a site's crawls) failed in the span."""

    name: str
    kind: str  # feed | site
    group: str | None
    failures: int  # failed polls or crawls in the span
    attempts: int  # all polls or crawls in the span
    since: datetime | None  # start of the failure streak still running at the span's end
    last_outcome: str  # the last failure's kind: timeout, http_status, parse_error, ...
    last_error: str | None  # the last failure's message as recorded
    status_code: int | None = None  # the last failure's HTTP status, if any
    recovered_at: datetime | None = None  # a later success in the span, if any


@dataclass(frozen=True)
class SourceActivity:
    """What one source carried of a story per calendar day (days with none left out)."""

    name: str
    kind: str
    group: str | None
    first_day: date  # the day framewatch started following the source
    daily: tuple[tuple[date, int], ...]  # (day, on-story items first carried that day)
