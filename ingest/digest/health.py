"""Collection health, so that an outage is never read as the story going quiet: which
sources failed, in plain words, and which went silent against their own usual rate.

Pure: values in, values out, no clock (the day is passed in).

The silence rule. A source's usual rate is the on-story items it carried a day over the
``BASELINE_DAYS`` ending with the last day it carried one (never before the day
framewatch started following it, and only once it has been followed for
``MIN_BASELINE_DAYS``). It is *silent* on ``day`` when it has carried nothing for at
least ``MIN_SILENT_DAYS`` full days and, at its usual rate, nothing in that many days
would happen by chance less than once in a hundred: ``rate x days >= ln 100`` (about
4.6 items expected; a Poisson count is zero with probability ``exp(-expected)``). A feed
with a dozen items a week is silent after three empty days (5.1 expected); one with an
item a day after five.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ingest.model.health import SourceActivity, SourceFailure

BASELINE_DAYS = 28
MIN_BASELINE_DAYS = 7
MIN_SILENT_DAYS = 2
SILENCE_EXPECTED = math.log(100)  # items expected before "none" is less than 1% likely
LOOKBACK_DAYS = 60  # how far back storage looks for a source's last item


@dataclass(frozen=True)
class SilentSource:
    name: str
    kind: str
    group: str | None
    last_item: date  # the last day it carried an on-story item
    silent_days: int  # full days since, up to and including the day judged
    per_week: float  # its usual rate, items a week
    expected: float  # items it would have carried in the silent days at that rate


@dataclass(frozen=True)
class Health:
    failed: tuple[SourceFailure, ...]
    silent: tuple[SilentSource, ...]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.silent


def usual_rate(activity: SourceActivity, last_item: date) -> float | None:
    """Items a day over the baseline ending with ``last_item``, or None when the source
    has not been followed long enough to know."""
    start = max(activity.first_day, last_item - timedelta(days=BASELINE_DAYS - 1))
    span = (last_item - start).days + 1
    if span < MIN_BASELINE_DAYS:
        return None
    items = sum(n for when, n in activity.daily if start <= when <= last_item)
    return items / span


def judge_silence(activity: SourceActivity, day: date) -> SilentSource | None:
    """The source as silent on ``day`` by the rule above, or None."""
    carried = [when for when, n in activity.daily if n > 0 and when <= day]
    if not carried:
        return None
    last_item = max(carried)
    silent_days = (day - last_item).days
    if silent_days < MIN_SILENT_DAYS:
        return None
    rate = usual_rate(activity, last_item)
    if rate is None or rate * silent_days < SILENCE_EXPECTED:
        return None
    return SilentSource(activity.name, activity.kind, activity.group, last_item, silent_days,
                        round(rate * 7, 1), round(rate * silent_days, 1))  # fmt: skip


def silent_sources(activities: Iterable[SourceActivity], day: date) -> tuple[SilentSource, ...]:
    """Every source silent on ``day``, the longest silence (then the busiest) first."""
    found = [s for a in activities if (s := judge_silence(a, day)) is not None]
    return tuple(sorted(found, key=lambda s: (-s.silent_days, -s.per_week, s.name)))


def collection_health(
    failures: Sequence[SourceFailure], activities: Iterable[SourceActivity], day: date
) -> Health:
    """Failed sources, and silent ones that did not fail (a failure explains its silence)."""
    failed = {f.name for f in failures}
    silent = tuple(s for s in silent_sources(activities, day) if s.name not in failed)
    ordered = sorted(failures, key=_failure_order)
    return Health(tuple(ordered), silent)


def _failure_order(failure: SourceFailure) -> tuple[bool, float, str]:
    """Still failing before recovered, the longest-failing first."""
    since = failure.since.timestamp() if failure.since else math.inf
    return (failure.recovered_at is not None, since, failure.name)


_HTTP_WORDS = {
    401: "the server wants a login",
    403: "the server refuses framewatch",
    404: "the address is gone (not found)",
    410: "the address is gone for good",
    429: "the server asks framewatch to slow down",
}
_KIND_WORDS = {
    "timeout": "the server did not answer in time",
    "too_large": "the answer was larger than fetch.max_bytes allows",
    "blocked_address": "the address is private or local, so framewatch refused to fetch it",
    "fetch_error": "the server could not be reached",
    "parse_error": "the answer is not a feed framewatch can read",
    "killed": "the crawl ran past crawl.time_limit and was stopped",
    "failed": "the crawl failed",
}


def plain_error(outcome: str, status_code: int | None = None) -> str:
    """What a failure means, in words an analyst reads without the logs."""
    if outcome == "http_status" and status_code is not None:
        if status_code in _HTTP_WORDS:
            return f"{_HTTP_WORDS[status_code]} (HTTP {status_code})"
        if status_code >= 500:
            return f"the server had an error (HTTP {status_code})"
        return f"the server refused the request (HTTP {status_code})"
    return _KIND_WORDS.get(outcome, outcome.replace("_", " ") or "unknown error")
