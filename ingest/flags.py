"""Flags for new framings, judged on the story's timeline. Pure: a timeline in, drafts out.

The timeline is every article of a story in published order (first seen where the date is
unknown), near-duplicates left out so one wire copy counts once. Because flags are a
function of that timeline alone, ingesting a month at once yields exactly the flags that
day-by-day ingestion would have produced, and recomputing never duplicates a flag: each
draft carries a stable ``key`` (kind, frame, outlet, day or article) that the store
upserts on.

Kinds (each draft states its statistic in plain words):

* ``first_seen`` — the first article in the story using a frame, in any voice.
* ``source_shift`` — an outlet uses a frame in its own voice for the first time after at
  least ``SHIFT_MIN_PRIOR`` of its articles in the story that only quoted the frame or did
  not use it. Scored higher when the frame is typical of the other camp (a state-media
  frame entering an independent or Western outlet, or the reverse).
* ``distancing`` — an outlet starts putting a frame's term in scare quotes after using it
  plainly, or drops the scare quotes after using them.
* ``emerging_phrase`` — see ``ingest.phrases`` (it needs the articles' phrases, not only
  their frames, so the caller adds those drafts).
* ``frame_change`` — an edit of a stored article (a new headline or lede, seen when its
  source delivered it again) changed the frames it uses (``frame_changes``; the caller
  gives the articles' versions, ``storage.versions``).
* ``surge`` — a stated test: on a day with at least ``SURGE_MIN_COUNT`` articles using the
  frame, its share of the day's coverage is at least twice its share over the previous
  ``SURGE_BASE_DAYS`` days (which must hold ``SURGE_MIN_BASE`` articles), and the one-sided
  binomial probability of so many uses at the base rate is below ``SURGE_P``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SHIFT_MIN_PRIOR = 3
SURGE_MIN_COUNT = 3
SURGE_BASE_DAYS = 28
SURGE_MIN_BASE = 10
SURGE_P = 0.001
CROSS_CAMP_WEIGHT = 2.0

# Outlet groups (config `group`) to the camps a codebook's `typical_of` names.
CAMP_OF_GROUP = {
    "by_state": "state", "ru_state": "state", "by_independent": "independent",
    "ru_independent": "independent", "western": "western",
}  # fmt: skip


@dataclass(frozen=True)
class TimelineArticle:
    id: int
    outlet: str
    group: str | None  # the source's outlet group
    when: datetime
    uses: tuple[tuple[str, str], ...]  # (frame, voice) pairs found in the article

    def voices(self, frame: str) -> set[str]:
        return {voice for name, voice in self.uses if name == frame}


@dataclass(frozen=True)
class FlagDraft:
    key: str
    kind: str
    frame: str | None
    source: str | None
    article_ids: tuple[int, ...]
    first_seen_at: datetime
    score: float
    statistic: str
    phrase: str | None = None
    evidence: tuple[str, ...] = ()  # example sentences, where the store cannot look them up


def compute_flags(
    timeline: Sequence[TimelineArticle],
    typical_of: Mapping[str, Sequence[str]],
    tz: ZoneInfo,
) -> list[FlagDraft]:
    """Every flag the timeline supports, in timeline order."""
    ordered = sorted(timeline, key=lambda a: (a.when, a.id))
    drafts = [*first_seen(ordered), *source_shifts(ordered, typical_of)]
    drafts += [*distancing(ordered), *surges(ordered, tz)]
    return sorted(drafts, key=lambda d: (d.first_seen_at, d.key))


def first_seen(ordered: Sequence[TimelineArticle]) -> Iterable[FlagDraft]:
    seen: set[str] = set()
    for article in ordered:
        for frame in sorted({name for name, _ in article.uses} - seen):
            seen.add(frame)
            voice = "own" if "own" in article.voices(frame) else sorted(article.voices(frame))[0]
            yield FlagDraft(
                key=f"first_seen:{frame}", kind="first_seen", frame=frame, source=article.outlet,
                article_ids=(article.id,), first_seen_at=article.when,
                score=2.0 if voice == "own" else 1.0,
                statistic=f"First use of {frame} in the story: {article.outlet}, "
                f"{article.when:%Y-%m-%d}, in {voice} voice.",
            )  # fmt: skip


def _by_outlet(ordered: Sequence[TimelineArticle]) -> dict[str, list[TimelineArticle]]:
    outlets: dict[str, list[TimelineArticle]] = defaultdict(list)
    for article in ordered:
        outlets[article.outlet].append(article)
    return outlets


def source_shifts(
    ordered: Sequence[TimelineArticle], typical_of: Mapping[str, Sequence[str]]
) -> Iterable[FlagDraft]:
    for outlet, articles in _by_outlet(ordered).items():
        for frame in sorted({name for a in articles for name, _ in a.uses}):
            draft = _shift(outlet, frame, articles, typical_of.get(frame, ()))
            if draft is not None:
                yield draft


def _shift(
    outlet: str, frame: str, articles: Sequence[TimelineArticle], typical: Sequence[str]
) -> FlagDraft | None:
    quoted: list[int] = []
    silent = 0
    for index, article in enumerate(articles):
        voices = article.voices(frame)
        if "own" in voices:
            if index < SHIFT_MIN_PRIOR:
                return None  # used plainly from the start: not a shift
            camp = CAMP_OF_GROUP.get(article.group or "")
            cross = bool(typical) and camp is not None and camp not in typical
            score = math.log2(1 + index) * (CROSS_CAMP_WEIGHT if cross else 1.0)
            camp_note = f" The frame is typical of {', '.join(typical)} outlets." if cross else ""
            return FlagDraft(
                key=f"source_shift:{frame}:{outlet}", kind="source_shift", frame=frame,
                source=outlet, article_ids=(article.id, *quoted[-3:]),
                first_seen_at=article.when, score=round(score, 2),
                statistic=f"{outlet} used {frame} in its own voice for the first time on "
                f"{article.when:%Y-%m-%d}, after {index} articles in the story in which it "
                f"quoted it ({len(quoted)}) or did not use it ({silent}).{camp_note}",
            )  # fmt: skip
        if voices:
            quoted.append(article.id)
        else:
            silent += 1
    return None


def distancing(ordered: Sequence[TimelineArticle]) -> Iterable[FlagDraft]:
    """Per outlet and frame, its habit (plain or scare-quoted) and the moments it flips."""
    for outlet, articles in _by_outlet(ordered).items():
        habit: dict[str, tuple[str, TimelineArticle]] = {}
        for article in articles:
            for frame in sorted({name for name, _ in article.uses}):
                voices = article.voices(frame)
                now = "distanced" if "distanced" in voices else "plain" if "own" in voices else None
                if now is None:
                    continue
                before = habit.get(frame)
                if before is not None and before[0] != now:
                    yield _distancing_draft(outlet, frame, article, before[1], now == "distanced")
                habit[frame] = (now, article)


def _distancing_draft(
    outlet: str, frame: str, article: TimelineArticle, before: TimelineArticle, starts: bool
) -> FlagDraft:
    change = "starts putting" if starts else "drops the scare quotes around"
    earlier = "used it plainly" if starts else "kept it in scare quotes"
    return FlagDraft(
        key=f"distancing:{frame}:{outlet}:{article.id}", kind="distancing", frame=frame,
        source=outlet, article_ids=(article.id, before.id), first_seen_at=article.when,
        score=1.5,
        statistic=f"{outlet} {change} {frame} " + ("in scare quotes " if starts else "")
        + f"on {article.when:%Y-%m-%d}; on {before.when:%Y-%m-%d} it {earlier}.",
    )  # fmt: skip


def surges(ordered: Sequence[TimelineArticle], tz: ZoneInfo) -> Iterable[FlagDraft]:
    days: dict[date, list[TimelineArticle]] = defaultdict(list)
    for article in ordered:
        days[article.when.astimezone(tz).date()].append(article)
    for day in sorted(days):
        base = [a for d in _previous_days(day) for a in days.get(d, ())]
        if len(base) < SURGE_MIN_BASE:
            continue
        today = days[day]
        counts = Counter(name for a in today for name in {n for n, _ in a.uses})
        base_counts = Counter(name for a in base for name in {n for n, _ in a.uses})
        for frame, k in sorted(counts.items()):
            draft = _surge(frame, day, today, k, base_counts[frame], len(base))
            if draft is not None:
                yield draft


def _previous_days(day: date) -> list[date]:
    return [day - timedelta(days=i) for i in range(1, SURGE_BASE_DAYS + 1)]


def _surge(
    frame: str, day: date, today: list[TimelineArticle], k: int, base_k: int, base_n: int
) -> FlagDraft | None:
    n = len(today)
    rate = (base_k + 1) / (base_n + 2)  # smoothed: a frame never seen before has a small rate
    if k < SURGE_MIN_COUNT or k / n < 2 * rate:
        return None
    p = binomial_tail(k, n, rate)
    if p > SURGE_P:
        return None
    ids = tuple(a.id for a in today if any(name == frame for name, _ in a.uses))
    return FlagDraft(
        key=f"surge:{frame}:{day.isoformat()}", kind="surge", frame=frame, source=None,
        article_ids=ids, first_seen_at=min(a.when for a in today if a.id in ids),
        score=round(-math.log10(max(p, 1e-300)), 2),
        statistic=f"{frame} in {k} of {n} articles on {day.isoformat()} ({k / n:.0%}), against "
        f"{base_k} of {base_n} ({base_k / base_n:.0%}) over the previous {SURGE_BASE_DAYS} "
        f"days; binomial p = {p:.1e}.",
    )  # fmt: skip


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (no overflow)."""
    if k <= 0:
        return 1.0
    total = 0.0
    for i in range(k, n + 1):
        log_term = (
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * math.log(p) + (n - i) * math.log1p(-p)
        )  # fmt: skip
        total += math.exp(log_term)
    return min(1.0, total)


# ------------------------------------------------------------------ edits as signal


@dataclass(frozen=True)
class Revision:
    """One version of an article: headline, lede and (frame, voice, evidence) triples."""

    version_id: int | None  # None: the current version
    title: str
    lede: str
    frames: tuple[tuple[str, str, str], ...]
    replaced_at: datetime | None  # when the next version was seen


@dataclass(frozen=True)
class ArticleHistory:
    article_id: int
    outlet: str
    revisions: tuple[Revision, ...]  # oldest first, the current one last


def _uses(frames: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
    return {(frame, voice) for frame, voice, _ in frames}


def _named(uses: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{frame} ({voice})" for frame, voice in sorted(uses)) or "none"


def frame_changes(histories: Iterable[ArticleHistory]) -> Iterable[FlagDraft]:
    """``frame_change``: an edit of a stored article (new headline or lede) changed the
    frames it uses, e.g. "released" becoming "expelled". One flag per such edit."""
    for history in histories:
        for before, after in zip(history.revisions, history.revisions[1:], strict=False):
            added = _uses(after.frames) - _uses(before.frames)
            removed = _uses(before.frames) - _uses(after.frames)
            if not (added or removed) or before.replaced_at is None:
                continue
            evidence = [f"before: {e}" for f, v, e in before.frames if (f, v) in removed]
            evidence += [f"after: {e}" for f, v, e in after.frames if (f, v) in added]
            yield FlagDraft(
                key=f"frame_change:{history.article_id}:{before.version_id}",
                kind="frame_change", frame=sorted(added or removed)[0][0],
                source=history.outlet, article_ids=(history.article_id,),
                first_seen_at=before.replaced_at, score=float(len(added) + len(removed)),
                statistic=f"{history.outlet} edited an article (seen "
                f"{before.replaced_at:%Y-%m-%d %H:%M} UTC): \"{before.title}\" became "
                f"\"{after.title}\". Frames added: "
                f"{_named(added)}; removed: {_named(removed)}.",
                evidence=tuple(dict.fromkeys(evidence)),
            )  # fmt: skip
