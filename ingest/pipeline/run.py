"""The one path every item takes: normalise -> story relevance -> exact dedup -> store
-> near-duplicates, cluster and wire story -> frames; and the end of a batch: flags and
cluster counts.

A :class:`Pipeline` is built once from settings (``Pipeline.from_settings``) by every
producer: feed polls, the spiders' store stage, the service's jobs and the demo. Items go
through :meth:`Pipeline.ingest` (or :meth:`Pipeline.carried` / :meth:`Pipeline.reject`)
within the producer's unit of work; :meth:`Pipeline.finish` ends a batch. Nothing else
writes articles. Running it again on the same item changes nothing (idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings, StorySettings
from ingest.flags.refresh import refresh_flags
from ingest.framing.codebook import Codebook, story_codebook
from ingest.framing.reading import frame_article
from ingest.model.clusters import EventTerms
from ingest.model.dedup import Signature
from ingest.model.items import Article, RawItem, StoryMatch
from ingest.model.wire import WireFeatures
from ingest.pipeline.clusters import WINDOW as CLUSTER_WINDOW
from ingest.pipeline.clusters import best_cluster, event_terms, grow_terms
from ingest.pipeline.dedup import band_hashes, compare, make_signature
from ingest.pipeline.prepare import Prepared, article_wire_features, prepare_item, story_matches
from ingest.pipeline.wire import WINDOW as WIRE_WINDOW
from ingest.pipeline.wire import decide, tell_origin
from storage import crawls, neardup, repo, versions, wire
from storage.db import unit_of_work

log = logging.getLogger(__name__)

NEAR_DUPLICATE_WINDOW = timedelta(days=30)

# Outcomes, as counted in poll reports, crawl stats and the fetch log.
STORED = "stored"
DUPLICATE = "duplicate"
IRRELEVANT = "irrelevant"
NO_BODY = "no_article_body"


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # stored | duplicate | irrelevant | no_article_body
    article_id: int | None = None
    matched_by: str | None = None  # for duplicates: canonical_url | guid | content_hash
    new_sighting: bool = False
    updated: bool = False  # a stored article came back edited (storage.versions)
    cluster_id: int | None = None  # the cluster a new article joined
    wire_story: int | None = None  # the wire story a new article joined


@dataclass
class Pipeline:
    """The item path and the end of a batch, for one configuration.

    A batch is what one producer run stores (a poll, a crawl); ``finish`` brings what
    depends on the whole batch up to date once: the flags of every story (incremental,
    from the earliest changed timeline day) and the outlet counts of the clusters that
    grew. Digests need no bookkeeping here: late arrivals are read from ``fetched_at``
    when the next digest is written."""

    settings: Settings
    factory: sessionmaker[Session]
    stories: tuple[StorySettings, ...]
    window: timedelta = NEAR_DUPLICATE_WINDOW
    codebook_dir: Path | None = None
    changed: int = 0  # articles stored or re-framed since the last finish
    grown_clusters: set[int] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: Settings, factory: sessionmaker[Session]) -> Pipeline:
        return cls(
            settings, factory, settings.active_stories,
            settings.dedup.window_delta, settings.config_dir,
        )  # fmt: skip

    def prepare(self, raw: RawItem) -> Prepared:
        """The pure part (what worker processes run): see :func:`prepare_item`."""
        return prepare_item(raw, self.stories, self.codebook_dir)

    def ingest(
        self,
        session: Session,
        raw: RawItem,
        source_id: int,
        *,
        require_body: bool = False,
        prepared: Prepared | None = None,
    ) -> IngestOutcome:
        """Walk one raw item to the store within the caller's unit of work.

        ``require_body``: a crawled page without an article body is remembered and
        skipped (a feed entry still has its summary, so feeds keep such items).
        ``prepared``: the pure part, when a worker process computed it already."""
        ready = prepared or self.prepare(raw)
        outcome = self._store(session, raw, source_id, ready, require_body)
        if outcome.status == STORED or outcome.updated:
            self.changed += 1
        if outcome.cluster_id is not None:
            self.grown_clusters.add(outcome.cluster_id)
        return outcome

    def _store(
        self, session: Session, raw: RawItem, source_id: int, ready: Prepared, require_body: bool
    ) -> IngestOutcome:
        article = ready.article
        if require_body and raw.html is not None and not ready.has_body:
            repo.remember_seen(
                session, article.canonical_url, source_id, article.guid, NO_BODY, raw.fetched_at
            )
            return IngestOutcome(NO_BODY)
        matches = ready.matches
        if matches is None:
            matches = story_matches(self.stories, article)
        if not matches:
            repo.remember_seen(
                session, article.canonical_url, source_id, article.guid, "no story",
                raw.fetched_at,
            )  # fmt: skip
            return IngestOutcome(IRRELEVANT)
        matched = {m.story for m in matches}
        codebooks = {
            s.name: story_codebook(s, self.codebook_dir) for s in self.stories if s.name in matched
        }
        full = ready if ready.matches else None
        outcome = ingest_article(session, article, source_id, matches, self.window, codebooks, full)
        if outcome.article_id is not None:  # what the entry looked like, to notice edits
            digest = versions.entry_digest(raw.title, raw.summary)
            versions.remember_entry(session, source_id, outcome.article_id, digest)
        return outcome

    def carried(
        self, session: Session, article_id: int, source_id: int, url: str,
        guid: str | None, seen_at: datetime,
    ) -> bool:  # fmt: skip
        """A source carries an article that is stored already: a new sighting?"""
        return repo.add_sighting(
            session, article_id, source_id, url, guid, "canonical_url", seen_at
        )

    def reject(
        self, session: Session, url: str, source_id: int, reason: str, seen_at: datetime
    ) -> None:
        """A page that can never be an article: remembered, so it is not fetched again."""
        crawls.remember_rejected(session, url, source_id, reason, seen_at)

    def finish(self, now: datetime, *, refresh: bool = False) -> int:
        """End a batch: cluster outlet counts, then the flags when anything changed (or
        ``refresh``: after a run that may have died before finishing). New flags."""
        if self.grown_clusters:
            with unit_of_work(self.factory) as session:
                neardup.refresh_outlet_counts(session, sorted(self.grown_clusters))
        new_flags = 0
        if self.changed or refresh:
            new_flags = refresh_flags(self.settings, self.factory, now)
        self.changed, self.grown_clusters = 0, set()
        return new_flags


def ingest_article(
    session: Session,
    article: Article,
    source_id: int,
    matches: Sequence[StoryMatch],
    window: timedelta = NEAR_DUPLICATE_WINDOW,
    codebooks: Mapping[str, Codebook] | None = None,
    prepared: Prepared | None = None,
) -> IngestOutcome:
    """Store a normalised, relevant article, link near-copies, its cluster and wire story,
    and record the frames it uses for each of its stories. ``prepared``: the pure results for this
    article, computed already (see :func:`prepare_item`)."""
    outcome = store_article(session, article, source_id, matches)
    article_id = outcome.article_id
    if article_id is None or not (outcome.status == STORED or outcome.updated):
        return outcome
    if outcome.status == STORED:
        signature = prepared.signature if prepared else make_signature(article.text)
        original = mark_near_duplicates(session, article_id, article, window, signature)
        terms = prepared.terms if prepared else None
        cluster_id = assign_cluster(session, article_id, article, original, matches[0].story, terms)
        features = prepared.wire if prepared and prepared.wire else article_wire_features(article)
        story = assign_wire_story(session, article_id, article, cluster_id, features, original)
        outcome = IngestOutcome(
            outcome.status, article_id, new_sighting=outcome.new_sighting, cluster_id=cluster_id,
            wire_story=story,
        )  # fmt: skip
    for match in matches:  # new, or edited: (re-)frame it
        codebook = (codebooks or {}).get(match.story)
        if codebook is not None:
            reading = prepared.readings.get(match.story) if prepared else None
            frame_article(session, article_id, article, match.story, codebook, reading)
    return outcome


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
    its event terms, computed already. The centroid is computed here; the store receives
    the values."""
    when = timeline_date(article)
    cluster_id = (
        neardup.cluster_of(session, original) if original not in (None, article_id) else None
    )
    terms = terms or event_terms(article.title, article.text or article.summary, article.language)
    if cluster_id is None:
        candidates = neardup.cluster_candidates(session, when, CLUSTER_WINDOW)
        cluster_id, _score = best_cluster(terms.weights, candidates)
    state = neardup.cluster_state(session, cluster_id) if cluster_id is not None else None
    growth = grow_terms(state, article.title, when, story, terms)
    return neardup.grow_cluster(session, cluster_id, article_id, growth)


def assign_wire_story(
    session: Session,
    article_id: int,
    article: Article,
    cluster_id: int,
    features: WireFeatures,
    original: int | None = None,
) -> int | None:
    """Put the article in the wire story of the cluster's article that most surely
    carries the same report (``ingest.pipeline.wire``), if any, and tell the story's
    origin again. ``original``: its near-duplicate group's, whose members are candidates
    too, in whatever cluster. Returns the wire story."""
    neardup.lock_near_duplicates(session)  # one writer decides at a time (held already)
    when = timeline_date(article)
    candidates = wire.wire_candidates(session, cluster_id, when, WIRE_WINDOW)
    if original is not None:
        known = {c.article_id for c in candidates}
        copies = wire.copy_candidates(session, original, article_id)
        candidates += [c for c in copies if c.article_id not in known]
    wire.store_features(session, article_id, cluster_id, when, features)
    decision = decide(features, candidates)
    if decision is None:
        return None
    story_id = wire.join_story(session, article_id, decision.join, cluster_id)
    wire.merge_stories(session, story_id, [s for s in decision.merge if s != story_id])
    members = wire.story_members(session, story_id)
    wire.update_story(session, story_id, tell_origin(members), members)
    return story_id
