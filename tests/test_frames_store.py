"""Frames stored per article and flags recomputed in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import settings_from_mapping
from ingest.flags.refresh import refresh_flags, rescore
from ingest.framing.codebook import story_codebook
from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.run import ingest_article
from storage import frames, migrate, repo
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.export import export_records
from storage.models import Article, ArticleFrame, Flag
from tests.conftest import run_cli, write_config

T0 = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
MATCH = [StoryMatch("belarus-prisoners", ())]
QUOTED = (
    'An exiled activist said: "They are hostages, and Minsk is trading them for sanctions relief."'
)
OWN = "Belarus holds these people as hostages and trades them for sanctions relief, group by group."
FILLER = "The report gives the number of those still held and the names of their lawyers."


def _settings(url: str):  # type: ignore[no-untyped-def]
    return settings_from_mapping({"database": {"url": url}})


def _codebooks():  # type: ignore[no-untyped-def]
    story = _settings("sqlite://").active_stories[0]
    return {story.name: story_codebook(story)}


def _article(n: int, day: int, outlet: str, sentence: str) -> ArticleItem:
    when = T0 + timedelta(days=day, minutes=n)
    return ArticleItem(
        url=f"http://{outlet}/{n}", canonical_url=f"http://{outlet}/{n}", source="s",
        outlet=outlet, fetched_at=when, title=f"Belarus report {n}", summary="",
        text=f"{sentence} {FILLER} Item {n} of a series about day {day}.",
        published_at=when, language="en",
    )  # fmt: skip


def _ingest(store: sessionmaker[Session], items: list[ArticleItem]) -> None:
    with unit_of_work(store) as session:
        source = repo.sync_sources(
            session, [repo.SourceSpec("s", "feed", "http://s/", "western")], T0
        )["s"]
        for item in items:
            ingest_article(session, item, source, MATCH, codebooks=_codebooks())


def _series() -> list[ArticleItem]:
    quoted = [_article(i, i * 2, "herald.example", QUOTED) for i in range(1, 4)]
    return [*quoted, _article(9, 10, "herald.example", OWN)]


def test_frames_are_stored_with_voice_and_exported(store: sessionmaker[Session]) -> None:
    _ingest(store, _series())
    with unit_of_work(store) as session:
        rows = session.execute(select(ArticleFrame.frame, ArticleFrame.voice)).all()
        records = {r["url"]: r for r in export_records(session)}
    assert ("hostage_diplomacy", "quoted") in rows and ("hostage_diplomacy", "own") in rows
    own = records["http://herald.example/9"]["frames"]
    assert {"story": "belarus-prisoners", "frame": "hostage_diplomacy", "voice": "own",
            "evidence": OWN} in own  # fmt: skip


def test_flags_backfill_equals_live(store: sessionmaker[Session], database_url: str) -> None:
    settings = _settings(database_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for item in _series():  # live: one article at a time, flags after each
        _ingest(store, [item])
        refresh_flags(settings, store, now)
    with unit_of_work(store) as session:
        live = {
            f.key: (f.first_seen_at, tuple(f.article_ids)) for f in session.scalars(select(Flag))
        }
        shift = session.scalar(select(Flag).where(Flag.kind == "source_shift"))
        assert (
            shift is not None and shift.evidence[0] == OWN and "after 3 articles" in shift.statistic
        )
        session.execute(Flag.__table__.delete())
    refresh_flags(settings, store, now)  # backfill: everything at once
    with unit_of_work(store) as session:
        backfill = {
            f.key: (f.first_seen_at, tuple(f.article_ids)) for f in session.scalars(select(Flag))
        }
    assert live == backfill and "source_shift:hostage_diplomacy:herald.example" in live


def test_recomputing_keeps_reviews_and_never_duplicates(
    store: sessionmaker[Session], database_url: str
) -> None:
    settings = _settings(database_url)
    _ingest(store, _series())
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert refresh_flags(settings, store, now) > 0
    with unit_of_work(store) as session:
        flag = session.scalars(select(Flag).order_by(Flag.id)).first()
        assert flag is not None
        flag.status, flag.note = "dismissed", "not news"
        count = len(frames.list_flags(session))
    assert refresh_flags(settings, store, now) == 0
    with unit_of_work(store) as session:
        assert len(frames.list_flags(session)) == count
        assert frames.list_flags(session, statuses=["dismissed"])[0].note == "not news"


def test_rescore_recomputes_only_outdated_frames(
    store: sessionmaker[Session], database_url: str
) -> None:
    _ingest(store, _series())
    with unit_of_work(store) as session:
        session.execute(ArticleFrame.__table__.update().values(scoring_version="old"))
    assert rescore(_settings(database_url), store) == 4
    assert rescore(_settings(database_url), store) == 0  # already current


def test_flags_cli_lists_and_reviews(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    _ingest(store, _series())
    refresh_flags(_settings(database_url), store, datetime(2026, 1, 1, tzinfo=UTC))
    config = write_config(tmp_path / "fw.toml", database_url, [])
    listed = run_cli(
        "--config", str(config), "flags", "--kind", "source_shift", "--format", "jsonl"
    )
    assert listed.code == 0, listed.err
    shifts = [json.loads(line) for line in listed.out.splitlines()]
    assert {f["frame"] for f in shifts} == {"hostage_diplomacy", "transactional_deal"}
    flag = next(f for f in shifts if f["frame"] == "hostage_diplomacy")
    assert set(flag) >= {"id", "story", "kind", "frame", "phrase", "source", "article_ids",
                         "first_seen_at", "created_at", "score", "status", "evidence"}  # fmt: skip
    assert flag["status"] == "new" and flag["source"] == "herald.example"
    reviewed = run_cli(
        "--config", str(config), "flags", "review", str(flag["id"]), "--note", "seen"
    )
    assert reviewed.code == 0
    again = run_cli("--config", str(config), "flags", "--status", "reviewed", "--format", "json")
    assert json.loads(again.out)[0]["note"] == "seen"
    missing = run_cli("--config", str(config), "flags", "dismiss", "999999")
    assert missing.code == 2 and "no flag with id 999999" in missing.err
    table = run_cli("--config", str(config), "flags", "--kind", "first_seen")
    assert table.code == 0 and "quoted from An exiled" in table.out, table.out  # the voice,
    shifts_table = run_cli("--config", str(config), "flags", "--kind", "source_shift")
    assert "in its own voice" in shifts_table.out  # in plain words
    usage = run_cli("--config", str(config), "frames", "--format", "json")
    hostage = next(r for r in json.loads(usage.out) if r["frame"] == "hostage_diplomacy")
    assert hostage["quoted"] == 3 and hostage["own"] == 1
    assert hostage["adopters"][0]["outlet"] == "herald.example"


def test_flags_recompute_cli(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    _ingest(store, _series())
    config = write_config(tmp_path / "fw.toml", database_url, [])
    first = run_cli("--config", str(config), "flags", "recompute")
    assert first.code == 0, first.err
    assert first.out.startswith("flags recomputed: ") and " 0 new" not in first.out
    again = run_cli("--config", str(config), "flags", "recompute")
    assert again.code == 0 and again.out.strip() == "flags recomputed: 0 new"
    assert run_cli("flags", "recompute", "--help").code == 0


# SQLite's downgrade rebuilds phrase_sets, reflecting the expression index on articles.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_compact_phrases_migration_round_trip(database_url: str) -> None:
    """0010 folds one row per phrase into one value per (article, story), sorted by code
    point; the downgrade splits them out again, every row."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    _ingest(make_session_factory(engine), _series()[:2])
    story = "belarus-prisoners"
    with unit_of_work(make_session_factory(engine)) as session:
        ids = list(session.scalars(select(Article.id).order_by(Article.id)))
        before = dict(frames.article_phrases(session, story, ids))
    assert all(before.values())
    command.downgrade(migrate.alembic_config(engine), "0009")
    phrases = ["Ночной конвой", "hostage", "Éclat", "sanctions relief", "ярлык"]
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT article_id, story, phrase FROM article_phrases"))
        assert sorted(rows) == sorted((i, story, p) for i in ids for p in before[i])
        assert "flag_states" not in conn.dialect.get_table_names(conn)
        conn.execute(text("DELETE FROM article_phrases WHERE article_id = :a"), {"a": ids[0]})
        conn.execute(
            text("INSERT INTO article_phrases (article_id, story, phrase) VALUES (:a, :s, :p)"),
            [{"a": ids[0], "s": story, "p": p} for p in phrases],
        )
    migrate.upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        assert frames.phrase_articles(session, story, "ярлык") == [ids[0]]
        after = dict(frames.article_phrases(session, story, ids))
    assert after == {ids[0]: sorted(phrases), ids[1]: before[ids[1]]}
    engine.dispose()
