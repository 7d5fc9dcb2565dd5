"""Flags on a story's timeline: each kind fires on the day it should, and nothing else."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.config.settings import load_settings
from ingest.flags.emerging import day_block, emerging_phrases, frequent_phrases, recent_blocks
from ingest.flags.rules import (
    binomial_tail,
    compute_flags,
    day_digests,
    day_start,
    first_changed_day,
)
from ingest.framing.codebook import story_codebook
from ingest.framing.phrases import extract_phrases
from ingest.model.flags import TimelineArticle
from tests.support import phrase_month

T0 = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Minsk")
TYPICAL = {"hostage_diplomacy": ("independent", "western"), "humanitarian_pardon": ("state",)}


def _a(i: int, day: int, outlet: str, group: str, *uses: tuple[str, str]) -> TimelineArticle:
    return TimelineArticle(i, outlet, group, T0 + timedelta(days=day, minutes=i), tuple(uses))


def _month() -> list[TimelineArticle]:
    """A month of coverage with a voice adoption on day 10, a scare quote on day 12 and a
    surge of 'humanitarian_pardon' on day 25."""
    rows = []
    i = 0
    for day in range(0, 30):
        i += 1  # background: one plain article a day from a wire
        rows.append(_a(i, day, "wire.example", "western", ("political_prisoners", "own")))
    for day in (2, 4, 6):  # herald quotes 'hostages' three times, then adopts it on day 10
        i += 1
        rows.append(_a(i, day, "herald.example", "western", ("hostage_diplomacy", "quoted")))
    i += 1
    rows.append(_a(i, 10, "herald.example", "western", ("hostage_diplomacy", "own")))
    i += 1  # state media: plain 'political prisoners' on day 3, scare quotes from day 12
    rows.append(_a(i, 3, "state.example", "by_state", ("political_prisoners", "own")))
    i += 1
    rows.append(_a(i, 12, "state.example", "by_state", ("political_prisoners", "distanced")))
    for n in range(6):  # day 25: six articles call the release mercy
        i += 1
        rows.append(_a(i, 25, f"outlet{n}.example", "by_state", ("humanitarian_pardon", "own")))
    return rows


def _keys(timeline: list[TimelineArticle]) -> dict[str, datetime]:
    return {d.key: d.first_seen_at for d in compute_flags(timeline, TYPICAL, TZ)}


def test_each_kind_fires_on_its_day() -> None:
    flags = _keys(_month())
    assert flags["first_seen:hostage_diplomacy"].date() == (T0 + timedelta(days=2)).date()
    assert (
        flags["source_shift:hostage_diplomacy:herald.example"].date()
        == (T0 + timedelta(days=10)).date()
    )
    distancing = [k for k in flags if k.startswith("distancing:political_prisoners:state.example")]
    assert len(distancing) == 1 and flags[distancing[0]].date() == (T0 + timedelta(days=12)).date()
    surge_day = (T0 + timedelta(days=25)).astimezone(TZ).date().isoformat()
    assert f"surge:humanitarian_pardon:{surge_day}" in flags
    assert not [k for k in flags if k.startswith("surge:political_prisoners")]  # steady, no surge
    assert not [k for k in flags if k.startswith("source_shift:political_prisoners:wire")]


def test_backfill_equals_live() -> None:
    """Flags are a function of the timeline: feeding it day by day, or all at once in any
    order, gives the same flags as of each day."""
    month = _month()
    all_at_once = {d.key: d for d in compute_flags(list(reversed(month)), TYPICAL, TZ)}
    live: dict[str, object] = {}
    for day in range(30):
        upto = [a for a in month if a.when < T0 + timedelta(days=day + 1)]
        for draft in compute_flags(upto, TYPICAL, TZ):
            live.setdefault(draft.key, draft)
    assert set(live) == set(all_at_once)
    assert all(live[k] == all_at_once[k] for k in live)


def test_cross_camp_adoption_scores_higher() -> None:
    own_camp = [
        _a(i, i, "herald.example", "western", ("hostage_diplomacy", "quoted")) for i in range(3)
    ]
    own_camp.append(_a(9, 9, "herald.example", "western", ("hostage_diplomacy", "own")))
    other_camp = [
        _a(i, i, "state.example", "by_state", ("hostage_diplomacy", "quoted")) for i in range(3)
    ]
    other_camp.append(_a(9, 9, "state.example", "by_state", ("hostage_diplomacy", "own")))
    score = {
        d.source: d.score
        for d in compute_flags(own_camp + other_camp, TYPICAL, TZ)
        if d.kind == "source_shift"
    }
    assert score["state.example"] == 2 * score["herald.example"]
    statement = next(
        d.statistic for d in compute_flags(other_camp, TYPICAL, TZ) if d.kind == "source_shift"
    )
    assert "after 3 articles" in statement and "typical of independent, western" in statement


SECOND_STORY = """
[[stories]]
name = "river-dam"
query = "dam AND (river OR reservoir)"
codebook = "dam.codebook.toml"

[groups]
utility_press = "utility"
regional = "residents"
aggregator = ""

[[feeds]]
name = "valley-news"
url = "https://valley.example/rss"
group = "regional"
"""
DAM_CODEBOOK = """
format = 1
name = "river-dam"

[frames.safe_engineering]
description = "the dam as sound engineering"
typical_of = ["utility"]
cues.en = ["safe* dam*"]

[frames.flood_risk]
description = "the dam as a flood risk for the valley"
typical_of = ["residents"]
cues.en = ["flood* risk*"]
"""


def test_a_second_story_scores_shifts_with_its_own_camps(tmp_path: Path) -> None:
    """Another story's config names its own groups and camps; its codebook's typical_of
    names those camps; a frame crossing from one camp to the other scores double."""
    (tmp_path / "dam.codebook.toml").write_text(DAM_CODEBOOK, encoding="utf-8")
    config = tmp_path / "framewatch.toml"
    config.write_text(SECOND_STORY, encoding="utf-8")
    settings = load_settings(config)
    codebook = story_codebook(settings.active_stories[0], settings.config_dir)
    typical = {frame.name: frame.typical_of for frame in codebook.frames}
    timeline = []
    for n, (outlet, group) in enumerate(
        [("valley.example", "regional"), ("power.example", "utility_press"),
         ("feed.example", "aggregator")]
    ):  # fmt: skip
        timeline += [
            _a(10 * n + i, i, outlet, group, ("safe_engineering", "quoted")) for i in range(3)
        ]
        timeline.append(_a(10 * n + 9, 9, outlet, group, ("safe_engineering", "own")))
    shifts = {
        d.source: d
        for d in compute_flags(timeline, typical, TZ, camps=settings.group_camps)
        if d.kind == "source_shift"
    }
    residents, utility = shifts["valley.example"], shifts["power.example"]
    assert residents.score == 2 * utility.score == 2 * shifts["feed.example"].score
    assert "typical of utility outlets" in residents.statistic
    assert "typical of" not in utility.statistic + shifts["feed.example"].statistic
    # with the default groups' camps the story's groups have no camp: no cross-camp weight
    plain = [d for d in compute_flags(timeline, typical, TZ) if d.kind == "source_shift"]
    assert {d.score for d in plain} == {utility.score}


def test_used_plainly_from_the_start_is_not_a_shift() -> None:
    rows = [_a(i, i, "a.example", "western", ("hostage_diplomacy", "own")) for i in range(5)]
    assert not [d for d in compute_flags(rows, TYPICAL, TZ) if d.kind == "source_shift"]


def test_binomial_tail() -> None:
    assert binomial_tail(0, 10, 0.5) == 1.0
    assert abs(binomial_tail(10, 10, 0.5) - 0.5**10) < 1e-12
    assert abs(binomial_tail(5, 10, 0.5) - 0.623046875) < 1e-9


# ------------------------------------------------------------------ emerging phrases
# The month continues in tests/phrase_month.py, after a quiet quarter: new phrases appear
# in English, Russian and Belarusian on known days.


@cache
def _phrases(item: phrase_month.Item) -> frozenset[str]:
    return extract_phrases(item.title, item.text, item.language)


def _phrase_inputs(
    items: list[phrase_month.Item],
) -> tuple[list[TimelineArticle], dict[str, list[int]], dict[int, int]]:
    timeline = [TimelineArticle(i.n, i.outlet, i.group, i.when, ()) for i in items]
    uses: dict[str, list[int]] = {}
    totals: dict[int, int] = {}
    for item in items:
        phrases = _phrases(item)
        totals[item.n] = len(phrases)
        for phrase in phrases:
            uses.setdefault(phrase, []).append(item.n)
    return timeline, uses, totals


def _day(day: int) -> str:
    return (phrase_month.T0 + timedelta(days=day)).astimezone(TZ).date().isoformat()


def test_emerging_phrases_fire_on_their_days_in_three_languages() -> None:
    drafts = emerging_phrases(*_phrase_inputs(phrase_month.month()), TZ)
    fired = {d.phrase: d for d in drafts}
    assert {p: d.key.rsplit(":", 1)[1] for p, d in fired.items()} == {
        phrase: _day(day) for phrase, day in phrase_month.FIRES.items()
    }
    assert not set(phrase_month.SILENT) & set(fired)
    airlift = fired["prisoner airlift"]
    assert airlift.kind == "emerging_phrase" and airlift.frame is None
    assert len(airlift.article_ids) == 10 and airlift.score >= 3.3
    assert "in 10 articles from 3 outlets (daily.example, herald.example, wire.example)" in (
        airlift.statistic
    )


def test_emerging_phrases_backfill_equals_live() -> None:
    items = phrase_month.month()
    timeline, uses, totals = _phrase_inputs(list(reversed(items)))
    all_at_once = {d.key: d for d in emerging_phrases(timeline, uses, totals, TZ)}
    live: dict[str, object] = {}
    for day in range(phrase_month.MONTH_START, phrase_month.DAYS):
        upto = [i for i in items if i.day <= day]
        for draft in emerging_phrases(*_phrase_inputs(upto), TZ):
            live.setdefault(draft.key, draft)
    assert set(live) == set(all_at_once) and len(live) == 3
    assert all(live[k] == all_at_once[k] for k in live)


# ------------------------------------------------------------------ incremental


def test_flags_since_a_day_are_the_full_flags_from_then_on() -> None:
    """What an incremental refresh relies on: a flag depends only on its day and before."""
    month = _month()
    full = compute_flags(month, TYPICAL, TZ)
    for day in range(31):
        since = day_start((T0 + timedelta(days=day)).astimezone(TZ).date(), TZ)
        assert compute_flags(month, TYPICAL, TZ, since) == [
            d for d in full if d.first_seen_at >= since
        ]


def test_emerging_phrases_since_a_day_need_only_recent_frequent_phrases() -> None:
    items = phrase_month.month()
    timeline, uses, totals = _phrase_inputs(items)
    full = emerging_phrases(timeline, uses, totals, TZ)
    assert len(full) == 3
    by_block: dict[int, list[phrase_month.Item]] = {}
    for item in items:
        by_block.setdefault(day_block(item.when.astimezone(TZ).date()), []).append(item)
    for day in range(phrase_month.MONTH_START, phrase_month.DAYS + 1):
        since = (phrase_month.T0 + timedelta(days=day)).astimezone(TZ).date()
        blocks = [(b, [_phrases(i) for i in by_block[b]]) for b in sorted(by_block)
                  if b >= recent_blocks(since)]  # fmt: skip
        frequent = frequent_phrases(blocks)
        recent_uses = {p: ids for p, ids in uses.items() if p in frequent}
        assert emerging_phrases(timeline, recent_uses, totals, TZ, since=since) == [
            d for d in full if d.key.rsplit(":", 1)[1] >= since.isoformat()
        ]


def test_frequent_phrases_count_two_consecutive_blocks() -> None:
    assert frequent_phrases([(1, [{"a"}] * 3), (2, [{"a"}] * 2)]) == {"a"}
    assert frequent_phrases([(1, [{"a"}] * 3), (3, [{"a"}] * 2)]) == set()  # not consecutive
    assert frequent_phrases([(1, [{"a"}] * 3), (2, []), (3, [{"a"}] * 2)]) == set()
    assert frequent_phrases([(5, [{"a", "b"}] * 5)]) == {"a", "b"}


def test_day_digests_find_the_earliest_changed_day() -> None:
    month = _month()
    before = day_digests(month, {}, TZ)
    assert first_changed_day(before, day_digests(list(reversed(month)), {}, TZ)) is None
    late = _a(100, 7, "late.example", "western", ("hostage_diplomacy", "own"))
    day = late.when.astimezone(TZ).date()
    assert first_changed_day(before, day_digests([*month, late], {}, TZ)) == day
    assert first_changed_day(before, day_digests(month, {month[20].id: 5}, TZ)) == (
        month[20].when.astimezone(TZ).date()
    )  # what else the flags read about an article: e.g. its phrases
    edited = [*month[:5], replace(month[5], uses=()), *month[6:]]
    assert first_changed_day(before, day_digests(edited, {}, TZ)) == (
        month[5].when.astimezone(TZ).date()
    )
    assert first_changed_day(before, day_digests(month[1:], {}, TZ)) == (
        month[0].when.astimezone(TZ).date()
    )  # deleted


def test_one_weak_cue_neither_dates_a_frame_nor_shifts_a_voice() -> None:
    """first_seen and source_shift need a strong use: one weak cue (a bare "dialogue")
    in an early article does not set the frame's first day."""
    weak = ("diplomatic_thaw", "own")
    rows = [replace(_a(1, 0, "wire.example", "western", weak), weak=(weak,))]
    rows += [
        _a(i, i, "herald.example", "western", ("diplomatic_thaw", "quoted")) for i in (2, 3, 4)
    ]
    rows.append(replace(_a(5, 5, "herald.example", "western", weak), weak=(weak,)))
    assert "first_seen:diplomatic_thaw" in _keys(rows)  # the quoted uses are strong
    assert _keys(rows)["first_seen:diplomatic_thaw"].date() == (T0 + timedelta(days=2)).date()
    assert "source_shift:diplomatic_thaw:herald.example" not in _keys(rows)
    rows.append(_a(6, 6, "herald.example", "western", ("diplomatic_thaw", "own")))  # strong
    shift = _keys(rows)["source_shift:diplomatic_thaw:herald.example"]
    assert shift.date() == (T0 + timedelta(days=6)).date()
    only_weak = [replace(_a(1, 0, "wire.example", "western", weak), weak=(weak,))]
    assert _keys(only_weak) == {}
