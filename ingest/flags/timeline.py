"""A story's frames over time: how many articles used each frame per day, week or month.

Pure: takes the story's timeline articles (``storage.frames.story_timeline``) and counts;
near-duplicate copies are already left out there, so a wire story counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ingest.model.flags import TimelineArticle

INTERVALS = ("day", "week", "month")


@dataclass(frozen=True)
class Bucket:
    start: date  # first day of the day, ISO week (Monday) or month
    articles: int  # articles of the story in the bucket
    frames: dict[str, int] = field(default_factory=dict)  # articles using each frame


def bucket_start(when: datetime, interval: str) -> date:
    """The first day of the bucket ``when`` (taken in UTC) falls in."""
    day = when.astimezone(UTC).date()
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def frame_timeline(
    articles: Iterable[TimelineArticle],
    interval: str = "week",
    voice: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Bucket]:
    """Buckets in time order; ``voice`` counts only uses in that voice."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    totals: Counter[date] = Counter()
    frames: dict[date, Counter[str]] = {}
    for article in articles:
        if (since and article.when < since) or (until and article.when >= until):
            continue
        start = bucket_start(article.when, interval)
        totals[start] += 1
        used = {frame for frame, used_voice in article.uses if voice in (None, used_voice)}
        frames.setdefault(start, Counter()).update(used)
    ordered = sorted(totals)
    return [Bucket(start, totals[start], dict(sorted(frames[start].items()))) for start in ordered]
