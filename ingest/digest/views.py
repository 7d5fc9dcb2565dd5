"""What the digest shows, derived from its data: pure functions, no I/O, no clock.

* the day's numbers against the average of the 7 days before it;
* the day's events: its articles grouped by cluster, each with a representative headline,
  and within an event the carriers of one wire report under one entry;
* the frame-share chart: for each frame, the share of each of the last 14 days' articles
  (copies left out) using it in its own voice, and only quoting it (or in scare quotes);
* the outlet x frame table of the day (own and quoted uses per outlet);
* collection health: the sources that failed that day and the ones gone silent
  (``ingest.digest.health``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ingest.digest.health import Health, collection_health

if TYPE_CHECKING:
    from ingest.model.digest import DigestArticle, DigestData, HistoryArticle

CHART_DAYS = 14
AVERAGE_DAYS = 7
CHART_WIDTH = 360
ROW_LABEL = 14
ROW_BARS = 26
ROW_GAP = 8
SPARK = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Stat:
    label: str
    value: int
    average: float  # over the 7 days before

    @property
    def change(self) -> str:
        if self.average == 0:
            return "new" if self.value else "—"
        percent = round((self.value - self.average) / self.average * 100)
        return f"{percent:+d}%" if percent else "±0%"


@dataclass(frozen=True)
class Entry:
    """One report of an event: an article, or a wire report with the earliest of the
    day's carriers standing for it and the others listed."""

    article: DigestArticle
    carriers: tuple[DigestArticle, ...] = ()
    origin: str | None = None

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(sorted({a.outlet for a in (self.article, *self.carriers)}))


@dataclass(frozen=True)
class Event:
    cluster_id: int | None
    headline: DigestArticle
    outlets: tuple[str, ...]
    articles: tuple[DigestArticle, ...]
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    own_y: float
    own_h: float
    quoted_y: float
    quoted_h: float
    tip: str


@dataclass(frozen=True)
class ChartRow:
    frame: str
    top: float  # y of the row's label
    baseline: float  # y of the bars' baseline
    bars: tuple[Bar, ...]
    own: int  # 14-day totals, for the text fallback
    quoted: int
    own_spark: str  # the same in block characters, for Markdown
    quoted_spark: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: float
    scale: int  # the share (percent) a full-height bar stands for
    rows: tuple[ChartRow, ...]
    days: tuple[date, ...]
    ticks: tuple[tuple[float, str], ...]  # (x, label) under the bars
    today_x: float
    slot: float


@dataclass(frozen=True)
class OutletRow:
    outlet: str
    articles: int
    cells: tuple[tuple[int, int], ...]  # (own, quoted) per frame column


@dataclass(frozen=True)
class OutletTable:
    frames: tuple[str, ...]
    rows: tuple[OutletRow, ...]


@dataclass(frozen=True)
class DigestView:
    stats: tuple[Stat, ...]
    events: tuple[Event, ...]
    chart: Chart | None
    table: OutletTable
    late: tuple[DigestArticle, ...]
    health: Health


def build_view(data: DigestData) -> DigestView:
    tz = ZoneInfo(data.timezone)
    return DigestView(
        stats=day_stats(data.articles, data.history, data.day, tz),
        events=group_events(data.articles),
        chart=frame_chart(data.history, data.day, tz),
        table=outlet_table(data.articles),
        late=tuple(sorted(data.late, key=lambda a: (a.when, a.id))),
        health=collection_health(data.failures, data.activity, data.day),
    )


def local_day(when: datetime, tz: ZoneInfo) -> date:
    return when.astimezone(tz).date()


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar day in ``tz`` as a [start, end) range of aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


def _counts(rows: Sequence[HistoryArticle | DigestArticle]) -> tuple[int, int, int, int]:
    return (
        len(rows),
        sum(1 for r in rows if r.duplicate_of is None),
        len({r.outlet for r in rows}),
        len({r.language or "?" for r in rows}),
    )


def day_stats(
    articles: Sequence[DigestArticle], history: Iterable[HistoryArticle], day: date, tz: ZoneInfo
) -> tuple[Stat, ...]:
    """The day's numbers and each one's average over the 7 days before it."""
    by_day: dict[date, list[HistoryArticle]] = defaultdict(list)
    for row in history:
        by_day[local_day(row.when, tz)].append(row)
    before = [_counts(by_day.get(day - timedelta(days=n), [])) for n in range(1, AVERAGE_DAYS + 1)]
    today = _counts(articles)
    labels = ("new articles", "unique after dedup", "outlets", "languages")
    return tuple(
        Stat(label, today[i], round(sum(c[i] for c in before) / AVERAGE_DAYS, 1))
        for i, label in enumerate(labels)
    )


def _headline(articles: Sequence[DigestArticle]) -> DigestArticle:
    originals = [a for a in articles if a.duplicate_of is None] or list(articles)
    return min(originals, key=lambda a: (-a.carried_by, a.when, a.id))


def group_events(articles: Iterable[DigestArticle]) -> tuple[Event, ...]:
    """The day's articles by event cluster, biggest event first (unclustered: alone)."""
    groups: dict[tuple[str, int], list[DigestArticle]] = defaultdict(list)
    for article in articles:
        key = ("c", article.cluster_id) if article.cluster_id is not None else ("a", article.id)
        groups[key].append(article)
    events = []
    for members in groups.values():
        ordered = tuple(sorted(members, key=lambda a: (a.when, a.id)))
        outlets = tuple(sorted({a.outlet for a in ordered}))
        events.append(Event(ordered[0].cluster_id, _headline(ordered), outlets, ordered,
                            wire_entries(ordered)))  # fmt: skip
    events.sort(key=lambda e: (-len(e.articles), e.articles[0].when, e.headline.id))
    return tuple(events)


def wire_entries(ordered: Sequence[DigestArticle]) -> tuple[Entry, ...]:
    """The articles (in time order) as entries: a wire report's carriers under one."""
    entries: list[Entry] = []
    stories: dict[int, int] = {}  # wire story -> its entry's index
    for article in ordered:
        index = stories.get(article.wire_story) if article.wire_story is not None else None
        if index is None:
            if article.wire_story is not None:
                stories[article.wire_story] = len(entries)
            entries.append(Entry(article, (), article.wire_origin))
        else:
            entry = entries[index]
            entries[index] = Entry(entry.article, (*entry.carriers, article), entry.origin)
    return tuple(entries)


_VOICE_RANK = {"own": 0, "quoted": 1, "distanced": 2}


def strongest_voices(frames: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """One (frame, voice) per frame: own before quoted before distanced."""
    best: dict[str, str] = {}
    for frame, voice in frames:
        if frame not in best or _VOICE_RANK.get(voice, 9) < _VOICE_RANK.get(best[frame], 9):
            best[frame] = voice
    return tuple(sorted(best.items()))


def voice_counts(frames: Iterable[tuple[str, str]]) -> dict[str, str]:
    """frame -> "own" when the article uses it in its own voice anywhere, else "quoted"."""
    result: dict[str, str] = {}
    for frame, voice in frames:
        if voice == "own" or frame not in result:
            result[frame] = "own" if voice == "own" else "quoted"
    return result


def _daily_uses(
    history: Iterable[HistoryArticle], days: Sequence[date], tz: ZoneInfo
) -> tuple[Counter[date], dict[tuple[str, date], Counter[str]]]:
    wanted = set(days)
    totals: Counter[date] = Counter()
    uses: defaultdict[tuple[str, date], Counter[str]] = defaultdict(Counter)
    for row in history:
        day = local_day(row.when, tz)
        if row.duplicate_of is not None or day not in wanted:
            continue
        totals[day] += 1
        for frame, voice in voice_counts(row.frames).items():
            uses[frame, day][voice] += 1
    return totals, dict(uses)


def _scale(peak: float) -> int:
    for step in (10, 25, 50, 75, 100):
        if peak <= step / 100:
            return step
    return 100


def frame_chart(
    history: Iterable[HistoryArticle], day: date, tz: ZoneInfo, span: int = CHART_DAYS
) -> Chart | None:
    """Bars of each frame's daily share over the ``span`` days ending with ``day``."""
    days = tuple(day - timedelta(days=n) for n in range(span - 1, -1, -1))
    totals, uses = _daily_uses(history, days, tz)
    frames = sorted(
        {frame for frame, _ in uses},
        key=lambda f: (-sum(sum(c.values()) for (g, _), c in uses.items() if g == f), f),
    )
    if not frames:
        return None
    peak = max(sum(c.values()) / totals[d] for (_, d), c in uses.items())
    scale = _scale(peak)
    slot = CHART_WIDTH / span
    rows = tuple(
        _chart_row(frame, index, days, totals, uses, scale, slot)
        for index, frame in enumerate(frames)
    )
    height = len(frames) * (ROW_LABEL + ROW_BARS + ROW_GAP) + 16
    marks = sorted({0, (span - 1) // 2, span - 1})
    ticks = tuple((i * slot + slot / 2, days[i].strftime("%d.%m")) for i in marks)
    return Chart(CHART_WIDTH, height, scale, rows, days, ticks, (span - 1) * slot, slot)


def _chart_row(
    frame: str,
    index: int,
    days: Sequence[date],
    totals: Counter[date],
    uses: dict[tuple[str, date], Counter[str]],
    scale: int,
    slot: float,
) -> ChartRow:
    top = index * (ROW_LABEL + ROW_BARS + ROW_GAP)
    baseline = top + ROW_LABEL + ROW_BARS
    bars, own_shares, quoted_shares = [], [], []
    for i, day in enumerate(days):
        counts, total = uses.get((frame, day), Counter()), totals[day]
        own = counts["own"] / total if total else 0.0
        quoted = counts["quoted"] / total if total else 0.0
        own_shares.append(own)
        quoted_shares.append(quoted)
        own_h = round(min(own * 100 / scale, 1.0) * ROW_BARS, 2)
        quoted_h = max(0.0, round(min((own + quoted) * 100 / scale, 1.0) * ROW_BARS - own_h, 2))
        tip = (
            f"{day.isoformat()}: own {counts['own']}, quoted {counts['quoted']} "
            f"of {total} article{'s' if total != 1 else ''}"
        )
        bars.append(Bar(round(i * slot + 1, 2), round(slot - 2, 2), round(baseline - own_h, 2),
                        own_h, round(baseline - own_h - quoted_h, 2), quoted_h, tip))  # fmt: skip
    own_total = sum(uses.get((frame, d), Counter())["own"] for d in days)
    quoted_total = sum(uses.get((frame, d), Counter())["quoted"] for d in days)
    return ChartRow(frame, top, baseline, tuple(bars), own_total, quoted_total,
                    _spark(own_shares, scale), _spark(quoted_shares, scale))  # fmt: skip


def _spark(shares: Sequence[float], scale: int) -> str:
    top = len(SPARK) - 1
    marks = []
    for share in shares:
        level = min(share * 100 / scale, 1.0)
        marks.append(SPARK[max(1, round(level * top))] if share > 0 else "·")
    return "".join(marks)


def outlet_table(articles: Iterable[DigestArticle | HistoryArticle]) -> OutletTable:
    """Per outlet of the day: how many of its articles use each frame, own and quoted."""
    per_outlet: dict[str, list[dict[str, str]]] = defaultdict(list)
    frame_totals: Counter[str] = Counter()
    for article in articles:
        voices = voice_counts(article.frames)
        per_outlet[article.outlet].append(voices)
        frame_totals.update(voices.keys())
    frames = tuple(sorted(frame_totals, key=lambda f: (-frame_totals[f], f)))
    rows = []
    for outlet, uses in per_outlet.items():
        cells = tuple(
            (
                sum(1 for u in uses if u.get(frame) == "own"),
                sum(1 for u in uses if u.get(frame) == "quoted"),
            )
            for frame in frames
        )
        rows.append(OutletRow(outlet, len(uses), cells))
    rows.sort(key=lambda r: (-r.articles, r.outlet))
    return OutletTable(frames, tuple(rows))
