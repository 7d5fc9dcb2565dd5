"""`framewatch frames promote`: an emerging phrase becomes a frame in the story's user
codebook (created beside the config, extending the built-in one), stored coverage is
rescored, and the new frame's history starts at its first use. Run as a user runs it."""

from __future__ import annotations

import hashlib
import json
import random
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.edit import point_story_at
from ingest.config.settings import load_settings, settings_from_mapping
from ingest.flags.refresh import refresh_flags
from ingest.framing.codebook import (
    builtin_codebook_dir,
    frame_text,
    load_codebook,
    parse_codebook,
    story_codebook,
)
from ingest.model.errors import ConfigError
from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.run import ingest_article
from storage import repo
from storage.db import unit_of_work
from storage.models import Flag
from tests.conftest import run_cli, write_config

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
MATCH = [StoryMatch("belarus-prisoners", ())]
OUTLETS = ("wire.example", "herald.example", "daily.example")
WORDS = ["lawyers", "relatives", "monitors", "diplomats", "counted", "visited", "listed",
         "compared", "documents", "archives", "budgets", "hearings", "slowly", "quietly",
         "again", "formally"]  # fmt: skip
BURST_DAY = 95


def _text(rng: random.Random, sentences: int) -> str:
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(5)).capitalize() + "." for _ in range(sentences)
    )


def _items() -> list[ArticleItem]:
    """A quiet quarter (long reports every other day), then 'prisoner airlift' in the
    outlets' own voice in 8 reports from 3 outlets on one day (quoted once before)."""
    rng = random.Random(11)
    rows: list[tuple[int, str, str]] = [
        (day, OUTLETS[day % 3], _text(rng, 12)) for day in range(0, 90, 2)
    ]
    rows.append((20, "herald.example", "Rights groups count over a thousand political prisoners."))
    rows.append(
        (40, "wire.example", 'A pilot said: "the prisoner airlift is a rumour, nothing more".')
    )
    subjects = ["officials", "guards", "monitors", "envoys", "pilots", "lawyers", "relatives",
                "diplomats"]  # fmt: skip
    verbs = ["watched", "tracked", "counted", "planned", "timed", "delayed", "logged", "sped"]
    rows += [  # the same phrase among other words each time
        (BURST_DAY, OUTLETS[k % 3], f"{subjects[k].capitalize()} {verbs[(3 * k) % 8]} "
         f"prisoner airlift {WORDS[(5 * k) % 16]}. " + _text(rng, 2))
        for k in range(8)
    ]  # fmt: skip
    items = []
    for n, (day, outlet, text) in enumerate(rows):
        when = T0 + timedelta(days=day, minutes=n)
        items.append(ArticleItem(
            url=f"http://{outlet}/{n}", canonical_url=f"http://{outlet}/{n}", source=outlet,
            outlet=outlet, fetched_at=when, title="Belarus prisoners update", summary="",
            text=text, published_at=when, language="en",
        ))  # fmt: skip
    return items


def _prepare(store: sessionmaker[Session], database_url: str) -> None:
    settings = settings_from_mapping({"database": {"url": database_url}})
    story = settings.active_stories[0]
    codebooks = {story.name: story_codebook(story)}
    with unit_of_work(store) as session:
        specs = [repo.SourceSpec(o, "feed", f"http://{o}/", "western") for o in OUTLETS]
        sources = repo.sync_sources(session, specs, T0)
        for item in _items():
            ingest_article(session, item, sources[item.outlet], MATCH, codebooks=codebooks)
    refresh_flags(settings, store, datetime(2026, 1, 1, tzinfo=UTC))


def _flag_id(store: sessionmaker[Session], kind: str, **where: str) -> int:
    with unit_of_work(store) as session:
        query = select(Flag.id).where(Flag.kind == kind)
        for key, value in where.items():
            query = query.where(getattr(Flag, key) == value)
        found = session.scalar(query)
    assert found is not None, f"no {kind} flag {where}"
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_promote_adds_the_frame_and_rescores(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    _prepare(store, database_url)
    builtin = builtin_codebook_dir() / "belarus-prisoners.toml"
    before = _digest(builtin)
    config = write_config(tmp_path / "fw.toml", database_url, [])
    flag_id = _flag_id(store, "emerging_phrase", phrase="prisoner airlift")
    shift_id = _flag_id(store, "first_seen")

    done = run_cli("--config", str(config), "frames", "promote", str(flag_id), "--as",
                   "prisoner_airlift")  # fmt: skip
    assert done.code == 0, done.err
    user = tmp_path / "belarus-prisoners.codebook.toml"
    assert str(user) in done.out and "articles rescored" in done.out
    assert _digest(builtin) == before  # the built-in codebook is never edited
    data = tomllib.loads(user.read_text("utf-8"))
    assert data["extends"] == "belarus-prisoners"
    assert data["frames"]["prisoner_airlift"]["cues"] == {"en": ["prisoner airlift"]}
    story = load_settings(config).active_stories[0]
    assert story.codebook == user.name
    codebook = load_codebook(story.codebook, tmp_path)
    assert codebook.frame_names()[-1] == "prisoner_airlift" and len(codebook.frames) == 13

    listed = run_cli("--config", str(config), "flags", "--format", "jsonl", "--limit", "1000")
    flags = [json.loads(line) for line in listed.out.splitlines()]
    promoted = next(f for f in flags if f["id"] == flag_id)
    assert promoted["status"] == "promoted" and "prisoner_airlift" in promoted["note"]
    first = next(f for f in flags if f["kind"] == "first_seen" and f["frame"] == "prisoner_airlift")
    # its history starts at its first use: the quoted mention on day 40
    assert first["first_seen_at"].startswith((T0 + timedelta(days=40)).date().isoformat())
    usage = run_cli("--config", str(config), "frames", "--format", "json")
    row = next(r for r in json.loads(usage.out) if r["frame"] == "prisoner_airlift")
    assert row["own"] == 8 and row["quoted"] == 1 and row["outlets"] == 3

    again = run_cli("--config", str(config), "frames", "promote", str(flag_id), "--as", "other")
    assert again.code == 2 and "already promoted" in again.err
    clash = run_cli("--config", str(config), "frames", "promote", str(shift_id), "--as", "x")
    assert clash.code == 2 and "only emerging_phrase flags" in clash.err


def test_promote_refuses_clashes_and_the_builtin_file(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    _prepare(store, database_url)
    flag_id = _flag_id(store, "emerging_phrase", phrase="prisoner airlift")
    config = write_config(tmp_path / "fw.toml", database_url, [])
    clash = run_cli("--config", str(config), "frames", "promote", str(flag_id), "--as",
                    "hostage_diplomacy")  # fmt: skip
    assert clash.code == 2 and "frame 'hostage_diplomacy' already exists" in clash.err
    missing = run_cli("--config", str(config), "frames", "promote", "999999", "--as", "x")
    assert missing.code == 2 and "no flag with id 999999" in missing.err
    with pytest.raises(ConfigError, match="lowercase letters"):
        frame_text("Bad-Name", "", {"en": ["prisoner airlift"]})
    assert not (tmp_path / "belarus-prisoners.codebook.toml").exists()  # nothing left behind
    builtin = builtin_codebook_dir() / "belarus-prisoners.toml"
    before, config_text = (
        _digest(builtin),
        (
            f'[database]\nurl = "{database_url}"\n\n[[stories]]\nname = "belarus-prisoners"\n'
            f'query = "belarus*"\ncodebook = "{builtin}"\n'
        ),
    )
    config.write_text(config_text, "utf-8")
    refused = run_cli("--config", str(config), "frames", "promote", str(flag_id), "--as", "airlift")
    assert refused.code == 2 and "never edits" in refused.err
    assert _digest(builtin) == before and config.read_text("utf-8") == config_text
    with unit_of_work(store) as session:
        flag = session.get(Flag, flag_id)
        assert flag is not None and flag.status == "new"


def test_user_codebooks_extend_without_redefining(tmp_path: Path) -> None:
    text = ('format = 1\nname = "mine"\nextends = "belarus-prisoners"\n\n'
            '[frames.night_bus]\ncues.en = ["night bus*"]\n')  # fmt: skip
    codebook = parse_codebook(text, "mine.toml")
    assert codebook.frame_names()[0] == "political_prisoners"
    assert codebook.frame_names()[-1] == "night_bus" and codebook.language("ru") is not None
    builtin = load_codebook("builtin:belarus-prisoners")
    assert codebook.fingerprint != builtin.fingerprint  # stored frames get rescored
    redefined = text.replace("night_bus", "hostage_diplomacy")
    with pytest.raises(ConfigError, match="already defined in the codebook it extends"):
        parse_codebook(redefined, "mine.toml")
    (tmp_path / "base.toml").write_text(text, "utf-8")
    (tmp_path / "top.toml").write_text(
        'format = 1\nname = "top"\nextends = "base.toml"\n[frames.ferry]\ncues.en = ["ferry"]\n',
        "utf-8",
    )
    assert load_codebook("top.toml", tmp_path).frame_names()[-2:] == ("night_bus", "ferry")


def test_point_story_at_edits_only_the_codebook_key() -> None:
    listed = ('[database]\nurl = "sqlite:///a.db"\n\n[[stories]]\nname = "other"\n'
              'query = "x"\n\n[[stories]]\nname = "belarus-prisoners"  # the default story\n'
              'query = "belarus*"\ncodebook = "builtin:belarus-prisoners"\n\n[schedule]\n'
              'poll_every = "5m"\n')  # fmt: skip
    edited = tomllib.loads(point_story_at(listed, "belarus-prisoners", "bp.toml"))
    assert [s.get("codebook") for s in edited["stories"]] == [None, "bp.toml"]
    assert edited["schedule"] == {"poll_every": "5m"}
    implicit = tomllib.loads(point_story_at('[database]\nurl = "sqlite:///a.db"\n',
                                            "belarus-prisoners", "bp.toml"))  # fmt: skip
    assert implicit["stories"][0]["codebook"] == "bp.toml"
    assert "lukashenk*" in implicit["stories"][0]["query"]  # the built-in query, spelled out
    with pytest.raises(ConfigError, match="not in the config file"):
        point_story_at(listed, "missing-story", "bp.toml")
