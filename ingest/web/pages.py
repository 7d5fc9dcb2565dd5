"""The web page served by ``framewatch serve``: search with filters, results with
snippets, an article view (frames, evidence highlighted, sightings, copies) and the
digests written, with the site's navigation and links to the articles' pages. The front
page and the flags are in ``home``, the overviews (frames, outlets, clusters, sources) in
``overviews``.

Server-rendered Jinja2 with autoescaping; no JavaScript, no external requests (inline
CSS; a Content-Security-Policy that allows nothing else). Every article- or feed-derived
string is escaped by the templates, highlights come as (text, highlighted) segments, and
only http(s) URLs ever become links.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from ingest.digest.health import plain_error
from ingest.digest.job import gather
from ingest.digest.render import render_html
from ingest.model.errors import FilterError, QueryError
from ingest.model.health import SourceFailure
from ingest.web.highlight import find_passages, mark_passages
from ingest.web.listing import data_response, list_route, listing_of, requested_format
from ingest.web.searching import (
    FilterInput,
    build_filters,
    page_window,
    parse_search,
    safe_link,
    story_names,
)
from storage import digests, overview
from storage.browse import (
    ArticleDetail,
    article_detail,
    count_digests,
    filter_choices,
    recent_digests,
)
from storage.filters import VOICES, check_filters
from storage.search import SearchPage, search_articles, split_marked

TOKEN_COOKIE = "framewatch_token"
PAGE_SIZE = 20
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_FORM_KEYS = ("q", "since", "until", "source", "outlet", "language", "story", "frame",
              "voice", "cluster", "sort", "include_duplicates")  # fmt: skip

router = APIRouter(include_in_schema=False)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "—"


_env = Environment(
    loader=PackageLoader("ingest.web", "templates"), autoescape=True, undefined=StrictUndefined
)


def _plain(failure: SourceFailure) -> str:
    return plain_error(failure.last_outcome, failure.status_code)


SITE_NAV = (
    ("home", "/", "what's new"), ("flags", "/ui/flags", "flags"),
    ("frames", "/ui/frames", "frames"), ("outlets", "/ui/outlets", "outlets"),
    ("clusters", "/ui/clusters", "clusters"),
    ("sources", "/ui/sources", "sources"), ("digests", "/ui/digests", "digests"),
    ("search", "/ui/search", "search"),
)  # fmt: skip
_env.filters.update(segments=split_marked, http_link=safe_link, when=_when, plain=_plain)
_env.globals["site_nav"] = SITE_NAV


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = HTMLResponse(_env.get_template(template).render(**context), status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    return response


Page = Callable[..., Response]


def html_errors(page: Page) -> Page:
    """A value the page does not allow is a 400 page saying so (the same rows as JSON or
    CSV answer with the API's JSON error instead)."""

    @functools.wraps(page)
    def guarded(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return page(request, *args, **kwargs)
        except FilterError as exc:
            if request.url.path.endswith((".json", ".csv")) or "_format" in request.query_params:
                raise
            return render("message.html", 400, heading="Not allowed", message=str(exc),
                          login=False)  # fmt: skip

    return guarded


def login_required(request: Request) -> Response:
    """The answer to a page request without the token: a sign-in form."""
    message = "This framewatch needs an access token."
    return render("message.html", 401, heading="Sign in", message=message, login=True)


def _form(request: Request) -> dict[str, str]:
    params = request.query_params
    return {key: params.get(key, "").strip() for key in _FORM_KEYS}


def _filters_of(request: Request, form: dict[str, str]) -> FilterInput:
    params = request.query_params
    cluster = form["cluster"]
    if cluster and not (cluster.isascii() and cluster.isdigit() and 0 < int(cluster) < 2**63):
        raise FilterError(f"cluster {cluster!r} is not a cluster number")
    return FilterInput(
        since=form["since"] or None, until=form["until"] or None,
        sources=params.getlist("source"), outlets=params.getlist("outlet"),
        languages=params.getlist("language"), story=form["story"] or None,
        frame=form["frame"] or None, voice=form["voice"] or None,
        cluster=int(cluster) if cluster else None,
        include_duplicates=form["include_duplicates"] not in ("", "0"),
    )  # fmt: skip


def _page_url(form: dict[str, str], page: int) -> str:
    kept = {key: value for key, value in form.items() if value}
    return "/ui/search?" + urlencode({**kept, "page": str(page)})


def _run_search(request: Request, form: dict[str, str], session: Any) -> SearchPage:
    settings = request.app.state.settings
    query = parse_search(form["q"])
    filters = build_filters(_filters_of(request, form))
    check_filters(session, filters, story_names(settings), request.app.state.frames)
    page_text = request.query_params.get("page", "1")
    page = int(page_text) if page_text.isascii() and page_text.isdigit() else 1
    limit, offset = page_window(PAGE_SIZE, None, max(1, min(page, 10**6)))
    sort = "date" if query is None or form["sort"] == "date" else "relevance"
    return search_articles(session, query, filters, sort, limit, offset)


@router.get("/ui/search", response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    form = _form(request)
    context: dict[str, Any] = {"form": form, "voices": VOICES, "error": None, "page": None,
                               "previous_url": None, "next_url": None}  # fmt: skip
    status = 200
    with request.app.state.factory() as session:
        settings = request.app.state.settings
        frames = request.app.state.frames
        context["choices"] = filter_choices(session, story_names(settings), frames)
        try:
            page = _run_search(request, form, session)
        except QueryError as exc:
            context["error"], status = {"message": str(exc), "pointer": exc.pointer()}, 400
        except FilterError as exc:
            context["error"], status = {"message": str(exc), "pointer": None}, 400
        else:
            number = page.offset // page.limit + 1
            context["page"] = page
            if page.offset > 0:
                context["previous_url"] = _page_url(form, number - 1)
            if page.offset + len(page.hits) < page.total:
                context["next_url"] = _page_url(form, number + 1)
    return render("search.html", status, nav="search", **context)


def _id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**63 else None


def _highlights(detail: ArticleDetail, flag: Any, frame: str) -> tuple[list[str], str]:
    """The passages to highlight (a flag's evidence, or a frame's evidence here) and the
    frame whose table rows stand out."""
    focus = flag.frame if flag is not None else frame
    passages = [f.evidence for f in detail.frames if f.evidence and f.frame == focus]
    return (list(flag.evidence) if flag is not None else []) + passages, focus or ""


def _marked(segments: list[tuple[str, bool]]) -> bool:
    """Any passage highlighted (a whole headline is one highlighted segment)."""
    return any(highlighted for _segment, highlighted in segments)


def _anchor_first(detail: ArticleDetail, found: list[str], flag: Any, focus: str) -> list[str]:
    """The part the jump goes to first: the one holding the flag's own evidence, else the
    frame's first stored evidence in this article (what the front page shows)."""
    frame_firsts = [f.evidence for f in detail.frames if f.evidence and f.frame == focus][:1]
    for wanted in [*flag.evidence, *frame_firsts]:
        own = [n for n in found if _marked(mark_passages(getattr(detail, n) or "", [wanted]))]
        if own:
            return own + [n for n in found if n not in own]
    return found


@router.get("/ui/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: str) -> Response:
    """One article; ``?flag=ID`` or ``?frame=NAME`` highlights that evidence in the text."""
    detail, flag, wanted = None, None, _id(article_id)
    with request.app.state.factory() as session:
        detail = article_detail(session, wanted) if wanted else None
        flag_id = _id(request.query_params.get("flag", ""))
        flag = overview.get_flag(session, flag_id) if flag_id and detail else None
        if flag is not None and wanted not in flag.article_ids:
            flag = None  # only a flag that names this article is shown with it
    if detail is None:
        return render("message.html", 404, heading="Not found", message="No such article.",
                      login=False)  # fmt: skip
    passages, focus = _highlights(detail, flag, request.query_params.get("frame", "")[:100])
    parts: dict[str, Any] = {name: mark_passages(getattr(detail, name) or "", passages)
                             for name in ("title", "summary", "text")}  # fmt: skip
    found = [name for name in ("text", "summary", "title") if _marked(parts[name])]
    if flag is not None:
        found = _anchor_first(detail, found, flag, focus)
    shown = " ".join((detail.title, detail.summary or "", detail.text or ""))
    evidence = [(e, bool(find_passages(shown, [e]))) for e in (flag.evidence if flag else [])]
    token: str | None = request.app.state.token
    query = request.url.query
    return render("article.html", a=detail, flag=flag, focus=focus, found=bool(found),
                  flag_evidence=evidence,
                  anchor=found[0] if found else "", csrf=csrf_token(token) if token else None,
                  here=request.url.path + (f"?{query}" if query else ""), **parts)  # fmt: skip


def csrf_token(token: str) -> str:
    """The review forms' CSRF token: derived from the server's token, so only a page
    served to someone holding the token can carry it."""
    return hmac.new(token.encode(), b"framewatch-review-form", hashlib.sha256).hexdigest()


MAX_DIGEST_BYTES = 5_000_000


def read_digest_file(path: str | None) -> str | None:
    """A written digest file's text (None if it is gone); digests are framewatch's own."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_DIGEST_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


DIGEST_COLUMNS = ("story", "day", "article_count", "summary", "written_at", "sent_at", "url")


@list_route(router, "/ui/digests")
@html_errors
def digests_page(request: Request) -> Response:
    """The digests written, newest day first."""
    fmt = requested_format(request)
    with request.app.state.factory() as session:
        total = count_digests(session, None)
        listing = listing_of(request, "/ui/digests", {}, total, PAGE_SIZE)
        rows = recent_digests(session, None, listing.size, listing.offset)
    records = [
        {"story": d.story, "day": d.day, "article_count": d.article_count, "summary": d.summary,
         "written_at": d.written_at, "sent_at": d.sent_at,
         "url": f"/ui/digests/{quote(d.story)}/{d.day.isoformat()}"}
        for d in rows
    ]  # fmt: skip
    if fmt != "html":
        return data_response(listing, fmt, records, DIGEST_COLUMNS)
    return render("digests.html", digests=records, listing=listing, nav="digests")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


@router.get("/ui/digests/{story}/{day}", response_class=HTMLResponse)
def digest_page(request: Request, story: str, day: str) -> Response:
    """A written digest as the store holds that day now, with the site's navigation and
    its titles opening the articles' pages here (the outlets' pages are linked beside)."""
    row, wanted = None, _day(day)
    settings = request.app.state.settings
    with request.app.state.factory() as session:
        row = digests.get_digest(session, story, wanted) if wanted else None
        if row is not None:
            zone = ZoneInfo(settings.schedule.timezone)
            data = gather(session, story, row.day, zone, row.written_at)
    if row is None:
        return render("message.html", 404, heading="Not found", message="No such digest.",
                      login=False)  # fmt: skip
    site = [(href, label) for _, href, label in SITE_NAV]
    site.append((f"/ui/digests/{quote(story)}/{row.day.isoformat()}/written", "as written"))
    response = HTMLResponse(render_html(data, site, inside="/ui/articles/"))
    response.headers["Content-Security-Policy"] = CSP
    return response


@router.get("/ui/digests/{story}/{day}/written", response_class=HTMLResponse)
def written_digest_page(request: Request, story: str, day: str) -> Response:
    """A written digest: its HTML file as framewatch wrote it, else its Markdown."""
    row, wanted = None, _day(day)
    if wanted is not None:
        with request.app.state.factory() as session:
            row = digests.get_digest(session, story, wanted)
    if row is None:
        return render("message.html", 404, heading="Not found", message="No such digest.",
                      login=False)  # fmt: skip
    html = read_digest_file(row.html_path)
    if html is not None:
        response = HTMLResponse(html)
        response.headers["Content-Security-Policy"] = CSP
        return response
    return render("digest.html", d=row, markdown=read_digest_file(row.md_path) or "",
                  nav="digests")  # fmt: skip


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return login_required(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token typed into the form; a match sets an HttpOnly, same-site cookie."""
    token: str | None = request.app.state.token
    body = (await request.body())[:4096].decode("utf-8", "replace")
    given = parse_qs(body).get("token", [""])[0]
    if token is None or not hmac.compare_digest(given.encode(), token.encode()):
        return render("message.html", 401, heading="Sign in", message="Wrong token.", login=True)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return response
