"""The one path every item takes: normalise -> story relevance -> exact dedup -> store.

Feeds, spiders and backfills call :func:`ingest_item`; nothing else writes articles.
Running it again on the same item changes nothing (idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ingest.config import StorySettings
from ingest.extract import extract_article
from ingest.items import Article, RawItem, StoryMatch
from ingest.normalize import normalize_item
from ingest.relevance import match_article
from storage import repo

log = logging.getLogger(__name__)

# Outcomes, as counted in poll reports and the fetch log.
STORED = "stored"
DUPLICATE = "duplicate"
IRRELEVANT = "irrelevant"


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # stored | duplicate | irrelevant
    article_id: int | None = None
    matched_by: str | None = None  # for duplicates: canonical_url | guid | content_hash
    new_sighting: bool = False


def prepare_item(raw: RawItem) -> Article:
    """Pure part of the path: extract the page (if fetched) and normalise."""
    extracted = extract_article(raw.html, raw.final_url or raw.url) if raw.html else None
    return normalize_item(raw, extracted)


def ingest_item(
    session: Session,
    raw: RawItem,
    source_id: int,
    stories: Sequence[StorySettings],
) -> IngestOutcome:
    """Walk one raw item to the store within the caller's unit of work."""
    article = prepare_item(raw)
    matches = match_article(stories, article.title, f"{article.summary}\n{article.text}")
    if not matches:
        repo.remember_seen(
            session, article.canonical_url, source_id, article.guid, "no story", raw.fetched_at
        )
        return IngestOutcome(IRRELEVANT)
    return store_article(session, article, source_id, matches)


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
    log.debug("item %s", status, extra={"article_id": article_id, "url": article.canonical_url})
    return IngestOutcome(status, article_id, None if status == STORED else matched_by, new_sighting)


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
