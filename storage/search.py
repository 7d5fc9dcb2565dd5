"""Full-text search over stored articles: FTS5 on SQLite, tsvector/GIN on PostgreSQL.

:func:`search_articles` takes a parsed story query (or none, to list by date), filters,
a sort order and a page; it returns the page's hits with highlighted snippets and the
number of matches (counted up to :data:`COUNT_CAP`). The query text reaches the database
only as a bound parameter holding the translation of ``storage.fts``.

Snippets carry the highlight markers :data:`MARK_START` / :data:`MARK_END` (private-use
characters); :func:`split_marked` turns them into (text, highlighted) segments so every
renderer escapes the text itself.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    column,
    event,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from ingest.model.errors import SearchTimeout
from ingest.model.query import Query
from storage import fts, repo, search_pg
from storage.filters import BROAD, EVERY, SearchFilters, filter_clauses, hidden, timeline_date
from storage.frames import frames_by_article
from storage.models import Article
from storage.search_schema import FTS_TABLE, TS_CONFIG

MAX_LIMIT = 1000
# Relevance is ranked among the newest RANK_WINDOW matches; counts stop there too.
RANK_WINDOW = COUNT_CAP = 2000
SORTS = ("relevance", "date")
MARK_START, MARK_END = "\ue000", "\ue001"
ELLIPSIS = "…"
SNIPPET_TOKENS = 28
# bm25 weights per indexed column: title, summary, text.
_BM25 = "bm25(articles_fts, 5.0, 2.0, 1.0)"
_FTS = table(FTS_TABLE, column("rowid"))


@dataclass(frozen=True)
class SearchHit:
    id: int
    title: str
    title_marked: str  # the title with highlight markers
    url: str
    outlet: str
    source: str | None
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    stories: list[str]
    duplicate_of: int | None
    cluster: int | None
    score: float | None
    snippet: str  # with highlight markers
    frames: list[dict[str, str]]  # story, frame, voice, evidence (as stored by framing)


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int  # matches, counted up to COUNT_CAP
    total_exact: bool  # False when there are more than COUNT_CAP
    limit: int
    offset: int
    sort: str


def split_marked(text: str) -> list[tuple[str, bool]]:
    """``"a \\ue000b\\ue001 c"`` -> ``[("a ", False), ("b", True), (" c", False)]``."""
    segments: list[tuple[str, bool]] = []
    highlighted, current = False, ""
    for char in text:
        if char in (MARK_START, MARK_END):
            if current:
                segments.append((current, highlighted))
            highlighted, current = char == MARK_START, ""
        else:
            current += char
    if current:
        segments.append((current, highlighted))
    return segments


def plain(text: str) -> str:
    """Marked text without its markers."""
    return text.replace(MARK_START, "").replace(MARK_END, "")


def highlight_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets [start, end) of the highlighted parts of ``plain(text)``."""
    spans, offset = [], 0
    for segment, highlighted in split_marked(text):
        if highlighted:
            spans.append((offset, offset + len(segment)))
        offset += len(segment)
    return spans


def ranked_window(page: SearchPage) -> bool:
    """Whether relevance was ranked among the newest RANK_WINDOW matches, not all."""
    return page.sort == "relevance" and not page.total_exact


# ------------------------------------------------------------------- match clauses


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _fts5_match(query: Query) -> ColumnElement[Any]:
    match: BindParameter[str] = bindparam("match", fts.to_fts5(query), unique=True)
    return literal_column(FTS_TABLE).op("MATCH")(match)


def _newest_matches(
    session: Session, query: Query, filters: SearchFilters, limit: int
) -> list[tuple[int, float]]:
    """Up to ``limit`` matches passing the filters, newest stored first, with their
    relevance (higher is better; FTS5's bm25 is lower-is-better, hence negated).

    Read in id order and stopped at ``limit``, so the cost is bounded by the window, not
    by how many articles match, and relevance is computed only for the window. On SQLite
    the filters' column indexes are hidden, so the full-text index always drives.
    """
    if _is_postgres(session):
        ids = search_pg.newest_ids(session, query, filters, limit)
        by_id = search_pg.scores(session, query, ids)
        return [(id_, by_id[id_]) for id_ in ids if id_ in by_id]  # deleted meanwhile
    score: ColumnElement[Any] = (-literal_column(_BM25)).label("score")
    where = [_fts5_match(query), *filter_clauses(session, filters, hide=EVERY)]
    joined = _FTS.join(Article, Article.id == _FTS.c.rowid)
    stmt = select(Article.id, score).select_from(joined).where(*where)
    stmt = stmt.order_by(_FTS.c.rowid.desc()).limit(limit)
    rows = session.connection().execute(stmt).all()  # Core rows: thousands of them
    return [(row[0], row[1]) for row in rows]


def _by_date(session: Session, query: Query | None, filters: SearchFilters) -> Select[Any]:
    """Matches (or all articles) passing the filters, newest on the timeline first.

    On SQLite the timeline index drives (read newest first, stopped by the LIMIT) and
    each article is checked against the set of full-text matches, built once.
    """
    if _is_postgres(session):
        if query is not None:
            return search_pg.by_date(search_pg.matching(session, query, filters))
        stmt = select(Article.id).where(*filter_clauses(session, filters))
    else:
        stmt = select(Article.id).where(*filter_clauses(session, filters, hide=BROAD))
        if query is not None:
            matched = select(_FTS.c.rowid).where(_fts5_match(query))
            stmt = stmt.where(hidden(Article.id).in_(matched))
    return stmt.order_by(timeline_date().desc(), Article.id.desc())


def _count(session: Session, query: Query | None, filters: SearchFilters) -> tuple[int, bool]:
    """How many articles match, counted up to COUNT_CAP; and whether that is all of them."""
    if query is None or filters.since or filters.until:  # read the timeline index
        stmt = _by_date(session, query, filters).order_by(None)
    else:  # SQLite: the full-text index drives (PostgreSQL counts in _counted_by_date)
        where = [_fts5_match(query), *filter_clauses(session, filters, hide=EVERY)]
        stmt = select(_FTS.c.rowid).join(Article, Article.id == _FTS.c.rowid).where(*where)
    capped = stmt.limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    return min(total, COUNT_CAP), total <= COUNT_CAP


def _counted_by_date(
    session: Session, query: Query, filters: SearchFilters, limit: int, offset: int
) -> tuple[list[int], int, bool]:
    """A query by date whose page and count come from one read of the newest COUNT_CAP
    + 1 matches: PostgreSQL reads them in date ranges; SQLite (with time bounds) would
    otherwise collect the full-text matches twice. A page beyond them is read alone."""
    if _is_postgres(session):
        newest = search_pg.newest_ids(session, query, filters, COUNT_CAP + 1, dated=True)
    else:
        newest = list(session.scalars(_by_date(session, query, filters).limit(COUNT_CAP + 1)))
    total, exact = min(len(newest), COUNT_CAP), len(newest) <= COUNT_CAP
    if offset + limit <= len(newest) or exact:
        return newest[offset : offset + limit], total, exact
    deep = _by_date(session, query, filters).limit(limit).offset(offset)
    return list(session.scalars(deep)), total, exact


# ------------------------------------------------------------------------ search

PROGRESS_STEPS = 20_000  # SQLite virtual-machine steps between deadline checks (~1 ms)


@contextmanager
def deadline(session: Session, seconds: float | None) -> Iterator[None]:
    """Stop the database's work on this session after ``seconds``: SearchTimeout.

    SQLite calls a progress handler every PROGRESS_STEPS steps of its virtual machine,
    which interrupts the statement once the time is up; on PostgreSQL a statement's
    ``statement_timeout`` is at most a quarter of ``seconds`` more than the time left. A
    statement about to start after the time is up is not sent. So a costly query ties up
    one worker thread for about ``seconds`` at most, whatever it asks for.
    """
    if seconds is None:
        yield
        return
    ends = time.monotonic() + seconds
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    allowed = [seconds]  # the statement_timeout in force, lowered as the time runs out
    if postgres:
        connection.execute(select(func.set_config("statement_timeout", _ms(seconds), True)))

    def before(conn: Any, cursor: Any, statement: Any, *_: Any) -> None:
        left = ends - time.monotonic()
        if left <= 0:
            raise SearchTimeout(seconds)
        if postgres and left < allowed[0] - seconds / 4:  # a round trip only now and then
            cursor.execute(f"SET LOCAL statement_timeout = {_ms(left)}")
            allowed[0] = left

    raw: Any = None if postgres else connection.connection.driver_connection
    if raw is not None:
        raw.set_progress_handler(lambda: time.monotonic() > ends, PROGRESS_STEPS)
    event.listen(connection, "before_cursor_execute", before)
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc.orig) or "statement timeout" in str(exc.orig):
            raise SearchTimeout(seconds) from None
        raise
    finally:
        event.remove(connection, "before_cursor_execute", before)
        if raw is not None:
            raw.set_progress_handler(None, 0)


def _ms(seconds: float) -> str:
    return str(max(1, int(seconds * 1000)))


def search_articles(
    session: Session,
    query: Query | None,
    filters: SearchFilters | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    time_limit: float | None = None,
) -> SearchPage:
    """One page of matches (every article when ``query`` is None), best or newest first.

    Relevance is ranked over the newest RANK_WINDOW matches: exact whenever a query
    matches fewer (``total_exact``), and bounded in cost when it matches half the store.
    With ``time_limit`` (seconds), the database is stopped after it: SearchTimeout.
    """
    with deadline(session, time_limit):
        return _search(session, query, filters, sort, limit, offset)


def _search(
    session: Session,
    query: Query | None,
    filters: SearchFilters | None,
    sort: str,
    limit: int,
    offset: int,
) -> SearchPage:
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    filters = filters or SearchFilters()
    scores: dict[int, float] = {}
    if _is_postgres(session):
        search_pg.prepare(session)
    if query is not None and sort == "relevance":
        rows = _newest_matches(session, query, filters, RANK_WINDOW + 1)
        total, exact = min(len(rows), COUNT_CAP), len(rows) <= COUNT_CAP
        best = heapq.nlargest(offset + limit, ((score, id_) for id_, score in rows[:RANK_WINDOW]))
        ids, scores = [id_ for _, id_ in best[offset:]], {id_: score for score, id_ in best}
    elif query is not None and (_is_postgres(session) or filters.since or filters.until):
        ids, total, exact = _counted_by_date(session, query, filters, limit, offset)
    else:
        ids = list(session.scalars(_by_date(session, query, filters).limit(limit).offset(offset)))
        total, exact = _count(session, query, filters)
    hits = _hits(session, query, ids, scores)
    if not exact:  # a deep page of a large result set: at least what it has seen
        total = max(total, offset + len(hits))
    return SearchPage(hits, total, exact, limit, offset, sort)


def _hits(
    session: Session, query: Query | None, ids: list[int], scores: dict[int, float]
) -> list[SearchHit]:
    if not ids:
        return []
    articles = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
    snippets = _snippets(session, query, ids) if query is not None else {}
    stories = repo.stories_by_article(session, ids)
    frames = frames_by_article(session, ids)
    names = repo.source_names(session)
    hits = []
    for article_id in ids:
        a = articles[article_id]
        title, snippet = snippets.get(article_id, (a.title, _lead(a)))
        score = scores.get(article_id)
        hits.append(
            SearchHit(
                id=a.id, title=a.title, title_marked=title, url=a.url, outlet=a.outlet,
                source=names.get(a.source_id), published_at=a.published_at,
                fetched_at=a.fetched_at, language=a.language, stories=stories.get(a.id, []),
                duplicate_of=a.duplicate_of, cluster=a.cluster_id,
                score=None if score is None else round(float(score), 6), snippet=snippet,
                frames=frames.get(a.id, []),
            )
        )  # fmt: skip
    return hits


def _lead(article: Article, words: int = SNIPPET_TOKENS) -> str:
    """The opening words of the text (or summary), for hits without a query."""
    body = (article.text or article.summary or "").split()
    return " ".join(body[:words]) + (f" {ELLIPSIS}" if len(body) > words else "")


Marked = dict[int, tuple[str, str]]


def _snippets(session: Session, query: Query, ids: Sequence[int]) -> Marked:
    """(marked title, marked snippet) for each id, from the database's highlighter."""
    if _is_postgres(session):
        return _pg_snippets(session, query, ids)
    # FTS5 cannot look up a list of rowids: with "rowid IN (...)" it reads every match
    # (100k for a common prefix). A rowid range it can; the highlighter runs only for
    # the rows wanted.
    marks = f"'{MARK_START}', '{MARK_END}'"
    wanted = _FTS.c.rowid.in_(list(ids))
    columns: list[ColumnElement[Any]] = [
        case((wanted, literal_column(f"highlight({FTS_TABLE}, 0, {marks})"))),
        case((wanted, literal_column(f"snippet({FTS_TABLE}, 1, {marks}, '{ELLIPSIS}', "
                                     f"{SNIPPET_TOKENS})"))),
        case((wanted, literal_column(f"snippet({FTS_TABLE}, 2, {marks}, '{ELLIPSIS}', "
                                     f"{SNIPPET_TOKENS})"))),
    ]  # fmt: skip
    in_range = _FTS.c.rowid.between(min(ids), max(ids))
    rows = session.execute(
        select(_FTS.c.rowid, wanted, *columns).where(_fts5_match(query), in_range)
    ).all()
    return {
        row[0]: (row[2] or "", _best_snippet(row[4] or "", row[3] or "")) for row in rows if row[1]
    }


def _best_snippet(text: str, summary: str) -> str:
    """The text's snippet when it highlights something, else the summary's, else the text's."""
    for candidate in (text, summary):
        if MARK_START in candidate:
            return candidate
    return text or summary


def _pg_snippets(session: Session, query: Query, ids: Sequence[int]) -> Marked:
    tsq = search_pg.tsquery(query)
    config: ColumnElement[Any] = literal_column(f"'{TS_CONFIG}'::regconfig")
    options = (
        f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_TOKENS}, MinWords=12, "
        f'MaxFragments=2, FragmentDelimiter=" {ELLIPSIS} "'
    )
    body = func.coalesce(func.nullif(Article.text, ""), Article.summary)
    rows = session.execute(
        select(
            Article.id,
            func.ts_headline(config, Article.title, tsq, "HighlightAll=true, "
                             f"StartSel={MARK_START}, StopSel={MARK_END}"),
            func.ts_headline(config, body, tsq, options),
        ).where(Article.id.in_(list(ids)))
    ).all()  # fmt: skip
    return {row[0]: (row[1] or "", row[2] or "") for row in rows}
