"""Flags for new framings, judged on the story's timeline. Pure: a timeline in, drafts out.

The timeline is every article of a story in published order (first seen where the date is
unknown), near-duplicates left out and each wire story counted once: the article that
stands for it lists the outlets that carried it (``TimelineArticle.carriers``; an outlet
that rewrote a frame into its own words still counts as its own use), and the drafts
name them. Because flags are a
function of that timeline alone, ingesting a month at once yields exactly the flags that
day-by-day ingestion would have produced, and recomputing never duplicates a flag: each
draft carries a stable ``key`` (kind, frame, outlet, day or article) that the store
upserts on. A flag depends only on its day and the days before, so a refresh recomputes
only the flags from the earliest day that changed (``day_digests``; ``compute_flags``
with ``since``).

Kinds (each draft states its statistic in plain words):

* ``first_seen`` — the first article in the story using a frame, in any voice, with a
  strong cue or two cue occurrences (one weak cue, e.g. a bare "regime" or "dialogue",
  does not date a frame).
* ``source_shift`` — an outlet uses a frame in its own voice (strongly, as above) for the
  first time after at least ``SHIFT_MIN_PRIOR`` of its articles in the story that only
  quoted the frame or did not use it; an own use resting on one weak cue counts as
  neither. Scored higher when the frame is typical of the other camp (a state-media
  frame entering an independent or Western outlet, or the reverse): ``camps`` maps each
  outlet group to its camp (the config's ``group_camps``), the codebook's ``typical_of``
  names camps.
* ``distancing`` — an outlet starts putting a frame's term in scare quotes after using it
  plainly, or drops the scare quotes after using them.
* ``emerging_phrase`` — see ``ingest.framing.phrases`` (it needs the articles' phrases, not only
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

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ingest.config.settings import DEFAULT_GROUPS
from ingest.model.flags import ArticleHistory, FlagDraft, TimelineArticle

SHIFT_MIN_PRIOR = 3
SURGE_MIN_COUNT = 3
SURGE_BASE_DAYS = 28
SURGE_MIN_BASE = 10
SURGE_P = 0.001
CROSS_CAMP_WEIGHT = 2.0


def compute_flags(
    timeline: Sequence[TimelineArticle],
    typical_of: Mapping[str, Sequence[str]],
    tz: ZoneInfo,
    since: datetime | None = None,
    camps: Mapping[str, str] = DEFAULT_GROUPS,
) -> list[FlagDraft]:
    """Every flag the timeline supports, in timeline order; with ``since``, only those
    first seen from then on (a flag depends only on its day and earlier ones).
    ``camps``: outlet group -> camp, for the cross-camp weight of ``source_shift``."""
    ordered = sorted(timeline, key=lambda a: (a.when, a.id))
    drafts = [*first_seen(ordered), *source_shifts(ordered, typical_of, camps)]
    first_day = since.astimezone(tz).date() if since is not None else None
    drafts += [*distancing(ordered, since), *surges(ordered, tz, first_day)]
    if since is not None:
        drafts = [d for d in drafts if d.first_seen_at >= since]
    return sorted(drafts, key=lambda d: (d.first_seen_at, d.key))


# ------------------------------------------------------------------ what changed


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """When ``day`` (a calendar day in ``tz``) begins."""
    return datetime.combine(day, time(), tz)


def day_digests(
    timeline: Iterable[TimelineArticle], extras: Mapping[int, object], tz: ZoneInfo
) -> dict[str, str]:
    """ISO day (in ``tz``) -> a digest of that day's timeline articles: ids, outlets,
    groups, times and frames, with ``extras`` per article id (what else flags read,
    e.g. how many phrases and versions it has). A flag depends only on its day and the
    days before, so the flags before the earliest day whose digest changed stay valid."""
    days: dict[date, list[TimelineArticle]] = defaultdict(list)
    for article in timeline:
        days[article.when.astimezone(tz).date()].append(article)
    digests = {}
    for day, articles in days.items():
        digest = hashlib.blake2b(digest_size=8)
        for a in sorted(articles, key=lambda a: a.id):
            facts = (a.id, a.outlet, a.group, a.when.isoformat(), a.uses, a.weak, extras.get(a.id),
                     a.carried_ids)  # fmt: skip
            digest.update(repr(facts).encode())
        digests[day.isoformat()] = digest.hexdigest()
    return digests


def first_changed_day(before: Mapping[str, str], after: Mapping[str, str]) -> date | None:
    """The earliest day whose digest differs (added, removed or changed); None: none."""
    changed = [day for day in before.keys() | after.keys() if before.get(day) != after.get(day)]
    return date.fromisoformat(min(changed)) if changed else None


def first_seen(ordered: Sequence[TimelineArticle]) -> Iterable[FlagDraft]:
    seen: set[str] = set()
    for article in ordered:
        for frame in sorted({name for name, _ in article.uses} - seen):
            voices = article.strong_voices(frame)
            if not voices:
                continue  # one weak cue: not enough to date the frame by
            seen.add(frame)
            voice = "own" if "own" in voices else sorted(voices)[0]
            yield FlagDraft(
                key=f"first_seen:{frame}", kind="first_seen", frame=frame, source=article.outlet,
                article_ids=(article.id,), first_seen_at=article.when,
                score=2.0 if voice == "own" else 1.0,
                statistic=f"First use of {frame} in the story: {article.outlet}, "
                f"{article.when:%Y-%m-%d}, in {voice} voice.{carried_note([article])}",
            )  # fmt: skip


def _by_outlet(ordered: Sequence[TimelineArticle]) -> dict[str, list[TimelineArticle]]:
    outlets: dict[str, list[TimelineArticle]] = defaultdict(list)
    for article in ordered:
        outlets[article.outlet].append(article)
    return outlets


def source_shifts(
    ordered: Sequence[TimelineArticle],
    typical_of: Mapping[str, Sequence[str]],
    camps: Mapping[str, str] = DEFAULT_GROUPS,
) -> Iterable[FlagDraft]:
    """One pass per outlet: each frame's quoted uses until its first own-voice use."""
    for outlet, articles in _by_outlet(ordered).items():
        quoted: dict[str, list[int]] = defaultdict(list)
        done: set[str] = set()
        for index, article in enumerate(articles):
            voices: dict[str, set[str]] = defaultdict(set)
            for name, voice in article.uses:
                voices[name].add(voice)
            for frame in sorted(voices.keys() - done):
                if "own" not in voices[frame]:
                    quoted[frame].append(article.id)
                    continue
                if "own" not in article.strong_voices(frame):
                    continue  # its own use rests on one weak cue: neither a shift nor quoting
                done.add(frame)  # used plainly from the start (index < minimum): no shift
                if index >= SHIFT_MIN_PRIOR:
                    camp = camps.get(article.group or "") or None
                    yield _shift(outlet, frame, article, index, quoted[frame],
                                 typical_of.get(frame, ()), camp)  # fmt: skip


def _shift(
    outlet: str,
    frame: str,
    article: TimelineArticle,
    index: int,
    quoted: list[int],
    typical: Sequence[str],
    camp: str | None,
) -> FlagDraft:
    silent = index - len(quoted)
    cross = bool(typical) and camp is not None and camp not in typical
    score = math.log2(1 + index) * (CROSS_CAMP_WEIGHT if cross else 1.0)
    camp_note = f" The frame is typical of {', '.join(typical)} outlets." if cross else ""
    return FlagDraft(
        key=f"source_shift:{frame}:{outlet}", kind="source_shift", frame=frame,
        source=outlet, article_ids=(article.id, *quoted[-3:]),
        first_seen_at=article.when, score=round(score, 2),
        statistic=f"{outlet} used {frame} in its own voice for the first time on "
        f"{article.when:%Y-%m-%d}, after {index} articles in the story in which it "
        f"quoted it ({len(quoted)}) or did not use it ({silent}).{camp_note}"
        f"{carried_note([article])}",
    )  # fmt: skip


def distancing(
    ordered: Sequence[TimelineArticle], since: datetime | None = None
) -> Iterable[FlagDraft]:
    """Per outlet and frame, its habit (plain or scare-quoted) and the moments it flips
    (from ``since`` on: the habit is followed from the start, flags made from then)."""
    for outlet, articles in _by_outlet(ordered).items():
        habit: dict[str, tuple[str, TimelineArticle]] = {}
        for article in articles:
            for frame in sorted({name for name, _ in article.uses}):
                voices = article.voices(frame)
                now = "distanced" if "distanced" in voices else "plain" if "own" in voices else None
                if now is None:
                    continue
                before = habit.get(frame)
                if (
                    before is not None
                    and before[0] != now
                    and (since is None or article.when >= since)
                ):
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


def surges(
    ordered: Sequence[TimelineArticle], tz: ZoneInfo, first_day: date | None = None
) -> Iterable[FlagDraft]:
    days: dict[date, list[TimelineArticle]] = defaultdict(list)
    for article in ordered:
        days[article.when.astimezone(tz).date()].append(article)
    # articles using each frame, per day: a day's base is the sum of its previous days'
    counts = {day: Counter(name for a in today for name in {n for n, _ in a.uses})
              for day, today in days.items()}  # fmt: skip
    for day in sorted(days):
        if first_day is not None and day < first_day:
            continue
        before = [d for d in _previous_days(day) if d in days]
        base_n = sum(len(days[d]) for d in before)
        if base_n < SURGE_MIN_BASE:
            continue
        base_counts: Counter[str] = Counter()
        for d in before:
            base_counts.update(counts[d])
        for frame, k in sorted(counts[day].items()):
            draft = _surge(frame, day, days[day], k, base_counts[frame], base_n)
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
        f"days; binomial p = {p:.1e}.{carried_note(a for a in today if a.id in ids)}",
    )  # fmt: skip


def carried_note(articles: Iterable[TimelineArticle]) -> str:
    """ " Wire reports counted once: ..." naming who else carried them, or nothing."""
    notes = [
        f"{a.outlet}'s report also carried by {len(a.carriers)} "
        f"({', '.join(sorted(set(a.carriers)))})"
        for a in articles
        if a.carriers
    ]
    return f" Wire reports counted once: {'; '.join(notes)}." if notes else ""


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
