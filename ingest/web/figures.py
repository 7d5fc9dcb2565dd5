"""The numbers behind the overview pages, from a story's timeline: each frame's daily
share (own voice and only quoted), the same per outlet group, and the outlet x frame
table. Pure: timeline articles in (``ingest.model.flags.TimelineArticle``), rows out.

An article counts once per frame: in its own voice when it uses the frame so anywhere,
else as quoted (quoted or distanced), as in the digest (``ingest.digest.views``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ingest.digest.views import voice_counts
from ingest.model.digest import HistoryArticle
from ingest.model.flags import TimelineArticle

NO_GROUP = "(no group)"


@dataclass(frozen=True)
class Window:
    """The days shown: ``span`` days ending with ``last`` (in the configured zone)."""

    last: date
    span: int

    @property
    def first(self) -> date:
        return self.last - timedelta(days=self.span - 1)

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


def group_of(article: TimelineArticle) -> str:
    return article.group or NO_GROUP


def in_window(
    articles: Iterable[TimelineArticle], window: Window, tz: ZoneInfo, group: str | None = None
) -> list[TimelineArticle]:
    """The articles dated in the window (and of the outlet group, when given)."""
    return [a for a in articles if window.holds(a.when.astimezone(tz).date())
            and (group is None or group_of(a) == group)]  # fmt: skip


def as_history(articles: Iterable[TimelineArticle]) -> list[HistoryArticle]:
    """Timeline articles in the shape the digest's chart and outlet table take."""
    return [HistoryArticle(a.when, a.outlet, None, None, a.uses) for a in articles]


def daily_rows(
    articles: Sequence[TimelineArticle], window: Window, tz: ZoneInfo
) -> list[dict[str, object]]:
    """One row per day and frame used that day: articles that day, own and quoted uses,
    and their shares (copies are already left out of the timeline)."""
    totals: Counter[date] = Counter()
    uses: dict[tuple[date, str], Counter[str]] = defaultdict(Counter)
    for article in articles:
        day = article.when.astimezone(tz).date()
        totals[day] += 1
        for frame, voice in voice_counts(article.uses).items():
            uses[day, frame][voice] += 1
    rows = []
    for (day, frame), counts in sorted(uses.items(), key=lambda item: (-item[0][0].toordinal(),
                                                                        item[0][1])):  # fmt: skip
        total = totals[day]
        rows.append({"day": day, "frame": frame, "articles": total, "own": counts["own"],
                     "quoted": counts["quoted"], "own_share": round(counts["own"] / total, 3),
                     "quoted_share": round(counts["quoted"] / total, 3)})  # fmt: skip
    return rows


@dataclass(frozen=True)
class GroupShares:
    group: str
    articles: int
    shares: tuple[tuple[float, float], ...]  # (own, quoted) share per frame column


def group_table(
    articles: Sequence[TimelineArticle], frames: Sequence[str]
) -> tuple[GroupShares, ...]:
    """Per outlet group: its articles in the window and each frame's share of them."""
    by_group: dict[str, list[dict[str, str]]] = defaultdict(list)
    for article in articles:
        by_group[group_of(article)].append(voice_counts(article.uses))
    table = []
    for group, used in sorted(by_group.items(), key=lambda item: (-len(item[1]), item[0])):
        shares = tuple(
            (sum(1 for u in used if u.get(f) == "own") / len(used),
             sum(1 for u in used if u.get(f) == "quoted") / len(used))
            for f in frames
        )  # fmt: skip
        table.append(GroupShares(group, len(used), shares))
    return tuple(table)


def outlet_groups(articles: Iterable[TimelineArticle]) -> dict[str, str]:
    """Each outlet's group (the most common among its sources' groups)."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for article in articles:
        seen[article.outlet][group_of(article)] += 1
    return {outlet: counts.most_common(1)[0][0] for outlet, counts in seen.items()}
