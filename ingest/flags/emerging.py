"""Emerging-phrase flags: wording outside the codebook whose own-voice use jumps. Pure.

``emerging_phrases(timeline, uses, totals, tz, covered)``: the flags; the phrases come
from ``ingest.framing.phrases.extract_phrases``. A use is an article (near-duplicates are not on
the timeline, so one wire copy is one use) that has the phrase in its own voice. On each
day ``D`` (in ``tz``) with a use, the phrase's uses in the ``WINDOW_DAYS`` days to ``D``
are compared with the ``BASELINE_DAYS`` days before by the log-odds ratio with an
informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words"): counts
are article-phrase pairs, the prior is the pooled window+baseline frequency with mass
``PRIOR_SHARE`` of the pooled total. It fires when z >= ``MIN_Z``, with at least
``MIN_USES`` uses from ``MIN_OUTLETS`` outlets, and the codebook does not already cover
it (``covered``); after firing, a phrase is quiet for ``BASELINE_DAYS`` days. Each day's
result depends only on that day and earlier ones, so a backfill yields the flags live
monitoring would have, and a refresh recomputes only from the earliest changed day
(``phrase_fires`` with ``since``, given the fires before: only phrases
``frequent_phrases`` in the blocks of days just before can fire).

Of nested phrases the longest is kept: a phrase is dropped when a longer firing phrase
containing it fired that day or within the window before with at least ``MAXIMAL_SHARE``
of its uses, and phrases firing the same day on the same articles that overlap by at
least ``MIN_OVERLAP`` words ("forced exile without" + "exile without passports") are
joined into one.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ingest.model.flags import FlagDraft, TimelineArticle

WINDOW_DAYS = 7
BASELINE_DAYS = 90
MIN_USES = 5
MIN_OUTLETS = 2
MIN_Z = 3.3
PRIOR_SHARE = 0.1
MAXIMAL_SHARE = 0.75
MAX_ARTICLES = 20
MIN_OVERLAP = 2  # words two phrases must share to be joined (one could be coincidence)


# ------------------------------------------------------------------------ the statistic


def log_odds_z(
    window_uses: int, window_total: int, base_uses: int, base_total: int, prior_share: float
) -> float:
    """Monroe et al.'s z-score of the log-odds ratio (window vs baseline) with an
    informative Dirichlet prior: the pooled frequency, with mass ``prior_share`` times the
    pooled total (their equations 16 and 18-22)."""
    pooled_uses, pooled_total = window_uses + base_uses, window_total + base_total
    alpha_0 = prior_share * pooled_total
    alpha_w = prior_share * pooled_uses
    if alpha_w <= 0 or window_total <= 0:
        return 0.0
    delta = math.log(
        (window_uses + alpha_w) / (window_total + alpha_0 - window_uses - alpha_w)
    ) - math.log((base_uses + alpha_w) / (base_total + alpha_0 - base_uses - alpha_w))
    variance = 1 / (window_uses + alpha_w) + 1 / (base_uses + alpha_w)
    return delta / math.sqrt(variance)


# ------------------------------------------------------------------------ flags


@dataclass(frozen=True)
class PhraseFire:
    """A phrase that fired on a day, before longer phrases win over their parts and
    overlapping ones are joined. What a refresh keeps of it (``stored``) is enough for
    later days: the quiet period and the longest-phrase rule."""

    words: tuple[str, ...]
    day: date
    uses: int  # window articles using it
    ids: tuple[int, ...] = ()  # those articles in timeline order (not kept: ``stored``)
    base_uses: int = 0
    window_total: int = 0
    base_total: int = 0
    z: float = 0.0

    @property
    def phrase(self) -> str:
        return " ".join(self.words)

    def stored(self) -> tuple[str, str, int]:
        return self.phrase, self.day.isoformat(), self.uses

    @classmethod
    def restored(cls, stored: Sequence[Any]) -> PhraseFire:
        phrase, day, uses = stored
        return cls(tuple(phrase.split()), date.fromisoformat(day), uses)


class _Totals:
    """Article-phrase pairs per day, summed over day ranges (as ordinals) by prefix sums."""

    def __init__(self, day_totals: Mapping[date, int]) -> None:
        self.first = min(day_totals).toordinal() if day_totals else 0
        span = max(day_totals).toordinal() - self.first + 1 if day_totals else 0
        self.cumulative = [0] * (span + 1)
        for day, total in day_totals.items():
            self.cumulative[day.toordinal() - self.first + 1] += total
        for i in range(1, len(self.cumulative)):
            self.cumulative[i] += self.cumulative[i - 1]
        self.last = len(self.cumulative) - 1

    def at(self, ordinal: int) -> int:
        """Days before ``ordinal``."""
        return self.cumulative[min(max(ordinal - self.first, 0), self.last)]


def _phrase_fires(
    words: tuple[str, ...],
    ordered: Sequence[TimelineArticle],
    day_of: Mapping[int, int],
    totals: _Totals,
    since: int | None = None,
    last: int | None = None,
) -> list[PhraseFire]:
    """The days (ordinals; from ``since`` on) the phrase fires, ``last`` its latest fire
    before. ``ordered``: its uses in day order, from the baseline of ``since`` on."""
    days = [day_of[a.id] for a in ordered]
    fires: list[PhraseFire] = []
    for day in sorted(set(days)):
        if (since is not None and day < since) or (
            last is not None and day - last <= BASELINE_DAYS
        ):
            continue
        window_start = day - (WINDOW_DAYS - 1)
        base_start = window_start - BASELINE_DAYS
        lo = bisect.bisect_left(days, window_start)
        hi = bisect.bisect_right(days, day)
        window = ordered[lo:hi]
        if len(window) < MIN_USES or len({a.outlet for a in window}) < MIN_OUTLETS:
            continue
        base_uses = lo - bisect.bisect_left(days, base_start)
        end = totals.at(day + 1)
        window_total, base_total = end - totals.at(window_start), totals.at(window_start)
        base_total -= totals.at(base_start)
        z = log_odds_z(len(window), window_total, base_uses, base_total, PRIOR_SHARE)
        if z >= MIN_Z:
            ids = tuple(a.id for a in window)
            fires.append(
                PhraseFire(words, date.fromordinal(day), len(ids), ids, base_uses,
                           window_total, base_total, z)
            )  # fmt: skip
            last = day
    return fires


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return len(longer) > n and any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def _maximal(fires: list[PhraseFire]) -> list[PhraseFire]:
    """Drop phrases inside a longer one that fired that day or in the window before."""
    by_day: dict[date, list[PhraseFire]] = {}
    for fire in fires:
        by_day.setdefault(fire.day, []).append(fire)
    kept = []
    for fire in fires:
        nearby = (other for back in range(WINDOW_DAYS)
                  for other in by_day.get(fire.day - timedelta(days=back), ()))  # fmt: skip
        inside = any(
            other.uses >= MAXIMAL_SHARE * fire.uses and _contains(other.words, fire.words)
            for other in nearby
        )
        if not inside:
            kept.append(fire)
    return kept


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many words a's end shares with b's start (at least MIN_OVERLAP, else 0)."""
    for size in range(min(len(a), len(b)) - 1, MIN_OVERLAP - 1, -1):
        if a[-size:] == b[:size]:
            return size
    return 0


def _joined(fires: list[PhraseFire]) -> list[PhraseFire]:
    """Join overlapping phrases that fired the same day on the same articles."""
    groups: dict[tuple[date, tuple[int, ...]], list[PhraseFire]] = {}
    for fire in fires:
        groups.setdefault((fire.day, fire.ids), []).append(fire)
    return [f for key in sorted(groups) for f in _join_group(groups[key])]


def _join_group(group: list[PhraseFire]) -> list[PhraseFire]:
    group = sorted(group, key=lambda f: f.words)
    changed = True
    while changed:
        changed = False
        for a, b in ((a, b) for a in group for b in group if a is not b):
            size = _overlap(a.words, b.words)
            if size:
                words, base = a.words + b.words[size:], max(a.base_uses, b.base_uses)
                merged = replace(a, words=words, base_uses=base, z=min(a.z, b.z))
                group = [f for f in group if f is not a and f is not b] + [merged]
                changed = True
                break
    # a phrase inside a joined one, on the same articles, is part of it
    return [f for f in group if not any(_contains(g.words, f.words) for g in group)]


def _draft(
    fire: PhraseFire, by_id: Mapping[int, TimelineArticle], day_of: Mapping[int, int]
) -> FlagDraft:
    articles = [by_id[i] for i in fire.ids]
    outlets = sorted({a.outlet for a in articles})
    on_day = [a.when for a in articles if day_of[a.id] == fire.day.toordinal()]
    per = 1000 / max(fire.window_total, 1), 1000 / max(fire.base_total, 1)
    return FlagDraft(
        key=f"emerging_phrase:{fire.phrase[:300]}:{fire.day.isoformat()}",
        kind="emerging_phrase", frame=None, source=None,
        article_ids=tuple(reversed(fire.ids))[:MAX_ARTICLES],
        first_seen_at=min(on_day), score=round(fire.z, 2),
        statistic=f"\"{fire.phrase}\" in the outlets' own voice in {len(fire.ids)} articles "
        f"from {len(outlets)} outlets ({', '.join(outlets)}) in the {WINDOW_DAYS} days to "
        f"{fire.day.isoformat()}, against {fire.base_uses} in the previous {BASELINE_DAYS} "
        f"days ({len(fire.ids) * per[0]:.1f} vs {fire.base_uses * per[1]:.1f} per 1,000 "
        f"phrase uses); log-odds z = {fire.z:.1f} (Fightin' Words, informative Dirichlet "
        f"prior; fires at z >= {MIN_Z}).",
        phrase=fire.phrase,
    )  # fmt: skip


def phrase_fires(
    timeline: Sequence[TimelineArticle],
    uses: Mapping[str, Iterable[int]],
    totals: Mapping[int, int],
    tz: ZoneInfo,
    since: date | None = None,
    last_fires: Mapping[str, date] | None = None,
) -> list[PhraseFire]:
    """Every day a phrase fires (see the module docstring), before longer phrases win
    and overlaps are joined. ``uses``: phrase -> ids of articles using it (ids not on
    the timeline are ignored); ``totals``: article id -> how many distinct phrases it
    uses. ``since``: only days from then on, given ``last_fires`` (phrase -> its latest
    fire before); ``uses`` then need go back only ``baseline_start(since)``."""
    by_id = {a.id: a for a in timeline}
    day_of = {a.id: a.when.astimezone(tz).date().toordinal() for a in timeline}
    day_totals: dict[int, int] = {}
    for a in timeline:
        day_totals[day_of[a.id]] = day_totals.get(day_of[a.id], 0) + totals.get(a.id, 0)
    sums = _Totals({date.fromordinal(d): n for d, n in day_totals.items()})
    first = since.toordinal() if since is not None else None
    # each phrase's uses in day order: sorted by rank (a C-level key), not by a lambda
    ranked = sorted(timeline, key=lambda a: (day_of[a.id], a.when, a.id))
    rank = {a.id: r for r, a in enumerate(ranked)}
    fires: list[PhraseFire] = []
    for phrase in sorted(uses):
        ids = sorted({i for i in uses[phrase] if i in rank}, key=rank.__getitem__)
        if len(ids) < MIN_USES:
            continue
        ordered = [by_id[i] for i in ids]
        last = (last_fires or {}).get(phrase)
        fires += _phrase_fires(tuple(phrase.split()), ordered, day_of, sums, first,
                               last.toordinal() if last is not None else None)  # fmt: skip
    return fires


def baseline_start(since: date) -> date:
    """The first day whose uses count for fires from ``since`` on."""
    return since - timedelta(days=WINDOW_DAYS - 1 + BASELINE_DAYS)


def fire_flags(
    timeline: Sequence[TimelineArticle],
    fires: Sequence[PhraseFire],
    tz: ZoneInfo,
    covered: Callable[[str], bool] = lambda phrase: False,
    since: date | None = None,
) -> list[FlagDraft]:
    """The flags of ``fires`` (those of the ``WINDOW_DAYS`` before ``since`` included,
    for the longest-phrase rule): from ``since`` on, or all."""
    by_id = {a.id: a for a in timeline}
    day_of = {a.id: a.when.astimezone(tz).date().toordinal() for a in timeline}
    if since is not None:
        fires = [f for f in fires if (since - f.day).days < WINDOW_DAYS]
    # coverage is checked last, so the parts of a covered phrase stay quiet too
    kept = [f for f in _joined(_maximal(list(fires)))
            if (since is None or f.day >= since) and not covered(f.phrase)]  # fmt: skip
    drafts = [_draft(f, by_id, day_of) for f in kept]
    return sorted(drafts, key=lambda d: (d.first_seen_at, d.key))


def emerging_phrases(
    timeline: Sequence[TimelineArticle],
    uses: Mapping[str, Iterable[int]],
    totals: Mapping[int, int],
    tz: ZoneInfo,
    covered: Callable[[str], bool] = lambda phrase: False,
    since: date | None = None,
) -> list[FlagDraft]:
    """Flags for phrases whose own-voice use jumps (see the module docstring), from
    ``since`` on or all: ``phrase_fires`` then ``fire_flags``. ``uses`` may leave out
    phrases that are not ``frequent_phrases`` from ``recent_blocks(since)`` on: they
    can neither fire then nor silence a phrase that does."""
    fires = phrase_fires(timeline, uses, totals, tz)
    return fire_flags(timeline, fires, tz, covered, since)


# ------------------------------------------------------------------ which phrases


def day_block(day: date) -> int:
    """Days in blocks of ``WINDOW_DAYS``: a phrase's window lies within two consecutive
    blocks, so one with ``MIN_USES`` uses in a window has them in two such blocks."""
    return day.toordinal() // WINDOW_DAYS


def recent_blocks(since: date, window_before: bool = True) -> int:
    """The first block whose phrases can fire on ``since`` or later (and, with
    ``window_before``, in the ``WINDOW_DAYS`` before, where a longer phrase keeps its
    parts quiet)."""
    back = 2 * WINDOW_DAYS - 2 if window_before else WINDOW_DAYS - 1
    return day_block(since - timedelta(days=back))


def frequent_phrases(blocks: Iterable[tuple[int, Iterable[Iterable[str]]]]) -> set[str]:
    """The phrases with at least ``MIN_USES`` uses (articles) in two consecutive blocks:
    every phrase that can fire. ``blocks``: (block number, each article's phrases) in
    ascending block order; the counts need only two blocks' phrases in memory."""
    found: set[str] = set()
    previous: Counter[str] = Counter()
    last = None
    for block, articles in blocks:
        current: Counter[str] = Counter()
        for phrases in articles:
            current.update(phrases)
        if last is None or block != last + 1:
            previous = Counter()
        found.update(p for p, n in current.items() if n + previous.get(p, 0) >= MIN_USES)
        previous, last = current, block
    return found
