"""The analyst's front page and the flags: what is new today and this week (each flag
with its evidence sentence, voice and a link to the article with the evidence
highlighted), collection health, every flag a page at a time, and reviewing or
dismissing a flag from the page when the server has a token.

Reviews are the only writes the web page makes: a POST form carrying a CSRF token
derived from the server's token (and refused from another origin), on a writable
connection opened for them alone; everything else reads through the read-only one.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings
from ingest.digest.health import LOOKBACK_DAYS, Health, collection_health
from ingest.model.errors import FilterError
from ingest.web.listing import data_response, list_route, listing_of, requested_format
from ingest.web.pages import csrf_token, html_errors, render
from ingest.web.params import choice, day_param, story_param
from storage import collection, overview
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.frames import FLAG_STATUSES, flag_record

KINDS = ("first_seen", "source_shift", "distancing", "surge", "emerging_phrase", "frame_change")
REVIEW_STATUSES = ("reviewed", "dismissed", "new")
SHOWN_ON_HOME = 25
PAGE_SIZE = 25
FLAG_COLUMNS = ("id", "story", "kind", "frame", "phrase", "source", "first_seen_at",
                "created_at", "score", "status", "statistic", "evidence", "note",
                "article_id", "article_title", "voice", "article_ids")  # fmt: skip

router = APIRouter(include_in_schema=False)


def _zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.schedule.timezone)


def _flag_cards(session: Session, flags: list[Any]) -> list[dict[str, Any]]:
    """Flags as the templates and the data formats show them, with their target."""
    targets = overview.flag_targets(session, flags)
    cards = []
    for flag in flags:
        target = targets.get(flag.id)
        record = flag_record(flag)
        record["first_seen_at"], record["created_at"] = flag.first_seen_at, flag.created_at
        record.update(
            article_id=target.article_id if target else None,
            article_title=target.title if target else None,
            article_outlet=target.outlet if target else None,
            voice=target.voice if target else None,
            shown_evidence=(target.evidence if target else None)
            or (flag.evidence[0] if flag.evidence else None),
        )
        cards.append(record)
    return cards


def _health_now(session: Session, settings: Settings, story: str, now: datetime) -> Health:
    tz = _zone(settings)
    today = now.astimezone(tz).date()
    lookback = datetime.combine(today - timedelta(days=LOOKBACK_DAYS), time(0), tzinfo=tz)
    failures = collection.source_failures(session, now - timedelta(hours=24), now)
    activity = collection.source_activity(session, story, lookback, now, tz)
    return collection_health(failures, activity, today)


def _review_context(request: Request) -> dict[str, Any]:
    token: str | None = request.app.state.token
    return {"csrf": csrf_token(token) if token else None, "here": _here(request)}


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@router.get("/")
@html_errors
def home_page(request: Request) -> Response:
    """What is new: flags raised today and this week, and collection health."""
    if request.query_params.get("q") is not None:  # old search links: the search moved
        return RedirectResponse(f"/ui/search?{request.url.query}", status_code=307)
    settings: Settings = request.app.state.settings
    story = story_param(request, settings)
    now = datetime.now(UTC)
    tz = _zone(settings)
    midnight = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    live = ("new", "reviewed", "promoted")
    with request.app.state.factory() as session:
        today_q = overview.FlagQuery(story, statuses=live, raised_since=midnight)
        week_q = overview.FlagQuery(story, statuses=live, raised_since=midnight - timedelta(days=6),
                                    raised_until=midnight)  # fmt: skip
        sections = []
        for title, query in (("Raised today", today_q), ("Earlier this week", week_q)):
            flags = overview.page_of_flags(session, query, SHOWN_ON_HOME)
            sections.append((title, overview.count_flags(session, query),
                             _flag_cards(session, flags)))  # fmt: skip
        health = _health_now(session, settings, story, now)
    return render(
        "home.html", nav="home", story=story, stories=_stories(settings), sections=sections,
        health=health, tz=tz.key, **_review_context(request),
    )  # fmt: skip


def _stories(settings: Settings) -> list[str]:
    return [s.name for s in settings.active_stories]


def _flag_query(request: Request, settings: Settings) -> tuple[overview.FlagQuery, dict[str, str]]:
    story = story_param(request, settings)
    kind = choice(request, "kind", KINDS)
    status = choice(request, "status", FLAG_STATUSES)
    since = day_param(request, "since")
    query = overview.FlagQuery(
        story, (kind,) if kind else (), (status,) if status else (),
        datetime.combine(since, time(0), tzinfo=UTC) if since else None,
    )  # fmt: skip
    params = {"story": story, "kind": kind or "", "status": status or "",
              "since": since.isoformat() if since else ""}  # fmt: skip
    return query, params


@list_route(router, "/ui/flags")
@html_errors
def flags_page(request: Request) -> Response:
    """Every flag, newest on the timeline first, filtered by kind, status and date."""
    settings: Settings = request.app.state.settings
    fmt = requested_format(request)
    query, params = _flag_query(request, settings)
    with request.app.state.factory() as session:
        total = overview.count_flags(session, query)
        listing = listing_of(request, "/ui/flags", params, total, PAGE_SIZE)
        flags = overview.page_of_flags(session, query, listing.size, listing.offset)
        cards = _flag_cards(session, flags)
    if fmt != "html":
        return data_response(listing, fmt, cards, FLAG_COLUMNS)
    return render("flags.html", nav="flags", listing=listing, flags=cards, form=params,
                  stories=_stories(settings), kinds=KINDS, statuses=FLAG_STATUSES,
                  **_review_context(request))  # fmt: skip


def _writer(request: Request) -> sessionmaker[Session]:
    """A writable session factory, opened on the first review (the app reads read-only)."""
    state = request.app.state
    if getattr(state, "writer", None) is None:
        state.writer_engine = make_engine(state.settings.database.url)
        state.writer = make_session_factory(state.writer_engine)
    writer: sessionmaker[Session] = state.writer
    return writer


def _same_origin(request: Request) -> bool:
    """Whether the form was posted from this site. Browsers say so in Sec-Fetch-Site (the
    page's no-referrer policy makes them send ``Origin: null`` with forms); without it,
    an Origin must name this host."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser: the bearer token and the CSRF token decide
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")


def _back_to(value: str) -> str:
    """Only a path on this site (never ``//host`` or a scheme) is a place to go back to."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.post("/ui/flags/{flag_id}/status")
async def set_flag_status(request: Request, flag_id: str) -> Response:
    """Review, dismiss or reopen a flag (token-protected, CSRF-checked), then go back."""
    token: str | None = request.app.state.token
    if token is None:
        message = "Reviewing flags from the page needs the server started with a token."
        return render("message.html", 403, heading="Read-only", message=message, login=False)
    form = parse_qs((await request.body())[:8192].decode("utf-8", "replace"))
    given = form.get("csrf", [""])[0]
    if not _same_origin(request) or not hmac.compare_digest(given, csrf_token(token)):
        message = "This form did not come from this framewatch page; reload it and try again."
        return render("message.html", 403, heading="Refused", message=message, login=False)
    status = form.get("status", [""])[0]
    if status not in REVIEW_STATUSES or not (flag_id.isascii() and flag_id.isdigit()):
        raise FilterError(f"status must be one of {', '.join(REVIEW_STATUSES)}")
    note = form.get("note", [""])[0].strip()[:2000] or None
    with unit_of_work(_writer(request)) as session:
        found = int(flag_id) < 2**63 and overview.set_flag_status(
            session, int(flag_id), status, note
        )
    if not found:
        return render("message.html", 404, heading="Not found", message=f"No flag {flag_id}.",
                      login=False)  # fmt: skip
    return RedirectResponse(_back_to(form.get("next", ["/"])[0]), status_code=303)
