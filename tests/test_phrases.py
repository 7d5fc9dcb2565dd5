"""Emerging phrases: own-voice extraction, the log-odds statistic, and the flags in the
store (SQLite and PostgreSQL) — counted after dedup, backfill equal to live."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.config import settings_from_mapping
from ingest.flags import TimelineArticle
from ingest.items import Article as ArticleItem
from ingest.items import StoryMatch
from ingest.novelty import refresh_flags
from ingest.phrases import emerging_phrases as compute_emerging
from ingest.phrases import (
    extract_phrases,
    log_odds_z,
    own_voice,
    phrase_sentences,
    run_phrases,
)
from ingest.pipeline import ingest_article
from ingest.stories import story_codebook
from storage import repo
from storage.db import unit_of_work
from storage.models import Article, ArticlePhrase, Flag
from tests import phrase_month
from tests.conftest import run_cli, write_config

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
        sources = _sources(session, phrase_month.month() + _copies())
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
        corridor = session.scalar(
            select(func.count())
            .select_from(ArticlePhrase)
            .where(ArticlePhrase.phrase == "border shuttle corridor")
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
