"""Emerging phrases: own-voice extraction, the log-odds statistic, and the flags in the
store (SQLite and PostgreSQL) — counted after dedup, backfill equal to live."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import settings_from_mapping
from ingest.flags.emerging import (
    PhraseFire,
    baseline_start,
    day_block,
    fire_flags,
    frequent_phrases,
    log_odds_z,
    phrase_fires,
    recent_blocks,
)
from ingest.flags.emerging import emerging_phrases as compute_emerging
from ingest.flags.refresh import refresh_flags
from ingest.framing.codebook import story_codebook
from ingest.framing.phrases import extract_phrases, own_voice, phrase_sentences, run_phrases
from ingest.model.flags import TimelineArticle
from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.run import ingest_article
from storage import frames, repo
from storage.db import unit_of_work
from storage.models import Article, Flag
from tests.conftest import run_cli, write_config
from tests.support import phrase_month

TZ = ZoneInfo("Europe/Minsk")
MATCH = [StoryMatch("belarus-prisoners", ())]
NOW = datetime(2026, 6, 1, tzinfo=UTC)

# ------------------------------------------------------------------------ extraction


def test_own_voice_leaves_out_quotes_reported_speech_and_scare_quotes() -> None:
    text = (
        "Officials moved the detainees by night bus to the border.\n"
        'An aide said the buses were "a humane night corridor for everyone".\n'
        "The ministry called it a routine transfer, but the families learned of it late.\n"
        "According to lawyers, the night bus ran twice.\n"
        "The so-called orderly departure took four hours.\n"
        "— We drove them ourselves, — the driver recalled."
    )
    phrases = extract_phrases("Night bus to the border", text, "en")
    assert {"night bus", "officials moved", "families learned"} <= phrases
    assert not {p for p in phrases if "corridor" in p or "humane" in p}  # quoted
    assert "routine transfer" not in phrases  # after a verb of saying
    assert "families learned" in phrases  # ... which a contrastive "but" ends
    assert "lawyers" not in phrases and "ran twice" not in phrases  # source marker
    assert "orderly departure" not in phrases and "orderly" not in phrases  # scare marker
    assert "drove" not in phrases  # dash speech
    assert "took four hours" not in phrases and "four hours" in phrases


def test_phrases_skip_stopwords_and_numbers_at_the_edges() -> None:
    found = run_phrases(("the", "night", "bus", "of", "the", "52", "guards", "at", "2025"))
    assert found == {"night", "bus", "night bus", "guards"}
    assert run_phrases(("of", "the", "and")) == set()
    assert run_phrases(("12", "500")) == set()
    assert "prisoners of conscience" in run_phrases(("prisoners", "of", "conscience"))


def test_cyrillic_phrases_are_folded_and_speech_is_left_out() -> None:
    ru = extract_phrases(
        "Ночной конвой пересёк границу",
        "По словам охраны, это «обычный рейс». Семьи узнали о переезде позже.",
        "ru",
    )
    assert {"ночной конвой", "пересек границу", "семьи узнали"} <= ru  # ё folded to е
    assert not {p for p in ru if "рейс" in p or "охраны" in p}
    be = extract_phrases(
        "Шэрая зона на мяжы", "Ён сказаў, што гэта «часовая мера». Шэрая зона пустая.", "be"
    )
    assert {"шэрая зона", "зона пустая"} <= be
    assert not {p for p in be if "мера" in p or "часовая" in p}


def test_speaker_headlines_and_the_lede_limit() -> None:
    assert not own_voice("Envoy: The airlift will continue", "", "en")
    body = "\n".join(f"Paragraph {n} mentions mark{chr(96 + n)}." for n in range(1, 15))
    found = extract_phrases("Title words", body, "en")
    assert "markj" in found and "markk" not in found  # headline + 10 body sentences


def test_phrase_sentences_find_own_voice_uses_only() -> None:
    text = 'Guards said "the night bus is safe". The night bus left at dawn.'
    assert phrase_sentences("Update", text, "en", "night bus") == ["The night bus left at dawn."]


# ------------------------------------------------------------------------ statistic


def test_log_odds_z_matches_the_formula() -> None:
    y_i, n_i, y_j, n_j, share = 8, 1000, 2, 12000, 0.1
    a_w, a_0 = share * (y_i + y_j), share * (n_i + n_j)
    delta = math.log((y_i + a_w) / (n_i + a_0 - y_i - a_w)) - math.log(
        (y_j + a_w) / (n_j + a_0 - y_j - a_w)
    )
    expected = delta / math.sqrt(1 / (y_i + a_w) + 1 / (y_j + a_w))
    assert abs(log_odds_z(y_i, n_i, y_j, n_j, share) - expected) < 1e-12
    assert log_odds_z(8, 1000, 0, 0, share) == 0.0  # no baseline: no evidence of change
    assert log_odds_z(8, 1000, 96, 12000, share) < 0.5  # same rate as before
    assert log_odds_z(20, 1000, 0, 12000, share) > log_odds_z(8, 1000, 0, 12000, share)


def _timeline(
    rows: list[tuple[int, int, str, tuple[str, ...]]],
) -> tuple[list[TimelineArticle], dict[str, list[int]], dict[int, int]]:
    """(id, day, outlet, phrases) rows with 20 filler phrases each."""
    t0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    timeline = [
        TimelineArticle(i, o, None, t0 + timedelta(days=d, minutes=i), ()) for i, d, o, _ in rows
    ]
    uses: dict[str, list[int]] = {}
    for i, _, _, phrases in rows:
        for p in phrases:
            uses.setdefault(p, []).append(i)
    return timeline, uses, {i: 20 for i, _, _, _ in rows}


def test_the_longest_phrase_is_kept_and_overlaps_are_joined() -> None:
    rows = [(i, i % 95, f"o{i % 3}", ()) for i in range(1, 400)]
    burst = ("forced", "exile", "forced exile", "exile without", "without papers",
             "forced exile without", "exile without papers")  # fmt: skip
    rows += [(1000 + k, 96, f"o{k % 3}", burst) for k in range(10)]
    timeline, uses, totals = _timeline(rows)
    phrases = {d.phrase for d in compute_emerging(timeline, uses, totals, TZ)}
    assert phrases == {"forced exile without papers"}


def test_covered_phrases_and_single_outlets_do_not_fire() -> None:
    rows = [(i, i % 95, f"o{i % 3}", ()) for i in range(1, 400)]
    rows += [(1000 + k, 96, f"o{k % 3}", ("hostage trade",)) for k in range(10)]
    rows += [(2000 + k, 96, "solo", ("solo phrase",)) for k in range(10)]
    timeline, uses, totals = _timeline(rows)
    fired = {d.phrase for d in compute_emerging(timeline, uses, totals, TZ)}
    assert fired == {"hostage trade"}  # "solo phrase": 10 uses, but one outlet
    covered = compute_emerging(timeline, uses, totals, TZ, lambda p: "hostage" in p)
    assert covered == []


def test_a_phrase_fires_once_per_baseline_period() -> None:
    rows = [(i, i % 200, f"o{i % 3}", ()) for i in range(1, 800)]
    rows += [(1000 + k, 96 + k // 4, f"o{k % 3}", ("night bus",)) for k in range(20)]
    rows += [(2000 + k, 199, f"o{k % 3}", ("night bus",)) for k in range(30)]
    timeline, uses, totals = _timeline(rows)
    days = sorted(d.key.rsplit(":", 1)[1] for d in compute_emerging(timeline, uses, totals, TZ))
    assert len(days) == 2 and days[0] < "2025-09-15" < days[1]  # quiet for 90 days between


def test_emerging_phrases_since_a_day_equal_the_full_flags_from_then_on() -> None:
    """An incremental refresh computes emerging phrases from a day on: from the phrases
    frequent in the blocks of days before it only (``frequent_phrases``), and with the
    fires before it as stored (``PhraseFire.stored``: quiet periods, longest phrase) from
    the uses since ``baseline_start`` only. Phrases spread over their window, a longer
    phrase that silences its parts and a phrase in its quiet period still come out."""
    rows = [(i, i % 95, f"o{i % 3}", ()) for i in range(1, 400)]
    # blocks of days begin on days 98, 105 and 112 here; three uses on each of two days
    spread = [(400, "night bus", (104, 105)), (410, "forced exile", (99, 105)),
              (420, "exile", (110, 111)), (430, "night bus", (115, 116))]  # fmt: skip
    rows += [(base + k, days[k // 3], f"o{k % 3}", (phrase,))
             for base, phrase, days in spread for k in range(6)]  # fmt: skip
    timeline, uses, totals = _timeline(rows)
    full = compute_emerging(timeline, uses, totals, TZ)
    assert {d.key.split(":")[1] for d in full} == {"night bus", "forced exile"}
    assert len(full) == 2  # night bus is quiet on day 116, exile inside forced exile
    all_fires = phrase_fires(timeline, uses, totals, TZ)
    phrases = {i: p for i, _, _, p in rows}
    day_of = {a.id: a.when.astimezone(TZ).date() for a in timeline}
    blocks: dict[int, list[tuple[str, ...]]] = {}
    for a in timeline:
        blocks.setdefault(day_block(day_of[a.id]), []).append(phrases[a.id])
    for day in range(90, 120):
        since = date(2025, 6, 1) + timedelta(days=day)  # as in _timeline
        expected = [d for d in full if d.key.rsplit(":", 1)[1] >= since.isoformat()]

        def recent(since: date, window_before: bool) -> dict[str, list[int]]:
            first = recent_blocks(since, window_before)
            frequent = frequent_phrases((b, blocks[b]) for b in sorted(blocks) if b >= first)
            return {p: ids for p, ids in uses.items() if p in frequent}

        assert compute_emerging(timeline, recent(since, True), totals, TZ, since=since) == (
            expected
        ), day
        earlier = [PhraseFire.restored(f.stored()) for f in all_fires if f.day < since]
        last = {f.phrase: f.day for f in earlier}
        start = baseline_start(since)
        assert start == since - timedelta(days=96)
        bounded = {p: [i for i in ids if day_of[i] >= start]
                   for p, ids in recent(since, False).items()}  # fmt: skip
        later = phrase_fires(timeline, bounded, totals, TZ, since, last)
        assert [f.stored() for f in later] == [f.stored() for f in all_fires if f.day >= since]
        assert fire_flags(timeline, earlier + later, TZ, since=since) == expected, day


# ------------------------------------------------------------------------ in the store


def _settings(url: str):  # type: ignore[no-untyped-def]
    return settings_from_mapping({"database": {"url": url}})


def _sources(session: Session, items: list[phrase_month.Item]) -> dict[str, int]:
    specs = {(i.outlet, i.group) for i in items}
    return repo.sync_sources(
        session,
        [repo.SourceSpec(o, "feed", f"http://{o}/", g) for o, g in sorted(specs)],
        phrase_month.T0,
    )


def _item(item: phrase_month.Item) -> ArticleItem:
    url = f"http://{item.outlet}/{item.n}"
    return ArticleItem(
        url=url, canonical_url=url, source=item.outlet, outlet=item.outlet,
        fetched_at=item.when, title=item.title, summary="", text=item.text,
        published_at=item.when, language=item.language,
    )  # fmt: skip


def _copies() -> list[phrase_month.Item]:
    """Wire copies: 'border shuttle corridor' in 3 original reports and 5 near-copies of
    the first one (counted once after dedup: 3 uses, below the minimum of 5)."""
    rng = random.Random(7)
    words = ["lawyers", "relatives", "monitors", "counted", "visited", "listed", "archives"]

    def long_text(seed: int) -> str:
        rng.seed(seed)
        filler = " ".join(
            " ".join(rng.choice(words) for _ in range(6)).capitalize() + "." for _ in range(12)
        )
        return f"Officials opened the border shuttle corridor overnight. {filler}"

    day = 111
    items = [
        phrase_month.Item(5000 + k, day, o, g, "en", "Belarus prisoners update", long_text(k))
        for k, (o, g) in enumerate([("wire.example", "western"), ("herald.example", "western"),
                                    ("daily.example", "western")])
    ]  # fmt: skip
    original = items[0].text
    items += [
        phrase_month.Item(5100 + k, day, o, g, "en", "Belarus prisoners update",
                          f"{original} Copy note {k}.")
        for k, (o, g) in enumerate([("herald.example", "western"), ("daily.example", "western")]
                                   * 2 + [("herald.example", "western")])
    ]  # fmt: skip
    return items


def _ingest(store: sessionmaker[Session], items: list[phrase_month.Item]) -> None:
    story = _settings("sqlite://").active_stories[0]
    codebooks = {story.name: story_codebook(story)}
    with unit_of_work(store) as session:
        sources = _sources(session, phrase_month.month() + _copies() + _framed())
        for item in items:
            ingest_article(session, _item(item), sources[item.outlet], MATCH, codebooks=codebooks)


def _flags(store: sessionmaker[Session]) -> dict[str, tuple[datetime, tuple[int, ...]]]:
    with unit_of_work(store) as session:
        rows = session.scalars(select(Flag).where(Flag.kind == "emerging_phrase"))
        return {f.key: (f.first_seen_at, tuple(f.article_ids)) for f in rows}


def test_emerging_phrases_in_the_store_backfill_equals_live(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    items = sorted(phrase_month.month() + _copies(), key=lambda i: (i.when, i.n))
    settings = _settings(database_url)
    start = phrase_month.MONTH_START
    _ingest(store, [i for i in items if i.day < start])  # the quiet quarter, at once
    refresh_flags(settings, store, NOW)
    for day in range(start, phrase_month.DAYS):  # live: the month day by day
        _ingest(store, [i for i in items if i.day == day])
        refresh_flags(settings, store, NOW)
    live = _flags(store)
    with unit_of_work(store) as session:
        copies = session.scalar(
            select(func.count()).select_from(Article).where(Article.duplicate_of.is_not(None))
        )
        corridor = len(
            frames.phrase_articles(session, "belarus-prisoners", "border shuttle corridor")
        )
        session.execute(Flag.__table__.delete())
    assert copies == 5 and corridor == 8  # stored for every copy, counted once
    refresh_flags(settings, store, NOW)  # backfill: the whole month at once
    assert _flags(store) == live
    expected = {
        f"emerging_phrase:{phrase}:{(phrase_month.T0 + timedelta(days=day)).date()}"
        for phrase, day in phrase_month.FIRES.items()
    }
    assert set(live) == expected

    config = write_config(tmp_path / "fw.toml", database_url, [])
    listed = run_cli(
        "--config", str(config), "flags", "--kind", "emerging_phrase", "--format", "jsonl"
    )
    assert listed.code == 0, listed.err
    flags = {f["phrase"]: f for f in map(json.loads, listed.out.splitlines())}
    airlift = flags["prisoner airlift"]
    assert airlift["status"] == "new" and airlift["kind"] == "emerging_phrase"
    assert "in 10 articles from 3 outlets" in airlift["statistic"]
    assert "against 0 in the previous 90 days" in airlift["statistic"]
    assert "z = 3." in airlift["statistic"]
    assert len(airlift["evidence"]) == 3
    assert all("prisoner airlift" in e.casefold() and "http://" in e for e in airlift["evidence"])
    assert "ночной конвой" in flags and "шэрая зона" in flags


def _stored_flags(store: sessionmaker[Session]) -> dict[str, tuple[object, ...]]:
    with unit_of_work(store) as session:
        return {
            f.key: (f.kind, f.first_seen_at, tuple(f.article_ids), f.score, f.statistic,
                    tuple(f.evidence), f.status, f.note)
            for f in session.scalars(select(Flag))
        }  # fmt: skip


def _framed() -> list[phrase_month.Item]:
    """Articles using frames, for the frame flags: herald quotes "hostages" three times,
    then says it (source_shift); state media puts "political prisoners" in scare quotes
    (distancing); six outlets call a release a pardon on one day (surge)."""
    quoted = 'An exiled activist said: "They are hostages, traded for sanctions relief."'
    own = "Belarus holds these people as hostages and trades them, group by group."
    rows = [
        (72, "herald.example", quoted),
        (75, "herald.example", quoted),
        (78, "herald.example", quoted),
        (84, "herald.example", own),
        (80, "state.example", "The political prisoners were moved to another colony."),
        (88, "state.example", 'The so-called "political prisoners" were moved again.'),
    ]
    rows += [(100, outlet, f"Minsk granted a pardon to {k + 3} people, the {word} said.")
             for k, (outlet, word) in enumerate([
                 ("wire.example", "wire"), ("herald.example", "herald"),
                 ("daily.example", "daily"), ("state.example", "agency"),
                 ("mirror.example", "mirror"), ("echo.example", "echo")])]  # fmt: skip
    groups = {"herald.example": "western", "wire.example": "western", "daily.example": "western",
              "state.example": "ru_state", "mirror.example": "ru_independent",
              "echo.example": "ru_independent"}  # fmt: skip
    return [phrase_month.Item(6000 + k, day, outlet, groups[outlet], "en",
                              f"Belarus prisoners: report {k}", text)
            for k, (day, outlet, text) in enumerate(rows)]  # fmt: skip


def test_incremental_refresh_equals_full_recompute(
    store: sessionmaker[Session], database_url: str
) -> None:
    """Each refresh recomputes only from the earliest timeline day that changed; with
    every fifth article arriving three days late, the flags are still those a full
    recompute gives, and the analyst's reviews stay."""
    items = sorted(phrase_month.month() + _copies() + _framed(), key=lambda i: (i.when, i.n))
    settings = _settings(database_url)
    first = phrase_month.MONTH_START - 20
    _ingest(store, [i for i in items if i.day < first])
    refresh_flags(settings, store, NOW)
    late = {i.n for i in items if i.n % 5 == 0 and i.day >= first}
    reviewed: dict[str, str] = {}
    for day in range(first, phrase_month.DAYS + 3):
        _ingest(store, [i for i in items if i.day >= first and (
            (i.day == day and i.n not in late) or (i.day == day - 3 and i.n in late))])  # fmt: skip
        refresh_flags(settings, store, NOW)
        if day in (86, 112):  # the newest flags: recomputed by the next refreshes
            with unit_of_work(store) as session:
                newest = frames.list_flags(session, statuses=["new"], limit=2)
                for flag, status in zip(newest, ("reviewed", "dismissed"), strict=True):
                    flag.status, flag.note = status, f"checked on day {day}"
                    reviewed[flag.key] = status
    incremental = _stored_flags(store)
    kinds = {flag[0] for flag in incremental.values()}
    assert kinds == {"first_seen", "source_shift", "distancing", "surge", "emerging_phrase"}
    assert len(reviewed) == 4
    assert all(incremental[key][6] == status for key, status in reviewed.items())
    assert refresh_flags(settings, store, NOW, full=True) == 0
    assert _stored_flags(store) == incremental
    with unit_of_work(store) as session:
        session.execute(Flag.__table__.delete())
    refresh_flags(settings, store, NOW)  # deleted: recomputed whole (as new)
    fresh = _stored_flags(store)
    assert {k: v[:6] for k, v in fresh.items()} == {k: v[:6] for k, v in incremental.items()}
