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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    any_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from ingest.query import Query
from storage import fts, repo
from storage.filters import BROAD, EVERY, SearchFilters, filter_clauses, hidden, timeline_date
from storage.frames import frames_by_article
from storage.models import Article
from storage.search_schema import FTS_TABLE, SEARCH_COLUMN, TS_CONFIG

MAX_LIMIT = 1000
# Relevance is ranked among the newest RANK_WINDOW matches; counts stop there too.
RANK_WINDOW = COUNT_CAP = 2000
PHRASE_CANDIDATES = 4 * (RANK_WINDOW + 1)  # PostgreSQL: word matches checked for a phrase
COMMON_FACTOR = 20  # PostgreSQL: more estimated matches than this x the window: walk the key
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


def _tsquery(query: Query) -> ColumnElement[Any]:
    text_: BindParameter[str] = bindparam("tsquery", fts.to_tsquery(query), unique=True)
    return func.to_tsquery(
        literal_column(f"'{TS_CONFIG}'::regconfig"), func.translate(text_, "Ёё", "Ее")
    )


def _search_doc() -> ColumnElement[Any]:
    return literal_column(f"articles.{SEARCH_COLUMN}")


def _score(session: Session, query: Query) -> ColumnElement[Any]:
    """Relevance, higher is better (FTS5's bm25 is lower-is-better, hence negated)."""
    if _is_postgres(session):
        return func.ts_rank(_search_doc(), _tsquery(query))
    return -literal_column(_BM25)


def _fts5_match(query: Query) -> ColumnElement[Any]:
    match: BindParameter[str] = bindparam("match", fts.to_fts5(query), unique=True)
    return literal_column(FTS_TABLE).op("MATCH")(match)


def _pg_match(query: Query) -> list[ColumnElement[Any]]:
    tsq = _tsquery(query)
    # A query whose positive words all vanished (no lexemes) must not become "NOT x".
    return [_search_doc().op("@@")(tsq), func.querytree(tsq) != "T"]


def _newest_matches(
    session: Session, query: Query, filters: SearchFilters, scored: bool, limit: int
) -> Select[Any]:
    """Up to ``limit`` matches passing the filters, newest stored first: (id[, score]).

    Read in id order and stopped at ``limit``, so the cost is bounded by the window, not
    by how many articles match, and relevance is computed only for the window. On SQLite
    the filters' column indexes are hidden, so the full-text index always drives.
    """
    if _is_postgres(session):
        return _pg_newest_matches(session, query, filters, scored, limit)
    columns: list[Any] = [Article.id]
    if scored:
        columns.append(_score(session, query).label("score"))
    where = [_fts5_match(query), *filter_clauses(session, filters, hide=EVERY)]
    joined = _FTS.join(Article, Article.id == _FTS.c.rowid)
    stmt = select(*columns).select_from(joined).where(*where)
    return stmt.order_by(_FTS.c.rowid.desc()).limit(limit)


def _one_of(ids: Sequence[int]) -> ColumnElement[bool]:
    """``articles.id = ANY(:ids)``: one array parameter, not thousands of IN parameters."""
    return Article.id == any_(bindparam("ids", list(ids), type_=ARRAY(BigInteger), unique=True))


def _pg_newest_matches(
    session: Session, query: Query, filters: SearchFilters, scored: bool, limit: int
) -> Select[Any]:
    """PostgreSQL: a GIN index answers word queries alone but must re-read each
    candidate's tsvector for phrases; so phrases are first narrowed to the newest
    candidates of their words (no re-reading), then checked exactly, newest first."""
    where = filter_clauses(session, filters)
    matching = select(Article.id).where(*where, *_pg_match(query))
    if not scored:
        return matching.limit(limit)  # a count: any matches will do
    newest = _pg_newest(session, matching, limit)
    relaxed = fts.relax(query) if fts.has_phrases(query) else None
    if relaxed is not None:
        words = select(Article.id).where(*where, *_pg_match(relaxed))
        candidates = session.scalars(_pg_newest(session, words, PHRASE_CANDIDATES)).all()
        exact = select(Article.id).where(_one_of(candidates), *_pg_match(query))
        verified = session.scalars(exact.order_by(Article.id.desc()).limit(limit)).all()
        if len(verified) == limit or len(candidates) < PHRASE_CANDIDATES:
            newest = select(Article.id).where(_one_of(verified))
    window = newest.subquery()
    score = _score(session, query).label("score")
    return select(Article.id, score).join(window, window.c.id == Article.id)


def _pg_newest(session: Session, stmt: Select[Any], limit: int) -> Select[Any]:
    """``stmt``'s newest ``limit`` rows, read the way PostgreSQL is fastest for them.

    For words in many articles, walking the primary key backwards finds ``limit``
    matches after a few thousand rows; for rarer ones that walk would read the whole
    table, so the GIN matches are collected and the newest kept (ordering by ``id + 0``
    keeps the planner off the walk). The planner's own estimate of the matches decides.
    """
    dialect = session.get_bind().dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    plan = (
        session.connection()
        .exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params)
        .scalar()
    )
    estimated = float(plan[0]["Plan"]["Plan Rows"]) if plan else 0.0
    key = Article.id if estimated > COMMON_FACTOR * limit else Article.id + 0
    return stmt.order_by(key.desc()).limit(limit)


def _by_date(session: Session, query: Query | None, filters: SearchFilters) -> Select[Any]:
    """Matches (or all articles) passing the filters, newest on the timeline first.

    On SQLite the timeline index drives (read newest first, stopped by the LIMIT) and
    each article is checked against the set of full-text matches, built once.
    """
    if _is_postgres(session):
        stmt = select(Article.id).where(*filter_clauses(session, filters))
        if query is not None:
            stmt = stmt.where(*_pg_match(query))
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
    else:
        stmt = _newest_matches(session, query, filters, False, COUNT_CAP + 1)
    capped = stmt.limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    return min(total, COUNT_CAP), total <= COUNT_CAP


# ------------------------------------------------------------------------ search


def search_articles(
    session: Session,
    query: Query | None,
    filters: SearchFilters | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """One page of matches (every article when ``query`` is None), best or newest first.

    Relevance is ranked over the newest RANK_WINDOW matches: exact whenever a query
    matches fewer (``total_exact``), and bounded in cost when it matches half the store.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    filters = filters or SearchFilters()
    scores: dict[int, float] = {}
    if query is not None and sort == "relevance":
        window = _newest_matches(session, query, filters, True, RANK_WINDOW + 1)
        rows = session.connection().execute(window).all()  # Core rows: thousands of them
        total, exact = min(len(rows), COUNT_CAP), len(rows) <= COUNT_CAP
        best = heapq.nlargest(offset + limit, ((score, id_) for id_, score in rows[:RANK_WINDOW]))
        ids, scores = [id_ for _, id_ in best[offset:]], {id_: score for score, id_ in best}
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
    marks = f"'{MARK_START}', '{MARK_END}'"
    columns: list[ColumnElement[Any]] = [
        literal_column(f"highlight({FTS_TABLE}, 0, {marks})"),
        literal_column(f"snippet({FTS_TABLE}, 1, {marks}, '{ELLIPSIS}', {SNIPPET_TOKENS})"),
        literal_column(f"snippet({FTS_TABLE}, 2, {marks}, '{ELLIPSIS}', {SNIPPET_TOKENS})"),
    ]
    rows = session.execute(
        select(_FTS.c.rowid, *columns).where(_fts5_match(query), _FTS.c.rowid.in_(list(ids)))
    ).all()
    return {row[0]: (row[1] or "", _best_snippet(row[3] or "", row[2] or "")) for row in rows}


def _best_snippet(text: str, summary: str) -> str:
    """The text's snippet when it highlights something, else the summary's, else the text's."""
    for candidate in (text, summary):
        if MARK_START in candidate:
            return candidate
    return text or summary


def _pg_snippets(session: Session, query: Query, ids: Sequence[int]) -> Marked:
    tsq = _tsquery(query)
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
