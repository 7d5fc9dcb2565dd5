"""Keeping stored frames and flags up to date: rescoring, recomputing flags, and
promoting an emerging phrase to a frame."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ingest.config.edit import point_story_at
from ingest.config.settings import DEFAULT_GROUPS, Settings, StorySettings, load_settings
from ingest.flags.emerging import (
    PhraseFire,
    baseline_start,
    day_block,
    fire_flags,
    frequent_phrases,
    phrase_fires,
    recent_blocks,
)
from ingest.flags.rules import (
    compute_flags,
    day_digests,
    day_start,
    first_changed_day,
    frame_changes,
)
from ingest.framing.codebook import (
    Codebook,
    builtin_codebook_dir,
    codebook_path,
    frame_text,
    load_codebook,
    story_codebook,
    user_codebook_text,
)
from ingest.framing.detect import find_mentions, scoring_version
from ingest.framing.phrases import PHRASES_VERSION, phrase_sentences
from ingest.framing.reading import frame_article
from ingest.model.errors import ConfigError, NotFoundError
from ingest.model.flags import FlagDraft, TimelineArticle
from ingest.model.frames import EVIDENCE_CHARS
from ingest.model.items import Article as ArticleItem
from storage import frames, versions
from storage.db import unit_of_work

log = logging.getLogger(__name__)
RESCORE_BATCH = 200
EXAMPLES = 3
FLAGS_VERSION = "2"  # bump when flag rules change: stored flags are then recomputed whole
UNCHANGED = datetime.max.replace(tzinfo=UTC)  # no timeline day changed: only frame_change


def refresh_flags(
    settings: Settings, factory: sessionmaker[Session], now: datetime, full: bool = False
) -> int:
    """Bring every story's flags up to date with its timeline; returns how many flags
    are new. Only what changed is recomputed: the flags from the earliest timeline day
    whose articles changed since the last refresh (see ``_refresh_story``); ``full``
    recomputes them all (after a rescore: every article changed anyway)."""
    added_total = 0
    for story in settings.active_stories:
        added, removed = _refresh_story(settings, factory, story, now, full)
        added_total += added
        if added or removed:
            log.info("flags: %d new, %d withdrawn", added, removed, extra={"story": story.name})
    return added_total


def _inputs(codebook: Codebook, tz: ZoneInfo, camps: dict[str, str]) -> str:
    """What flags depend on besides the timeline: when it changes, all are recomputed."""
    facts: tuple[object, ...] = (
        FLAGS_VERSION, PHRASES_VERSION, scoring_version(codebook), tz.key,
        sorted((f.name, tuple(f.typical_of)) for f in codebook.frames),
    )  # fmt: skip
    if camps != DEFAULT_GROUPS:  # the default leaves stored fingerprints as they were
        facts += (sorted(camps.items()),)
    return hashlib.sha256(repr(facts).encode()).hexdigest()


def _refresh_story(
    settings: Settings,
    factory: sessionmaker[Session],
    story: StorySettings,
    now: datetime,
    full: bool,
) -> tuple[int, int]:
    """A flag depends only on its timeline day and the days before, so after comparing
    each day's digest with the one stored at the last refresh, the flags before the
    earliest changed day are kept as they are. What the digests cover is read first:
    anything changed after that is seen as a change by the next refresh."""
    tz = ZoneInfo(settings.schedule.timezone)
    codebook = story_codebook(story, settings.config_dir)
    typical = {frame.name: frame.typical_of for frame in codebook.frames}
    camps = settings.group_camps
    inputs = _inputs(codebook, tz, camps)
    with unit_of_work(factory) as session:
        state = frames.lock_flag_state(session, story.name)
        timeline = frames.story_timeline(session, story.name)
        totals = frames.phrase_totals(session, story.name)
        histories = versions.story_histories(session, story.name)
        edits = {h.article_id: len(h.revisions) for h in histories}
        days = day_digests(timeline, {a.id: (totals.get(a.id), edits.get(a.id)) for a in timeline},
                           tz)  # fmt: skip
        drafts = list(frame_changes(histories))
        whole = full or state.inputs != inputs or state.flags_now < state.flags
        start = None if whole else first_changed_day(state.days, days)
        since = UNCHANGED if not whole and start is None else None
        fires = state.fires
        if since is None:  # something changed: recompute from ``start`` (None: all)
            since = day_start(start, tz) if start is not None else None
            drafts += compute_flags(timeline, typical, tz, since, camps)
            phrases = _phrase_flags(session, story.name, timeline, totals, codebook, tz, start,
                                    fires if start is not None else [])  # fmt: skip
            drafts += phrases.drafts
            fires = [list(f) for f in phrases.fires]
        result = frames.save_flags(session, story.name, drafts, now, since)
        frames.save_flag_state(session, story.name, inputs, days, fires, now)
    return result


@dataclass(frozen=True)
class _PhraseFlags:
    drafts: list[FlagDraft]
    fires: list[tuple[str, str, int]]  # every day a phrase fired, to store


def _phrase_flags(
    session: Session,
    story: str,
    timeline: Sequence[TimelineArticle],
    totals: dict[int, int],
    codebook: Codebook,
    tz: ZoneInfo,
    since: date | None,
    stored: Sequence[Sequence[Any]],
) -> _PhraseFlags:
    """Emerging-phrase drafts from ``since`` on (None: all), each with example sentences
    from its latest articles. Fires before ``since`` are as ``stored``; after it, only
    phrases that can fire (``frequent_phrases``, from their blocks of days) are followed,
    through the days their statistic reads (``baseline_start``)."""
    earlier = [f for f in map(PhraseFire.restored, stored) if since is None or f.day < since]
    day_of = {a.id: a.when.astimezone(tz).date() for a in timeline}
    uses = _candidate_uses(session, story, day_of, since)
    last_fires: dict[str, date] = {}
    for fire in earlier:
        last_fires[fire.phrase] = max(fire.day, last_fires.get(fire.phrase, fire.day))
    fires = earlier + phrase_fires(timeline, uses, totals, tz, since, last_fires)

    def covered(phrase: str) -> bool:  # a cue of the codebook matches within the phrase
        return bool(find_mentions(codebook, phrase, "", None))

    drafts = fire_flags(timeline, fires, tz, covered, since)
    texts = frames.article_texts(session, [i for d in drafts for i in d.article_ids])
    drafts = [replace(d, evidence=_examples(d, texts)) for d in drafts]
    return _PhraseFlags(drafts, [f.stored() for f in fires])


def _candidate_uses(
    session: Session, story: str, day_of: dict[int, date], since: date | None
) -> dict[str, list[int]]:
    """Phrase -> the timeline articles using it, for the phrases that can fire from
    ``since`` on: read block by block to find them, then the uses they need."""
    blocks: dict[int, list[int]] = defaultdict(list)
    for article_id, day in day_of.items():
        blocks[day_block(day)].append(article_id)
    first = recent_blocks(since, window_before=False) if since else min(blocks, default=0)
    candidates = frequent_phrases(
        (b, (p for _, p in frames.article_phrases(session, story, blocks[b])))
        for b in sorted(blocks) if b >= first
    )  # fmt: skip
    uses: dict[str, list[int]] = defaultdict(list)
    if not candidates:
        return uses
    if since is None:
        rows = frames.article_phrases(session, story)
    else:
        start = baseline_start(since)
        rows = frames.article_phrases(session, story, [i for i, d in day_of.items() if d >= start])
    for article_id, phrases in rows:
        if article_id in day_of:
            for phrase in candidates.intersection(phrases):
                uses[phrase].append(article_id)
    return uses


def _examples(
    draft: FlagDraft, texts: dict[int, tuple[str, str, str | None, str]]
) -> tuple[str, ...]:
    """Up to EXAMPLES sentences using the phrase, one per outlet-article, with the link."""
    examples: list[str] = []
    for article_id in draft.article_ids:
        if article_id not in texts or draft.phrase is None:
            continue
        title, text, language, url = texts[article_id]
        sentences = phrase_sentences(title, text, language, draft.phrase)
        if sentences:
            examples.append(f"{sentences[0][:EVIDENCE_CHARS]} ({url})")
        if len(examples) == EXAMPLES:
            break
    return tuple(examples)


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
    refresh_flags(settings, factory, datetime.now(UTC), full=True)
    return done


def _rescore_story(
    settings: Settings,
    factory: sessionmaker[Session],
    story: StorySettings,
    on_batch: Callable[[int], None] | None,
) -> int:
    codebook = story_codebook(story, settings.config_dir)
    version = frames.reading_version(scoring_version(codebook), PHRASES_VERSION)
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


# ------------------------------------------------------------------------ promote


@dataclass(frozen=True)
class Promotion:
    flag_id: int
    story: str
    frame: str
    phrase: str
    codebook: Path  # the user codebook the frame was added to
    created: bool  # the user codebook was created (and the config now points at it)
    rescored: int


def promote_flag(
    settings: Settings, factory: sessionmaker[Session], flag_id: int, name: str
) -> Promotion:
    """Add an emerging phrase as a frame to its story's user codebook (created beside
    the config file on first use, extending the built-in one, which is never edited),
    point the story at it, mark the flag promoted and rescore stored coverage."""
    if settings.source_path is None:
        raise ConfigError("frames promote needs a config file (--config or ./framewatch.toml): "
                          "the story's user codebook is written beside it")  # fmt: skip
    config = Path(settings.source_path)
    with unit_of_work(factory) as session:
        flag = session.get(frames.Flag, flag_id)
        if flag is None:
            raise NotFoundError(f"no flag with id {flag_id}; `framewatch flags` lists them")
        if flag.kind != "emerging_phrase" or not flag.phrase:
            raise ConfigError(f"flag {flag_id} is a {flag.kind} flag: only emerging_phrase "
                              "flags can be promoted to frames")  # fmt: skip
        if flag.status == "promoted":
            raise ConfigError(f"flag {flag_id} was already promoted ({flag.note or ''})")
        phrase, story_name, day = flag.phrase, flag.story, flag.first_seen_at
        languages = frames.article_languages(session, list(flag.article_ids))
    story = next((s for s in settings.active_stories if s.name == story_name), None)
    if story is None:
        raise ConfigError(f"flag {flag_id} belongs to story {story_name!r}, not configured")
    codebook = story_codebook(story, settings.config_dir)
    if name in codebook.frame_names():
        raise ConfigError(f"frame {name!r} already exists in the codebook of {story.name} "
                          f"({codebook.source}); choose another name")  # fmt: skip
    codes = sorted(languages) or sorted({c.language for f in codebook.frames for c in f.cues})
    description = f'Promoted from emerging-phrase flag {flag_id}: "{phrase}" ({day:%Y-%m-%d}).'
    addition = frame_text(name, description, {code: [phrase] for code in codes})
    path, created = _write_frame(story, codebook, config, addition)
    with unit_of_work(factory) as session:
        flag = session.get(frames.Flag, flag_id)
        assert flag is not None
        flag.status, flag.note = "promoted", f"promoted as frame {name} ({path.name})"
    done = rescore(load_settings(config), factory)
    return Promotion(flag_id, story.name, name, phrase, path, created, done)


def _write_frame(
    story: StorySettings, codebook: Codebook, config: Path, addition: str
) -> tuple[Path, bool]:
    """Append the frame to the story's user codebook, creating it (and pointing the
    config at it) when the story uses a built-in one. Everything is restored on error."""
    if codebook.builtin:
        path = config.parent / f"{story.name}.codebook.toml"
        if path.exists():
            raise ConfigError(f"{path} exists but the story {story.name} does not use it: "
                              f'set codebook = "{path.name}" in its [[stories]] table, '
                              "or move the file")  # fmt: skip
        old_codebook = None
        new_codebook = user_codebook_text(story.name, codebook.name) + addition
    else:
        user_path = codebook_path(story.codebook, config.parent)
        assert user_path is not None
        path = user_path
        if path.resolve().is_relative_to(builtin_codebook_dir()):
            raise ConfigError(f"the story {story.name} uses the built-in codebook file {path}, "
                              "which framewatch never edits: point it at a user codebook with "
                              f'extends = "{codebook.name}"')  # fmt: skip
        old_codebook = path.read_text("utf-8")
        new_codebook = old_codebook.rstrip("\n") + "\n" + addition
    old_config = config.read_text("utf-8")
    try:
        path.write_text(new_codebook, "utf-8")
        load_codebook(str(path))  # the frame is valid before anything points at it
        if old_codebook is None:
            config.write_text(point_story_at(old_config, story.name, path.name), "utf-8")
            load_settings(config)
    except BaseException:
        config.write_text(old_config, "utf-8")
        if old_codebook is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(old_codebook, "utf-8")
        raise
    return path, old_codebook is None
