"""Queries and idempotent writes. Upserts use ON CONFLICT on both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ingest.model import items
from storage.models import (
    Article,
    FeedState,
    FetchLog,
    SeenEntry,
    Sighting,
    Source,
    StoryMembership,
)

# Sightings say how an article was recognised; "new" marks the one that created it.
MATCHED_NEW = "new"


def _insert(session: Session, model: type[Any]) -> Any:
    """An INSERT that understands on_conflict_do_nothing on the session's backend."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _insert_ignore(session: Session, stmt: Insert, returning: Any = None) -> Any:
    stmt = stmt.on_conflict_do_nothing()  # type: ignore[attr-defined]
    if returning is not None:
        return session.execute(stmt.returning(returning)).scalar_one_or_none()
    session.execute(stmt)
    return None


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: str
    url: str
    outlet_group: str | None


def sync_sources(session: Session, specs: Sequence[SourceSpec], now: datetime) -> dict[str, int]:
    """Make the sources table follow the config: add new, update changed, deactivate removed.

    Rows of removed sources stay (their articles and history point at them).
    """
    for spec in specs:
        _insert_ignore(
            session,
            _insert(session, Source).values(
                name=spec.name,
                kind=spec.kind,
                url=spec.url,
                outlet_group=spec.outlet_group,
                active=True,
                created_at=now,
            ),
        )
    by_name = {s.name: s for s in session.scalars(select(Source))}
    wanted = {spec.name: spec for spec in specs}
    for name, source in by_name.items():
        current = wanted.get(name)
        source.active = current is not None
        if current is None:
            continue
        source.kind, source.url, source.outlet_group = (
            current.kind,
            current.url,
            current.outlet_group,
        )
        if source.kind == "feed" and source.state is None:
            source.state = FeedState(consecutive_errors=0, error_count=0)
    session.flush()
    return {name: by_name[name].id for name in wanted}


def source_ids(session: Session, names: Sequence[str]) -> dict[str, int]:
    rows = session.execute(select(Source.name, Source.id).where(Source.name.in_(names))).all()
    return {name: source_id for name, source_id in rows}


def feed_states(session: Session, ids: Sequence[int]) -> dict[int, FeedState]:
    states = session.scalars(select(FeedState).where(FeedState.source_id.in_(ids)))
    return {state.source_id: state for state in states}


def feed_state(session: Session, source_id: int) -> FeedState:
    state = session.get(FeedState, source_id)
    if state is None:
        state = FeedState(source_id=source_id, consecutive_errors=0, error_count=0)
        session.add(state)
        session.flush()
    return state


@dataclass(frozen=True)
class EntryKnowledge:
    """What the store already knows about a feed's entries."""

    stored: dict[str, int]  # canonical URL -> article id
    rejected: set[str]  # canonical URLs that matched no story
    guids: set[str]  # GUIDs this source delivered before (stored or rejected)
    sighted: set[int]  # article ids this source has already carried


def known_entries(
    session: Session,
    source_id: int,
    canonical_urls: Iterable[str],
    guids: Iterable[str] = (),
    *,
    by_link: bool = False,
) -> EntryKnowledge:
    """What is stored or rejected among these URLs and GUIDs, and what this source carries.

    ``by_link`` (crawls): also find articles by the link this source had them under, since
    a page whose trusted rel=canonical differs from its link is stored under the canonical.
    """
    urls, guid_list = sorted(set(canonical_urls)), sorted(set(guids))
    stored: dict[str, int] = {}
    rejected: set[str] = set()
    for chunk in _chunks(urls):
        stored.update(
            session.execute(
                select(Article.canonical_url, Article.id).where(Article.canonical_url.in_(chunk))
            ).all()
        )
        if by_link:
            stored.update(
                session.execute(
                    select(Sighting.url, Sighting.article_id).where(
                        Sighting.source_id == source_id, Sighting.url.in_(chunk)
                    )
                ).all()
            )
        rejected |= set(
            session.scalars(
                select(SeenEntry.canonical_url).where(SeenEntry.canonical_url.in_(chunk))
            )
        )
    known_guids: set[str] = set()
    for chunk in _chunks(guid_list):
        for model in (Sighting, SeenEntry):
            known_guids |= {
                g
                for g in session.scalars(
                    select(model.guid).where(model.source_id == source_id, model.guid.in_(chunk))
                )
                if g
            }
    sighted: set[int] = set()
    ids = sorted(set(stored.values()))
    for chunk_ids in _chunks(ids):
        sighted |= set(
            session.scalars(
                select(Sighting.article_id).where(
                    Sighting.source_id == source_id, Sighting.article_id.in_(chunk_ids)
                )
            )
        )
    return EntryKnowledge(stored, rejected, known_guids, sighted)


def _chunks(values: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def find_existing(
    session: Session, article: items.Article, source_id: int
) -> tuple[int, str] | None:
    """Exact dedup: the same canonical URL, the same GUID (in this source, or a global
    URI-style GUID anywhere), or the same normalised text. Returns (article id, rule)."""
    found = session.scalar(select(Article.id).where(Article.canonical_url == article.canonical_url))
    if found is not None:
        return found, "canonical_url"
    if article.guid:
        guid_query = select(Sighting.article_id).where(Sighting.guid == article.guid)
        if not _is_global_guid(article.guid):
            guid_query = guid_query.where(Sighting.source_id == source_id)
        found = session.scalar(guid_query.limit(1))
        if found is not None:
            return found, "guid"
    if article.content_hash:
        found = session.scalar(
            select(Article.id).where(Article.content_hash == article.content_hash)
        )
        if found is not None:
            return found, "content_hash"
    return None


def _is_global_guid(guid: str) -> bool:
    # Only URI-like GUIDs are meaningful across feeds; "12345" means something per feed.
    return guid.startswith(("http://", "https://", "tag:", "urn:"))


def insert_article(session: Session, article: items.Article, source_id: int) -> int | None:
    """Insert; None when a concurrent writer stored the same URL or text first."""
    return _insert_ignore(
        session,
        _insert(session, Article).values(
            canonical_url=article.canonical_url,
            url=article.url,
            guid=article.guid,
            source_id=source_id,
            outlet=article.outlet,
            title=article.title,
            summary=article.summary,
            text=article.text,
            author=article.author,
            published_at=article.published_at,
            fetched_at=article.fetched_at,
            language=article.language,
            content_hash=article.content_hash,
        ),
        returning=Article.id,
    )


def add_sighting(
    session: Session,
    article_id: int,
    source_id: int,
    url: str,
    guid: str | None,
    matched_by: str,
    seen_at: datetime,
) -> bool:
    """Record that a source carried an article; True when this sighting is new."""
    inserted = _insert_ignore(
        session,
        _insert(session, Sighting).values(
            article_id=article_id,
            source_id=source_id,
            url=url,
            guid=guid,
            matched_by=matched_by,
            seen_at=seen_at,
        ),
        returning=Sighting.id,
    )
    return inserted is not None


def add_memberships(
    session: Session, article_id: int, matches: Sequence[items.StoryMatch], now: datetime
) -> None:
    for match in matches:
        _insert_ignore(
            session,
            _insert(session, StoryMembership).values(
                article_id=article_id,
                story=match.story,
                matched_terms=list(match.terms),
                matched_at=now,
            ),
        )


def remember_seen(
    session: Session,
    canonical_url: str,
    source_id: int,
    guid: str | None,
    reason: str,
    now: datetime,
) -> None:
    _insert_ignore(
        session,
        _insert(session, SeenEntry).values(
            canonical_url=canonical_url, source_id=source_id, guid=guid, reason=reason, seen_at=now
        ),
    )


def log_fetch(session: Session, **values: Any) -> None:
    session.add(FetchLog(**values))


def count(session: Session, model: type[Any], *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def stories_by_article(session: Session, article_ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    rows = session.execute(
        select(StoryMembership.article_id, StoryMembership.story)
        .where(StoryMembership.article_id.in_(article_ids))
        .order_by(StoryMembership.story)
    )
    for article_id, story in rows:
        result.setdefault(article_id, []).append(story)
    return result


def source_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Source.id, Source.name)).all())
