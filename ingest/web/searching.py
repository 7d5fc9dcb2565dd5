"""What the search command, the HTTP API and the web page share: reading user input
(query text, time bounds, filter values) into a parsed query and ``SearchFilters``, and
turning hits into output records. Pure: no session, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ingest.config.settings import Settings
from ingest.model.errors import FilterError, FramewatchError, QueryError
from ingest.model.query import Query, parse_query
from ingest.model.query_shape import distinct_leaves, prefix_leaves, simplify_query
from storage.filters import SearchFilters
from storage.search import MAX_LIMIT, SearchHit, highlight_spans, plain

HIT_FIELDS = (
    "id", "url", "title", "outlet", "source", "published_at", "fetched_at", "language",
    "stories", "duplicate_of", "cluster", "frames", "score", "snippet", "highlights",
)  # fmt: skip


@dataclass(frozen=True)
class FilterInput:
    """Filter values as typed (CLI options, query-string parameters, form fields)."""

    since: str | None = None
    until: str | None = None
    sources: Sequence[str] = ()
    outlets: Sequence[str] = ()
    languages: Sequence[str] = ()
    story: str | None = None
    frame: str | None = None
    voice: str | None = None
    cluster: int | None = None
    flagged: bool = False
    include_duplicates: bool = False


MAX_QUERY_CHARS = 2000
MAX_TERMS = 64  # different words and phrases in one search, after folding repeats
MAX_PREFIXES = 16  # different prefix terms (each expands to every word it starts)
MAX_ONE_LETTER_PREFIXES = 1  # a*: every word of a letter, the costliest expansion
# Seconds a search may keep the database busy (storage.search.deadline): the API's
# worker threads stay free for other requests; the CLI waits longer.
API_SEARCH_SECONDS = 1.0
CLI_SEARCH_SECONDS = 30.0


def parse_search(text: str | None) -> Query | None:
    """The parsed query with repeats folded (``ingest.model.query_shape``), or None for
    an empty one (list everything); QueryError if bad or too costly to run."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", text, MAX_QUERY_CHARS)
    if "\x00" in text:
        raise QueryError("NUL character in the query", text, text.index("\x00"))
    query = simplify_query(parse_query(text))
    if (terms := distinct_leaves(query)) > MAX_TERMS:
        raise QueryError(f"{terms} different words and phrases; at most {MAX_TERMS} are "
                         "searched at once", text, 0)  # fmt: skip
    if (prefixes := prefix_leaves(query)) > MAX_PREFIXES:
        raise QueryError(f"{prefixes} different prefix terms (word*); at most {MAX_PREFIXES} "
                         "are searched at once", text, 0)  # fmt: skip
    if prefix_leaves(query, shortest=1) > MAX_ONE_LETTER_PREFIXES:
        raise QueryError("more than one one-letter prefix (a*); give at least two letters "
                         "before the *", text, 0)  # fmt: skip
    return query


def _checked(value: str, name: str) -> str:
    """A filter value as given; NUL characters (which no database stores) are refused."""
    if "\x00" in value:
        raise FilterError(f"{name} contains a NUL character")
    return value.strip()


def parse_time_bound(value: str, name: str, end: bool = False) -> datetime:
    """``2025-09-01`` or an ISO date-time (UTC unless it says otherwise).

    An ``until`` day is inclusive: ``--until 2025-09-30`` ends at midnight after it.
    """
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end and day == date.max:  # the last day there is: up to its last moment
                return datetime.max.replace(tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise FilterError(
            f"{name} {value!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
        ) from None


def _clean(values: Iterable[str], name: str, lower: bool = False) -> tuple[str, ...]:
    cleaned = (_checked(v, name) for v in values)
    return tuple(dict.fromkeys(v.lower() if lower else v for v in cleaned if v))


def _one(value: str | None, name: str) -> str | None:
    return _checked(value, name) or None if value else None


def build_filters(given: FilterInput) -> SearchFilters:
    """Typed filters from typed-in values (time bounds parsed, blanks dropped)."""
    since, until = _one(given.since, "since"), _one(given.until, "until")
    voice = _one(given.voice, "voice")
    return SearchFilters(
        since=parse_time_bound(since, "since") if since else None,
        until=parse_time_bound(until, "until", end=True) if until else None,
        sources=_clean(given.sources, "source"),
        outlets=_clean(given.outlets, "outlet"),
        languages=_clean(given.languages, "language", lower=True),
        story=_one(given.story, "story"),
        frame=_one(given.frame, "frame"),
        voice=voice.lower() if voice else None,
        cluster=given.cluster,
        flagged=given.flagged,
        include_duplicates=given.include_duplicates,
    )


def page_window(limit: int, offset: int | None, page: int | None) -> tuple[int, int]:
    """(limit, offset): the limit capped at MAX_LIMIT; ``page`` is 1-based."""
    if offset is not None and page is not None:
        raise FilterError("give either offset or page, not both")
    if limit < 1:
        raise FilterError(f"limit must be 1 or more (got {limit}); it is capped at {MAX_LIMIT}")
    limit = min(limit, MAX_LIMIT)
    if page is not None:
        if page < 1:
            raise FilterError("page starts at 1")
        return limit, (page - 1) * limit
    if offset is not None and offset < 0:
        raise FilterError("offset must be 0 or more")
    return limit, offset or 0


def story_names(settings: Settings) -> list[str]:
    return [story.name for story in settings.active_stories]


def frame_names(settings: Settings) -> list[str]:
    """The frames of the configured stories' codebooks (none if a codebook cannot load)."""
    from ingest.framing.codebook import load_codebook

    base = None
    if settings.source_path:
        from pathlib import Path

        base = Path(settings.source_path).parent
    names: set[str] = set()
    for story in settings.active_stories:
        try:
            names.update(load_codebook(story.codebook, base).frame_names())
        except FramewatchError:
            continue
    return sorted(names)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def hit_record(hit: SearchHit) -> dict[str, Any]:
    """A hit as a JSON-ready record (``snippet`` as plain text, highlights as offsets)."""
    return {
        "id": hit.id,
        "url": hit.url,
        "title": hit.title,
        "outlet": hit.outlet,
        "source": hit.source,
        "published_at": _iso(hit.published_at),
        "fetched_at": _iso(hit.fetched_at),
        "language": hit.language,
        "stories": hit.stories,
        "duplicate_of": hit.duplicate_of,
        "cluster": hit.cluster,
        "frames": hit.frames,
        "score": hit.score,
        "snippet": plain(hit.snippet),
        "highlights": [list(span) for span in highlight_spans(hit.snippet)],
    }


def safe_link(url: str | None) -> str | None:
    """The URL when it is http(s), else None: only such links are ever rendered."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None
