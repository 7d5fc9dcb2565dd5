"""Search filters: what a search can be narrowed by, their checks and their SQL.

Every value is checked against what the store holds (:func:`check_filters`) and refused
with the allowed values (``FilterError``), so a typo never silently returns nothing.
Frames are those framing stored (``article_frames``); "flagged" means named by a novelty
flag that was not dismissed (``flags.article_ids``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, exists, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import TextClause, UnaryExpression

from ingest.model.errors import FilterError
from storage.models import Article, ArticleFrame, Cluster, Sighting, Source, StoryMembership

VOICES = ("own", "quoted", "distanced")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_SHOWN = 25  # allowed values listed in an error message
Clause: TypeAlias = ColumnElement[Any] | TextClause


@dataclass(frozen=True)
class SearchFilters:
    since: datetime | None = None  # timeline date (published, else fetched) >= since
    until: datetime | None = None  # timeline date < until
    sources: tuple[str, ...] = ()  # carried by any of these sources (sightings)
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    story: str | None = None
    frame: str | None = None
    voice: str | None = None
    cluster: int | None = None
    flagged: bool = False
    include_duplicates: bool = False  # near-duplicates (duplicate_of set) are hidden


def _listing(values: Iterable[Any]) -> str:
    values = [str(v) for v in values]
    if not values:
        return "none stored yet"
    more = f", … ({len(values) - _SHOWN} more)" if len(values) > _SHOWN else ""
    return ", ".join(values[:_SHOWN]) + more


def _require(kind: str, wanted: Sequence[str], allowed: Sequence[str]) -> None:
    unknown = [value for value in wanted if value not in set(allowed)]
    if unknown:
        raise FilterError(f"unknown {kind} {unknown[0]!r} ({kind}s: {_listing(allowed)})")


def stored_stories(session: Session) -> list[str]:
    return list(session.scalars(select(StoryMembership.story).distinct().order_by("story")))


def stored_frames(session: Session) -> list[str]:
    return list(session.scalars(select(ArticleFrame.frame).distinct().order_by("frame")))


def check_filters(
    session: Session,
    filters: SearchFilters,
    stories: Sequence[str] = (),
    frames: Sequence[str] = (),
) -> None:
    """Refuse values the store cannot match; ``stories``/``frames`` add configured names."""
    if filters.since and filters.until and filters.since >= filters.until:
        raise FilterError("since must be before until")
    if filters.sources:
        names = session.scalars(select(Source.name).order_by(Source.name))
        _require("source", filters.sources, list(names))
    if filters.outlets:
        outlets = session.scalars(select(Article.outlet).distinct().order_by(Article.outlet))
        _require("outlet", filters.outlets, list(outlets))
    for language in filters.languages:
        if not _LANGUAGE.match(language):
            raise FilterError(f"language {language!r} is not a language code (e.g. en, ru, be)")
    if filters.languages:
        stored = session.scalars(
            select(Article.language).where(Article.language.is_not(None)).distinct()
        )
        _require("language", filters.languages, sorted(str(v) for v in stored))
    if filters.story:
        _require("story", [filters.story], sorted({*stories, *stored_stories(session)}))
    if filters.cluster is not None and session.get(Cluster, filters.cluster) is None:
        raise FilterError(f"no cluster {filters.cluster} (see `framewatch clusters`)")
    _check_framing(session, filters, frames)


def _check_framing(session: Session, filters: SearchFilters, frames: Sequence[str]) -> None:
    if filters.voice is not None and filters.voice not in VOICES:
        raise FilterError(f"unknown voice {filters.voice!r} (voices: {', '.join(VOICES)})")
    if filters.frame is not None:
        _require("frame", [filters.frame], sorted({*frames, *stored_frames(session)}))


def timeline_date() -> ColumnElement[Any]:
    """Where an article sits on the story's timeline: published, else fetched."""
    return func.coalesce(Article.published_at, Article.fetched_at)


# Filters that rarely narrow much; a query plan driven by their indexes is usually slow.
BROAD = frozenset({"duplicate_of", "language", "outlet"})
EVERY = BROAD | {"timeline"}


def hidden(column: Any) -> Any:
    """``+column``: the same value, but SQLite will not pick an index for it."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def filter_clauses(
    session: Session, filters: SearchFilters, hide: frozenset[str] = frozenset()
) -> list[Clause]:
    """WHERE clauses for ``filters`` over ``articles`` (values bound, never spliced).

    ``hide`` names filters whose indexes SQLite must not use (``BROAD``, ``"timeline"``),
    so that a plan is driven by the full-text or timeline index instead. Selective
    filters (cluster, source) keep theirs.
    """

    def col(name: str, column: Any) -> Any:
        return hidden(column) if name in hide else column

    clauses: list[Clause] = []
    if not filters.include_duplicates:
        clauses.append(col("duplicate_of", Article.duplicate_of).is_(None))
    if filters.since:
        clauses.append(col("timeline", timeline_date()) >= filters.since)
    if filters.until:
        clauses.append(col("timeline", timeline_date()) < filters.until)
    if filters.outlets:
        clauses.append(col("outlet", Article.outlet).in_(filters.outlets))
    if filters.languages:
        clauses.append(col("language", Article.language).in_(filters.languages))
    if filters.cluster is not None:
        clauses.append(Article.cluster_id == filters.cluster)
    if filters.sources:
        carried = (
            select(Sighting.article_id)
            .join(Source, Source.id == Sighting.source_id)
            .where(Source.name.in_(filters.sources))
        )
        clauses.append(Article.id.in_(carried))
    if filters.story:
        clauses.append(
            exists().where(
                StoryMembership.article_id == Article.id, StoryMembership.story == filters.story
            )
        )
    clauses.extend(_framing_clauses(session, filters))
    return clauses


def _framing_clauses(session: Session, filters: SearchFilters) -> list[Clause]:
    clauses: list[Clause] = []
    if filters.frame is not None or filters.voice is not None:
        framed = select(ArticleFrame.id).where(ArticleFrame.article_id == Article.id)
        if filters.frame is not None:
            framed = framed.where(ArticleFrame.frame == filters.frame)
        if filters.voice is not None:
            framed = framed.where(ArticleFrame.voice == filters.voice)
        clauses.append(framed.exists())
    if filters.flagged:
        clauses.append(hidden(Article.id).in_(_flagged_ids(session)))
    return clauses


def _flagged_ids(session: Session) -> TextClause:
    """Ids named in the ``article_ids`` (a JSON list) of flags that were not dismissed."""
    if session.get_bind().dialect.name == "postgresql":
        ids = "SELECT CAST(json_array_elements_text(article_ids) AS BIGINT) FROM flags"
    else:
        ids = "SELECT CAST(j.value AS INTEGER) FROM flags, json_each(flags.article_ids) AS j"
    return text(f"{ids} WHERE flags.status <> 'dismissed'")
