"""Keeping stored frames and flags up to date: rescoring and recomputing flags."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ingest.config import Settings, StorySettings
from ingest.flags import compute_flags
from ingest.framing import scoring_version
from ingest.items import Article as ArticleItem
from ingest.pipeline import frame_article
from ingest.stories import story_codebook
from storage import frames
from storage.db import unit_of_work

log = logging.getLogger(__name__)
RESCORE_BATCH = 200


def refresh_flags(settings: Settings, factory: sessionmaker[Session], now: datetime) -> int:
    """Recompute every story's flags from its timeline; returns how many flags are new."""
    tz = ZoneInfo(settings.schedule.timezone)
    added_total = 0
    for story in settings.active_stories:
        codebook = story_codebook(story, settings.config_dir)
        typical = {frame.name: frame.typical_of for frame in codebook.frames}
        with unit_of_work(factory) as session:
            drafts = compute_flags(frames.story_timeline(session, story.name), typical, tz)
            added, removed = frames.save_flags(session, story.name, drafts, now)
        added_total += added
        if added or removed:
            log.info("flags: %d new, %d withdrawn", added, removed, extra={"story": story.name})
    return added_total


def rescore(
    settings: Settings,
    factory: sessionmaker[Session],
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Recompute frames for every stored article whose frames came from another codebook
    version, then the flags. Safe to interrupt and run again: it resumes."""
    done = 0
    for story in settings.active_stories:
        done += _rescore_story(settings, factory, story, on_batch)
    refresh_flags(settings, factory, datetime.now(UTC))
    return done


def _rescore_story(
    settings: Settings,
    factory: sessionmaker[Session],
    story: StorySettings,
    on_batch: Callable[[int], None] | None,
) -> int:
    codebook = story_codebook(story, settings.config_dir)
    version = scoring_version(codebook)
    done, last_id = 0, 0
    while True:
        with unit_of_work(factory) as session:
            batch = frames.articles_to_rescore(session, story.name, version, last_id, RESCORE_BATCH)
            for row in batch:
                item = ArticleItem(
                    url=row.url, canonical_url=row.canonical_url, source="", outlet=row.outlet,
                    fetched_at=row.fetched_at, title=row.title, summary=row.summary,
                    text=row.text, language=row.language,
                )  # fmt: skip
                frame_article(session, row.id, item, story.name, codebook)
        if not batch:
            return done
        done += len(batch)
        last_id = batch[-1].id
        if on_batch:
            on_batch(len(batch))
