"""The read-only HTTP API (FastAPI) and, mounted beside it, the web page (``ingest.web.pages``).

Endpoints (the OpenAPI document is at ``/openapi.json``):

* ``GET /articles`` — search or list articles: ``q`` (story query language) and the
  filters of ``framewatch search``; paginated (``limit`` capped at 1000, ``offset`` or
  ``page``).
* ``GET /articles/{id}`` — one article with its stories, sightings, duplicates, cluster
  and frames (each with its evidence sentence).
* ``GET /clusters`` — recent event clusters.
* ``GET /flags`` — novelty flags (empty until flagging has run).
* ``GET /frames/timeline`` — how many of a story's articles used each frame per day, week
  or month (optionally in one voice).
* ``GET /digests`` and ``GET /digests/{date}`` — the daily digests written (one with its
  Markdown; 404 with a JSON body for a day without one).
* ``GET /healthz`` — liveness and schema revision (never needs the token; answers from
  its own connection while the pool is busy).

Errors are JSON ``Problem`` bodies (``{"error": CODE, "detail": SENTENCE}``) for every
4xx: a malformed query is 400 with its ``position``, a filter value that is not allowed
(an unknown story, source, flag kind; a limit below 1; a bad date) is 400 naming the
allowed ones, a parameter of the wrong type is 422 ``invalid_parameter``, a missing
article or digest and an unknown path are 404 ``not_found``; a database that cannot be
used now (down, no pooled connection free within ``limits.POOL_TIMEOUT_S``, a query over
``limits.QUERY_TIMEOUT_S``) is 503 with ``Retry-After``. Each request is logged on
the ``framewatch.access`` logger, one line with fixed keys (``ingest.web.edge``). With a
token, every other path needs ``Authorization: Bearer TOKEN`` (or the cookie the web
page's ``/login`` sets).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest import __version__
from ingest.config.settings import Settings
from ingest.flags.timeline import frame_timeline
from ingest.model.errors import FilterError, QueryError, SearchTimeout, StorageError
from ingest.model.flags import FLAG_KINDS
from ingest.web import home, limits, overviews
from ingest.web import pages as webpages
from ingest.web.edge import install_access_log, validation_detail
from ingest.web.models import (
    ArticleOut,
    ArticlePage,
    ClusterList,
    ClusterOut,
    DigestList,
    DigestOut,
    FlagList,
    FlagOut,
    Health,
    Problem,
    Timeline,
    TimelineBucket,
)
from ingest.web.pages import read_digest_file
from ingest.web.searching import (
    API_SEARCH_SECONDS,
    FilterInput,
    build_filters,
    frame_names,
    hit_record,
    page_window,
    parse_search,
    story_names,
)
from storage import digests, frames, migrate, neardup
from storage.browse import article_detail, recent_digests
from storage.db import make_session_factory
from storage.filters import SearchFilters, check_filters
from storage.search import search_articles

TOKEN_COOKIE = webpages.TOKEN_COOKIE
FlagStatus = Literal["new", "reviewed", "dismissed", "promoted"]
MAX_ID = 2**63 - 1
_PUBLIC_PATHS = frozenset({"/healthz", "/login"})
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "malformed query or filter value"},
    401: {"model": Problem, "description": "missing or wrong bearer token"},
    422: {"model": Problem, "description": "a parameter of the wrong type"},
}
Limit = Annotated[int, Query(ge=1, description="page size (at least 1), capped at 1000")]


def _problem(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    body = Problem(error=error, detail=detail, **extra).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status)


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.factory
    session = factory()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
router = APIRouter(responses=_ERRORS)


# ------------------------------------------------------------------------ filters


def filter_input(
    since: Annotated[str | None, Query(description="YYYY-MM-DD or ISO date-time, UTC")] = None,
    until: Annotated[str | None, Query(description="a day is inclusive")] = None,
    source: Annotated[list[str] | None, Query(description="carried by this source")] = None,
    outlet: Annotated[list[str] | None, Query()] = None,
    language: Annotated[list[str] | None, Query(description="language code, e.g. en")] = None,
    story: str | None = None,
    frame: Annotated[str | None, Query(description="a frame of the story's codebook")] = None,
    voice: Annotated[Literal["own", "quoted", "distanced"] | None, Query()] = None,
    cluster: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    flagged: Annotated[bool, Query(description="named by a flag not dismissed")] = False,
    include_duplicates: bool = False,
) -> FilterInput:
    return FilterInput(since, until, source or (), outlet or (), language or (), story, frame,
                       voice, cluster, flagged, include_duplicates)  # fmt: skip


FiltersDep = Annotated[FilterInput, Depends(filter_input)]


def checked_filters(request: Request, session: Session, given: FilterInput) -> SearchFilters:
    settings: Settings = request.app.state.settings
    filters = build_filters(given)
    check_filters(session, filters, story_names(settings), request.app.state.frames)
    return filters


def checked_kinds(given: Sequence[str]) -> list[str]:
    """Flag kinds as typed, refused (like the CLI's ``--kind``) unless they are kinds."""
    kinds = [k.strip() for k in given if k.strip()]
    for k in kinds:
        if k not in FLAG_KINDS:
            raise FilterError(f"unknown kind {k!r} (kinds: {', '.join(FLAG_KINDS)})")
    return kinds


# ------------------------------------------------------------------------ routes


@router.get("/articles", response_model=ArticlePage, tags=["articles"])
def list_articles(
    request: Request,
    session: SessionDep,
    given: FiltersDep,
    q: Annotated[str | None, Query(description='story query: AND OR NOT "phrase" prefix*')] = None,
    sort: Annotated[Literal["relevance", "date"] | None, Query()] = None,
    limit: Limit = 20,
    offset: Annotated[int | None, Query(ge=0, le=10**9)] = None,
    page: Annotated[int | None, Query(ge=1, le=10**6)] = None,
) -> ArticlePage:
    """Search (with ``q``) or list (newest first) stored articles, one page at a time."""
    query = parse_search(q)
    filters = checked_filters(request, session, given)
    size, start = page_window(limit, offset, page)
    order = sort or ("relevance" if query is not None else "date")
    result = search_articles(session, query, filters, order, size, start, API_SEARCH_SECONDS)
    following = start + len(result.hits)
    return ArticlePage(
        query=q, sort=order, total=result.total, total_exact=result.total_exact,
        limit=size, offset=start,
        next_offset=following if following < result.total else None,
        items=[hit_record(hit) for hit in result.hits],  # type: ignore[misc]
    )  # fmt: skip


@router.get(
    "/articles/{article_id}",
    response_model=ArticleOut,
    tags=["articles"],
    responses={404: {"model": Problem, "description": "no such article"}},
)
def get_article(session: SessionDep, article_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Any:
    """One article with its stories, sightings, near-duplicates, cluster and frames."""
    detail = article_detail(session, article_id)
    if detail is None:
        return _problem(404, "not_found", f"no article {article_id}")
    return ArticleOut.model_validate(detail)


@router.get("/clusters", response_model=ClusterList, tags=["clusters"])
def list_clusters(
    request: Request,
    session: SessionDep,
    story: str | None = None,
    since: Annotated[str | None, Query(description="active since (YYYY-MM-DD)")] = None,
    limit: Limit = 20,
) -> ClusterList:
    """Event clusters, most recently active first."""
    filters = checked_filters(request, session, FilterInput(since=since, story=story))
    size, _ = page_window(limit, None, None)
    rows = neardup.recent_clusters(session, filters.story, filters.since, size)
    return ClusterList(items=[ClusterOut.model_validate(row) for row in rows])


@router.get("/flags", response_model=FlagList, tags=["flags"])
def list_flags(
    request: Request,
    session: SessionDep,
    story: str | None = None,
    kind: Annotated[list[str] | None, Query(description=f"repeat: {', '.join(FLAG_KINDS)}")] = None,
    status: Annotated[list[FlagStatus] | None, Query()] = None,
    since: Annotated[str | None, Query(description="first seen since (YYYY-MM-DD)")] = None,
    limit: Limit = 100,
) -> FlagList:
    """Novelty flags, most recently first seen first (empty until flagging has run)."""
    filters = checked_filters(request, session, FilterInput(since=since, story=story))
    size, _ = page_window(limit, None, None)
    kinds = checked_kinds(kind or [])
    rows = frames.list_flags(session, filters.story, kinds, status or [], filters.since, size)
    return FlagList(items=[FlagOut.model_validate(frames.flag_record(row)) for row in rows])


@router.get("/frames/timeline", response_model=Timeline, tags=["frames"])
def frames_timeline(
    request: Request,
    session: SessionDep,
    story: Annotated[str | None, Query(description="default: the first configured story")] = None,
    interval: Literal["day", "week", "month"] = "week",
    voice: Literal["own", "quoted", "distanced"] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Timeline:
    """How many of the story's articles used each frame, per day, week or month."""
    settings: Settings = request.app.state.settings
    chosen = story or story_names(settings)[0]
    given = FilterInput(since=since, until=until, story=chosen)
    filters = checked_filters(request, session, given)
    articles = frames.story_timeline(session, chosen)
    buckets = frame_timeline(articles, interval, voice, filters.since, filters.until)
    return Timeline(story=chosen, interval=interval, voice=voice,
                    buckets=[TimelineBucket.model_validate(b) for b in buckets])  # fmt: skip


def _digest_out(row: Any, markdown: str | None = None) -> DigestOut:
    html_url = f"/ui/digests/{row.story}/{row.day.isoformat()}" if row.html_path else None
    return DigestOut(story=row.story, day=row.day, written_at=row.written_at,
                     article_count=row.article_count, summary=row.summary,
                     sent_at=row.sent_at, html_url=html_url, markdown=markdown)  # fmt: skip


@router.get("/digests", response_model=DigestList, tags=["digests"])
def list_digests(
    request: Request,
    session: SessionDep,
    story: str | None = None,
    limit: Limit = 60,
) -> DigestList:
    """The daily digests written, newest day first."""
    filters = checked_filters(request, session, FilterInput(story=story))
    size, _ = page_window(limit, None, None)
    rows = recent_digests(session, filters.story, size)
    return DigestList(items=[_digest_out(row) for row in rows])


@router.get(
    "/digests/{day}",
    response_model=DigestOut,
    tags=["digests"],
    responses={404: {"model": Problem, "description": "no digest for that day"}},
)
def get_digest(
    request: Request,
    session: SessionDep,
    day: date,
    story: Annotated[str | None, Query(description="default: the first configured story")] = None,
) -> Any:
    """One day's digest (YYYY-MM-DD, in the configured timezone), with its Markdown."""
    chosen = story or story_names(request.app.state.settings)[0]
    checked_filters(request, session, FilterInput(story=chosen))
    row = digests.get_digest(session, chosen, day)
    if row is None:
        detail = f"no digest for {day.isoformat()} ({chosen}); `framewatch digest` writes them"
        return _problem(404, "not_found", detail)
    return _digest_out(row, read_digest_file(row.md_path))


@router.get(
    "/healthz", response_model=Health, tags=["service"], responses={503: {"model": Problem}}
)
async def healthz(request: Request) -> Any:
    """Liveness: the database answers and its schema revision, asked on a path of its
    own (``ingest.web.limits``), so it answers while the pool is busy. No token needed."""
    revision, problem = await request.app.state.health.check()
    if problem is not None:
        return _retry_later(_problem(503, "storage_unavailable", problem))
    return Health(status="ok", schema_revision=revision)


# ------------------------------------------------------------------- app set-up


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QueryError)
    def bad_query(request: Request, exc: QueryError) -> JSONResponse:
        return _problem(400, "bad_query", str(exc), position=exc.position, query=exc.query)

    @app.exception_handler(FilterError)
    def bad_filter(request: Request, exc: FilterError) -> JSONResponse:
        return _problem(400, "bad_filter", str(exc))

    @app.exception_handler(RequestValidationError)
    def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _problem(422, "invalid_parameter", validation_detail(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            detail = f"no such endpoint: {request.url.path} (see /openapi.json)"
            return _problem(404, "not_found", detail)
        code = {405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = _problem(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(SearchTimeout)
    def too_slow(request: Request, exc: SearchTimeout) -> JSONResponse:
        return _retry_later(_problem(503, "search_timeout", str(exc)))

    @app.exception_handler(StorageError)
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)  # no connection free in time: a burst, not a bug
    def storage_down(request: Request, exc: Exception) -> JSONResponse:
        detail = "the database cannot be used right now"
        return _retry_later(_problem(503, "storage_unavailable", detail))


def _retry_later(response: JSONResponse) -> JSONResponse:
    response.headers["Retry-After"] = str(limits.RETRY_AFTER_S)
    return response


def token_given(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE)


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


Middleware = Callable[[Request], Awaitable[Response]]


def _install_middleware(app: FastAPI, token: str | None) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next: Middleware) -> Response:
        path = request.url.path
        if (
            token is not None
            and path not in _PUBLIC_PATHS
            and not token_matches(token_given(request), token)
        ):
            if path == "/" or path.startswith("/ui/"):
                return webpages.login_required(request)
            response: Response = _problem(401, "unauthorized", "a bearer token is required")
            response.headers["WWW-Authenticate"] = "Bearer"
        else:
            response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(
    settings: Settings, token: str | None = None, engine: Engine | None = None
) -> FastAPI:
    """The API and web page over ``settings``' database (read-only connections)."""
    engine = engine or limits.api_engine(settings.database.url)
    migrate.require_current(engine)
    app = FastAPI(
        title="framewatch",
        version=__version__,
        description="Read-only access to the coverage framewatch stored.",
        docs_url=None,  # the interactive docs load scripts from a CDN: no external requests
        redoc_url=None,
    )
    app.state.settings, app.state.engine = settings, engine
    app.state.factory = make_session_factory(engine)
    app.state.health = limits.HealthCheck(engine)
    app.state.token = token
    app.state.frames = frame_names(settings)  # the codebooks' frames, loaded once
    _install_error_handlers(app)
    _install_middleware(app, token)
    install_access_log(app)  # outermost: sees every answer, the guard's 401s too
    app.include_router(router)
    app.include_router(home.router)
    app.include_router(overviews.router)
    app.include_router(webpages.router)
    return app
