"""Edits as signal: a feed entry whose headline changes is fetched again, the earlier
version is kept with its frames, the article is re-framed, and a frame_change flag says
what changed ("pardoned" becoming "expelled"). A local HTTP server plays the outlet."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings, load_settings
from ingest.demo.webfixture import FixtureServer
from ingest.fetch.client import Fetcher
from ingest.flags.refresh import refresh_flags
from ingest.flags.rules import frame_changes
from ingest.model.flags import ArticleHistory, Revision
from ingest.sources.poll import poll_feeds
from storage.db import unit_of_work
from storage.models import Article, ArticleFrame, ArticleVersion, Flag
from storage.versions import lede
from tests.conftest import DATA, run_cli, write_config

FEED = "/edits/feed.xml"
PAGE = "/edits/articles/fourteen.html"
OTHER = "/edits/articles/ward.html"
OLD_TITLE = "Fourteen political prisoners pardoned in Belarus"
NEW_TITLE = "Belarus expels fourteen political prisoners to Lithuania"
OLD_LEDE = ("Fourteen political prisoners were pardoned in Belarus on Friday and walked out of a "
            "penal colony near Minsk in the early afternoon.")  # fmt: skip
NEW_LEDE = ("Fourteen political prisoners were expelled from Belarus on Friday and driven to the "
            "Lithuanian border without their passports.")  # fmt: skip


def _settings(tmp_path: Path, url: str, base: str) -> Settings:
    feed = {"name": "ledger", "url": f"{base}{FEED}", "fetch_articles": True, "group": "western"}
    return load_settings(write_config(tmp_path / "fw.toml", url, [feed]))


def _fetcher(settings: Settings) -> Fetcher:
    f = settings.fetch
    return Fetcher(f.user_agent, f.timeout_s, f.max_bytes, f.allow_private_addresses)


def _edit(web: FixtureServer) -> None:
    """The outlet rewrites the story: new headline in the feed and on the page."""
    feed = (DATA / FEED.lstrip("/")).read_text("utf-8")
    page = (DATA / PAGE.lstrip("/")).read_text("utf-8")
    web.overrides[FEED] = feed.replace(OLD_TITLE, NEW_TITLE).encode()
    web.overrides[PAGE] = page.replace(OLD_TITLE, NEW_TITLE).replace(OLD_LEDE, NEW_LEDE).encode()


def _frames(session: Session, article_id: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(ArticleFrame.frame, ArticleFrame.voice).where(ArticleFrame.article_id == article_id)
    )
    return {(frame, voice) for frame, voice in rows}


def test_an_edited_entry_keeps_its_earlier_version_and_flags_the_frame_change(
    fresh_web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, database_url, fresh_web.base_url)
    with _fetcher(settings) as fetcher:
        first = poll_feeds(settings, store, fetcher)
        assert first.feeds[0].stored == 2
        again = poll_feeds(settings, store, fetcher)  # nothing changed: nothing refetched
        assert len(fresh_web.requests_for(PAGE)) == 1
        _edit(fresh_web)
        poll_feeds(settings, store, fetcher)
        assert len(fresh_web.requests_for(PAGE)) == 2  # the edited entry, fetched again
        assert len(fresh_web.requests_for(OTHER)) == 1  # the unchanged one, not
        feed = fresh_web.overrides[FEED]
        fresh_web.overrides[FEED] = feed.replace(b"</channel>", b"<!-- rebuilt --></channel>")
        poll_feeds(settings, store, fetcher)  # new feed bytes, same entries
        assert len(fresh_web.requests_for(PAGE)) == 2 and len(fresh_web.requests_for(OTHER)) == 1
    assert again.feeds[0].stored == 0
    with unit_of_work(store) as session:
        article = session.scalar(select(Article).where(Article.canonical_url.endswith(PAGE)))
        assert article is not None and article.title == NEW_TITLE
        assert article.text.startswith(NEW_LEDE)
        versions = list(session.scalars(select(ArticleVersion)))
        assert len(versions) == 1  # the unchanged fourth poll added none
        old = versions[0]
        assert (old.article_id, old.title, old.lede) == (article.id, OLD_TITLE, OLD_LEDE)
        assert {"story": "belarus-prisoners", "frame": "humanitarian_pardon", "voice": "own",
                "evidence": OLD_TITLE} in old.frames  # fmt: skip
        assert old.fetched_at == article.fetched_at and old.replaced_at > old.fetched_at
        now = _frames(session, article.id)
        assert ("forced_exile", "own") in now and ("humanitarian_pardon", "own") not in now
        flag = session.scalar(select(Flag).where(Flag.kind == "frame_change"))
        assert flag is not None and flag.status == "new" and flag.article_ids == [article.id]
        assert "Frames added: forced_exile (own); removed: humanitarian_pardon (own)" in (
            flag.statistic
        )
        assert f'"{OLD_TITLE}" became "{NEW_TITLE}"' in flag.statistic
        assert flag.evidence == [f"before: {OLD_TITLE}", f"after: {NEW_LEDE}"]
        key = flag.key
        session.execute(Flag.__table__.delete())
    refresh_flags(settings, store, datetime(2026, 1, 1, tzinfo=UTC))  # recomputed: the same
    listed = run_cli("--config", str(tmp_path / "fw.toml"), "flags", "--kind", "frame_change",
                     "--format", "jsonl")  # fmt: skip
    assert listed.code == 0, listed.err
    flags = [json.loads(line) for line in listed.out.splitlines()]
    assert [f["frame"] for f in flags] == ["forced_exile"]
    with unit_of_work(store) as session:
        assert session.scalar(select(Flag.key).where(Flag.kind == "frame_change")) == key


def test_an_edit_that_keeps_the_frames_is_no_flag() -> None:
    when = datetime(2025, 11, 14, 12, tzinfo=UTC)
    frames = (("forced_exile", "own", "They were expelled."),)
    same = ArticleHistory(1, "a.example", (
        Revision(7, "Expelled", "They were expelled.", frames, when),
        Revision(None, "Expelled, updated", "They were expelled, the lawyers said.", frames, None),
    ))  # fmt: skip
    assert list(frame_changes([same])) == []
    quoted = (("forced_exile", "quoted", "“They were expelled,” a lawyer said."),)
    voice = ArticleHistory(1, "a.example", (same.revisions[0], Revision(
        None, "Lawyer: they were expelled", "x", quoted, None)))  # fmt: skip
    [flag] = frame_changes([voice])
    assert "added: forced_exile (quoted); removed: forced_exile (own)" in flag.statistic


def test_lede_is_the_first_paragraph_capped() -> None:
    assert lede("\n  First  line here.\nSecond.") == "First line here."
    assert len(lede("word " * 200)) == 300
