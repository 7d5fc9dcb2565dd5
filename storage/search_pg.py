"""PostgreSQL's side of ``storage.search``: matches read from ``article_search`` in ranges.

A GIN index says which rows match but not in what order, so "the newest N matches" used
to mean visiting every match (hundreds of thousands in a 1M store) and sorting; walking
the primary key instead tests every row's tsvector until N are found, which is as bad for
rarer words. :func:`newest_ids` reads the key (the article id, or the timeline date) in
ranges from the newest down: each range is answered by the GIN index ANDed with the key's
b-tree, so only matches inside the range are visited; ranges are sized from the planner's
estimate of the matches, then from the matches seen. The rows visited are about the rows
returned, whatever the size of the store. The rows are narrow (see
``storage.search_schema``), so a visit, a phrase check or a rank reads one page.

Filters on what ``article_search`` holds (copies, dates, language) are checked there;
the others join ``articles`` with ``storage.filters``' clauses, unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Select,
    String,
    any_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from ingest.model.query import Query
from storage import fts
from storage.filters import Clause, SearchFilters, filter_clauses
from storage.models import Article
from storage.search_schema import SEARCH_COLUMN, SEARCH_TABLE, TS_CONFIG

SPAN_GROWTH = 4  # a range that found nothing: the next is this many times wider
MARGIN = 1.5  # ranges are sized for this many times the matches still wanted
PROBE_ROWS = 2000  # the first range, walked: the density where reading starts
PROBE_MATCHES = 20  # fewer matches seen than this: the planner's estimate counts too
# Testing a row while walking costs about this many GIN postings (measured at 1M rows).
WALK_COST = 4.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SEARCH = table(
    SEARCH_TABLE,
    column("article_id", BigInteger),
    column("dated_at", DateTime(timezone=True)),
    column("is_copy", Boolean),
    column("language", String),
    column(SEARCH_COLUMN, TSVECTOR),
)
_ID, _DATED = SEARCH.c.article_id, SEARCH.c.dated_at


def prepare(session: Session) -> None:
    """Per search transaction: no JIT (compiling a plan costs more than running it) and
    room for the GIN bitmap of a common word, which otherwise turns lossy and makes
    every row of its pages be checked again."""
    settings = "set_config('jit', 'off', true), set_config('work_mem', '64MB', true)"
    session.execute(text(f"SELECT {settings}"))


def tsquery(query: Query) -> ColumnElement[Any]:
    text_: BindParameter[str] = bindparam("tsquery", fts.to_tsquery(query), unique=True)
    return func.to_tsquery(
        literal_column(f"'{TS_CONFIG}'::regconfig"), func.translate(text_, "Ёё", "Ее")
    )


def score(query: Query) -> ColumnElement[Any]:
    return func.ts_rank(SEARCH.c[SEARCH_COLUMN], tsquery(query))


def matching(
    session: Session, query: Query, filters: SearchFilters, indexed: bool = True
) -> Select[Any]:
    """``SELECT article_id FROM article_search`` for the matches passing the filters.

    Not ``indexed``: the match is written as the function behind ``@@``, which the GIN
    index cannot answer, so the plan walks the key's index testing each row instead.
    """
    tsq, doc = tsquery(query), SEARCH.c[SEARCH_COLUMN]
    match = doc.op("@@")(tsq) if indexed else func.ts_match_vq(doc, tsq)
    # A query whose positive words all vanished (no lexemes) must not become "NOT x".
    where: list[Clause] = [match, func.querytree(tsq) != "T"]
    if not filters.include_duplicates:
        where.append(SEARCH.c.is_copy.is_(False))
    if filters.since:
        where.append(filters.since <= _DATED)
    if filters.until:
        where.append(filters.until > _DATED)
    if filters.languages:
        where.append(SEARCH.c.language.in_(filters.languages))
    stmt = select(_ID).where(*where)
    rest = replace(filters, include_duplicates=True, since=None, until=None, languages=())
    if others := filter_clauses(session, rest):
        stmt = stmt.join(Article, Article.id == _ID).where(*others)
    return stmt


def one_of(ids: Sequence[int]) -> ColumnElement[bool]:
    """``article_id = ANY(:ids)``: one array parameter, not thousands of IN parameters."""
    return any_(bindparam("ids", list(ids), type_=ARRAY(BigInteger), unique=True)) == _ID


def scores(session: Session, query: Query, ids: Sequence[int]) -> dict[int, float]:
    stmt = select(_ID, score(query)).where(one_of(ids))
    return {row[0]: row[1] for row in session.connection().execute(stmt)}


def by_date(stmt: Select[Any]) -> Select[Any]:
    return stmt.order_by(_DATED.desc(), _ID.desc())


def estimated_rows(session: Session, stmt: Select[Any]) -> float:
    """The planner's estimate of how many rows ``stmt`` returns."""
    dialect = session.get_bind().dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    plan = (
        session.connection()
        .exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params)
        .scalar()
    )
    return float(plan[0]["Plan"]["Plan Rows"]) if plan else 0.0


def _as_number(value: Any) -> int:
    """Keys as integers for range arithmetic: ids, or timeline dates in microseconds."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (moment - _EPOCH) // timedelta(microseconds=1)
    return int(value)


def _as_key(number: int, dated: bool) -> Any:
    return _EPOCH + timedelta(microseconds=number) if dated else number


def first_span(wanted: int, per_key: float) -> float:
    """A range's width, in key units, for ``wanted`` matches at ``per_key`` per unit."""
    return MARGIN * wanted / max(per_key, 1e-12)


def _extent(
    session: Session, filters: SearchFilters, dated: bool
) -> tuple[int, int, float, float] | None:
    """The key range [first, end) holding every article (within the filter's dates),
    about how many rows the table has, and how many rows there are per key unit."""
    key = _DATED if dated else _ID
    rows: ColumnElement[Any] = literal_column(
        f"(SELECT reltuples FROM pg_class WHERE oid = to_regclass('{SEARCH_TABLE}'))"
    )
    low, high, count = session.execute(select(func.min(key), func.max(key), rows)).one()
    if low is None:
        return None
    first, end = _as_number(low), _as_number(high) + 1
    total = max(float(count or 0), 1.0)
    rows_per_key = total / (end - first)
    if dated and filters.since is not None:
        first = max(first, _as_number(filters.since))
    if dated and filters.until is not None:
        end = min(end, _as_number(filters.until))
    return first, end, total, rows_per_key


def newest_ids(
    session: Session, query: Query, filters: SearchFilters, limit: int, dated: bool = False
) -> list[int]:
    """Up to ``limit`` ids of the matches passing ``filters``, newest first: by article
    id, or by timeline date then id when ``dated``. Exact: the rows one ORDER BY ... LIMIT
    over all matches would give, read range by range.

    Each range is read one of two ways. Walking the key's index newest first, testing
    each row, costs about ``wanted / density`` rows; the GIN index costs every posting of
    the query's words (``density x rows``, wherever they are) plus one page per match
    in the range. So dense matches (``density² x rows >= WALK_COST x wanted``) are
    walked, sparse ones bitmapped. The first range is a walk of ``PROBE_ROWS`` rows: it
    measures the density where the reading starts (the planner misjudges words that go
    together, or words of one language filtered by it, by 3-6 times).
    """
    extent = _extent(session, filters, dated)
    if extent is None:
        return []
    first, end, total, rows_per_key = extent
    key = _DATED if dated else _ID
    walked, bitmapped = (matching(session, query, filters, indexed) for indexed in (False, True))
    span, top, walk = PROBE_ROWS / rows_per_key, end, True
    found: list[int] = []
    while len(found) < limit and end > first:
        start = max(first, end - max(1, math.ceil(span)))
        if start - first < span / 2:  # what would be left is small: take it now
            start = first
        stmt = walked if walk else bitmapped
        if end < top:
            stmt = stmt.where(key < _as_key(end, dated))
        if start > first:
            stmt = stmt.where(key >= _as_key(start, dated))
        found.extend(session.scalars(stmt.order_by(*_order(dated, walk)).limit(limit - len(found))))
        end, wanted = start, limit - len(found)
        per_key = len(found) / max(top - end, 1)  # as seen so far
        if len(found) < PROBE_MATCHES:  # too few to judge by: the planner's estimate too
            per_key = max(per_key, estimated_rows(session, bitmapped) / max(top - first, 1))
        density = per_key / rows_per_key
        walk = density * density * total >= WALK_COST * wanted
        span = max(span * 2, first_span(wanted, per_key))
    return found


def _order(dated: bool, walk: bool) -> tuple[ColumnElement[Any], ...]:
    """Newest first; when not walking, not on the key itself ("+ 0"), or the planner may
    walk its index anyway."""
    if walk:
        return (_DATED.desc(), _ID.desc()) if dated else (_ID.desc(),)
    no_index: ColumnElement[Any] = literal_column("interval '0 seconds'")
    return ((_DATED + no_index).desc(), (_ID + 0).desc()) if dated else ((_ID + 0).desc(),)
