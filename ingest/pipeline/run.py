"""The one path every item takes: normalise -> story relevance -> exact dedup -> store.

Feeds, spiders and backfills call :func:`ingest_item`; nothing else writes articles.
Running it again on the same item changes nothing (idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from ingest.config.settings import StorySettings
from ingest.framing.codebook import Codebook, story_codebook
from ingest.framing.detect import detect_frames, scoring_version
from ingest.framing.phrases import PHRASES_VERSION, extract_phrases
from ingest.model.clusters import EventTerms
from ingest.model.dedup import Signature
from ingest.model.frames import FrameHit
from ingest.model.items import Article, RawItem, StoryMatch
from ingest.pipeline.clusters import WINDOW as CLUSTER_WINDOW
from ingest.pipeline.clusters import best_cluster, event_terms, grow_terms
from ingest.pipeline.dedup import band_hashes, compare, make_signature
from ingest.pipeline.extract import extract_article
from ingest.pipeline.normalize import normalize_item
from ingest.pipeline.relevance import match_article
from storage import frames, neardup, repo, versions

log = logging.getLogger(__name__)

NEAR_DUPLICATE_WINDOW = timedelta(days=30)

# Outcomes, as counted in poll reports and the fetch log.
STORED = "stored"
DUPLICATE = "duplicate"
IRRELEVANT = "irrelevant"
NO_BODY = "no_article_body"


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # stored | duplicate | irrelevant
    article_id: int | None = None
    matched_by: str | None = None  # for duplicates: canonical_url | guid | content_hash
    new_sighting: bool = False
    updated: bool = False  # a stored article came back edited (storage.versions)


@dataclass(frozen=True)
class Reading:
    """What one story's codebook finds in an article: frames and own-voice phrases."""

    version: str  # scoring_version of the codebook that read it
    hits: list[FrameHit]
    phrases: frozenset[str]


@dataclass(frozen=True)
class Prepared:
    """The pure part of the path for one item, computed before the writer takes it (in a
    worker process for large polls). ``matches`` is None when the stories were not
    given; then the writer computes the rest, through the same functions."""

    article: Article
    has_body: bool  # a fetched page had an article body
    matches: tuple[StoryMatch, ...] | None = None
    signature: Signature | None = None
    terms: EventTerms | None = None
    readings: Mapping[str, Reading] = field(default_factory=dict)


def prepare_item(
    raw: RawItem,
    stories: Sequence[StorySettings] | None = None,
    codebook_dir: Path | None = None,
) -> Prepared:
    """Pure part of the path: extract the page (if fetched) and normalise; given the
    stories, also relevance and, for an article on a story, its near-duplicate signature,
    event terms and each story's reading."""
    extracted = extract_article(raw.html, raw.final_url or raw.url) if raw.html else None
    article = normalize_item(raw, extracted)
    has_body = bool(extracted and extracted.text)
    if stories is None:
        return Prepared(article, has_body)
    matches = story_matches(stories, article)
    if not matches:
        return Prepared(article, has_body, matches)
    matched = {m.story for m in matches}
    readings = {
        s.name: read_article(article, story_codebook(s, codebook_dir))
        for s in stories
        if s.name in matched
    }
    return Prepared(
        article,
        has_body,
        matches,
        make_signature(article.text),
        event_terms(article.title, article.text or article.summary),
        readings,
    )


def story_matches(stories: Sequence[StorySettings], article: Article) -> tuple[StoryMatch, ...]:
    """The stories the article belongs to (headline, summary and text)."""
    return tuple(match_article(stories, article.title, f"{article.summary}\n{article.text}"))


def read_article(article: Article, codebook: Codebook) -> Reading:
    """Frames (with voice and evidence) and own-voice phrases under one codebook."""
    body = article.text or article.summary
    return Reading(
        scoring_version(codebook),
        detect_frames(codebook, article.title, body, article.language),
        extract_phrases(article.title, body, article.language),
    )


def ingest_item(
    session: Session,
    raw: RawItem,
    source_id: int,
    stories: Sequence[StorySettings],
    *,
    window: timedelta = NEAR_DUPLICATE_WINDOW,
    codebook_dir: Path | None = None,
    require_body: bool = False,
    prepared: Prepared | None = None,
) -> IngestOutcome:
    """Walk one raw item to the store within the caller's unit of work.

    ``require_body``: a crawled page without an article body is remembered and skipped
    (a feed entry still has its summary, so feeds keep such items).
    ``prepared``: ``prepare_item(raw, stories, codebook_dir)`` when a worker process
    already computed it (or ``prepare_item(raw)``: the writer does the rest).
    """
    ready = prepared or prepare_item(raw, stories, codebook_dir)
    article = ready.article
    if require_body and raw.html is not None and not ready.has_body:
        repo.remember_seen(
            session, article.canonical_url, source_id, article.guid, NO_BODY, raw.fetched_at
        )
        return IngestOutcome(NO_BODY)
    matches = ready.matches
    if matches is None:
        matches = story_matches(stories, article)
    if not matches:
        repo.remember_seen(
            session, article.canonical_url, source_id, article.guid, "no story", raw.fetched_at
        )
        return IngestOutcome(IRRELEVANT)
    matched = {m.story for m in matches}
    codebooks = {s.name: story_codebook(s, codebook_dir) for s in stories if s.name in matched}
    outcome = ingest_article(
        session, article, source_id, matches, window, codebooks, ready if ready.matches else None
    )
    if outcome.article_id is not None:  # what the entry looked like, to notice edits
        digest = versions.entry_digest(raw.title, raw.summary)
        versions.remember_entry(session, source_id, outcome.article_id, digest)
    return outcome


def ingest_article(
    session: Session,
    article: Article,
    source_id: int,
    matches: Sequence[StoryMatch],
    window: timedelta = NEAR_DUPLICATE_WINDOW,
    codebooks: Mapping[str, Codebook] | None = None,
    prepared: Prepared | None = None,
) -> IngestOutcome:
    """Store a normalised, relevant article, link near-copies and its cluster, and record
    the frames it uses for each of its stories. ``prepared``: the pure results for this
    article, computed already (see :func:`prepare_item`)."""
    outcome = store_article(session, article, source_id, matches)
    if outcome.article_id is not None and (outcome.status == STORED or outcome.updated):
        if outcome.status == STORED:
            signature = prepared.signature if prepared else make_signature(article.text)
            original = mark_near_duplicates(session, outcome.article_id, article, window, signature)
            terms = prepared.terms if prepared else None
            assign_cluster(session, outcome.article_id, article, original, matches[0].story, terms)
        for match in matches:  # new, or edited: (re-)frame it
            codebook = (codebooks or {}).get(match.story)
            if codebook is not None:
                reading = prepared.readings.get(match.story) if prepared else None
                frame_article(session, outcome.article_id, article, match.story, codebook, reading)
    return outcome


def frame_article(
    session: Session,
    article_id: int,
    article: Article,
    story: str,
    codebook: Codebook,
    reading: Reading | None = None,
) -> None:
    """Store the frames (with voice and evidence) the article uses for a story, and its
    own-voice phrases, which emerging-phrase flags count (ingest.framing.phrases). ``reading``:
    :func:`read_article` done already; redone if the codebook changed since."""
    if reading is None or reading.version != scoring_version(codebook):
        reading = read_article(article, codebook)
    frames.replace_frames(session, article_id, story, reading.hits, reading.version)
    version = frames.reading_version(reading.version, PHRASES_VERSION)
    frames.replace_phrases(session, article_id, story, reading.phrases, version)


def store_article(
    session: Session, article: Article, source_id: int, matches: Sequence[StoryMatch]
) -> IngestOutcome:
    """Exact dedup then idempotent insert; every further sighting is recorded."""
    existing = repo.find_existing(session, article, source_id)
    matched_by = existing[1] if existing else repo.MATCHED_NEW
    article_id = existing[0] if existing else repo.insert_article(session, article, source_id)
    if article_id is None:
        # Another writer stored the same URL or text between our lookup and insert.
        existing = repo.find_existing(session, article, source_id)
        if existing is None:
            raise RuntimeError(f"insert conflicted but no row found for {article.canonical_url}")
        article_id, matched_by = existing
    new_sighting = repo.add_sighting(
        session, article_id, source_id, article.url, article.guid, matched_by, article.fetched_at
    )
    repo.add_memberships(session, article_id, matches, article.fetched_at)
    status = STORED if matched_by == repo.MATCHED_NEW else DUPLICATE
    # the same URL again with another headline or lede: keep the earlier version
    updated = matched_by in ("canonical_url", "guid") and versions.record_edit(
        session, article_id, source_id, article
    )
    log.debug("item %s", status, extra={"article_id": article_id, "url": article.canonical_url})
    return IngestOutcome(
        status, article_id, None if status == STORED else matched_by, new_sighting, updated
    )


def record_sighting(
    session: Session,
    article_id: int,
    source_id: int,
    url: str,
    guid: str | None,
    seen_at: datetime,
) -> bool:
    """A source carries an article that is already stored under this URL."""
    return repo.add_sighting(session, article_id, source_id, url, guid, "canonical_url", seen_at)


def timeline_date(article: Article) -> datetime:
    """Where an article sits on the story's timeline: published, else first fetched."""
    return article.published_at or article.fetched_at


def mark_near_duplicates(
    session: Session,
    article_id: int,
    article: Article,
    window: timedelta,
    signature: Signature | None = None,
) -> int | None:
    """Link a new article with its near-copies; returns the group's original, if any.
    ``signature``: ``make_signature(article.text)``, computed already.

    The original is the earliest-published copy, whatever order copies arrive in, so a
    backfill links copies exactly as live monitoring would have.
    """
    signature = signature or make_signature(article.text)
    if signature is None:
        return None  # too short to judge: never merged (see ingest.pipeline.dedup)
    neardup.lock_near_duplicates(session)
    when = timeline_date(article)
    bands = band_hashes(signature)
    candidates = neardup.find_candidates(session, bands, when, window)
    neardup.store_signature(session, article_id, signature, bands, when)
    confirmed = [c for c in candidates if compare(signature, c.signature).is_duplicate]
    if not confirmed:
        return None
    members = {article_id} | {c.article_id for c in confirmed}
    members |= {c.duplicate_of for c in confirmed if c.duplicate_of is not None}
    dates = neardup.article_dates(session, members)
    original = min(members, key=lambda member: (dates[member], member))
    neardup.link_duplicates(session, original, sorted(members))
    return original


def assign_cluster(
    session: Session,
    article_id: int,
    article: Article,
    original: int | None,
    story: str,
    terms: EventTerms | None = None,
) -> int:
    """Put the article in its event's cluster (a copy joins its original's). ``terms``:
    its event terms, computed already."""
    when = timeline_date(article)
    cluster_id = (
        neardup.cluster_of(session, original) if original not in (None, article_id) else None
    )
    terms = terms or event_terms(article.title, article.text or article.summary)
    if cluster_id is None:
        candidates = neardup.cluster_candidates(session, when, CLUSTER_WINDOW)
        cluster_id, _score = best_cluster(terms.weights, candidates)
    state = neardup.cluster_state(session, cluster_id) if cluster_id is not None else None
    growth = grow_terms(state, article.title, when, story, terms)
    return neardup.grow_cluster(session, cluster_id, article_id, growth)
