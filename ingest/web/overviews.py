"""The overview pages: frames over time (each frame's daily share, own voice and
quoted, by outlet group, as an inline SVG chart), outlets x frames, event clusters and
wire stories, and the sources with their health (Miniflux-style: last success, errors
since, next poll, and silence against the source's usual rate).

Each is a list page (``ingest.web.listing``): a count, page numbers, a permalink and the
same rows at ``.json`` and ``.csv``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ingest.config.settings import Settings
from ingest.digest.health import LOOKBACK_DAYS, judge_silence, plain_error
from ingest.digest.views import frame_chart, outlet_table
from ingest.web import figures
from ingest.web.listing import data_response, list_route, listing_of, requested_format
from ingest.web.pages import html_errors, render
from ingest.web.params import choice, day_param, story_param
from storage import collection, crawls, frames, neardup
from storage.health import source_health

SPANS = ("14", "30", "90")
PAGE_SIZE = 50
router = APIRouter(include_in_schema=False)


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.schedule.timezone)


def _window(request: Request, timeline: list[Any], tz: ZoneInfo) -> figures.Window:
    """``?until=`` (default: the story's latest day) and ``?days=`` (default 30)."""
    span = int(choice(request, "days", SPANS) or "30")
    last = day_param(request, "until")
    if last is None:
        days = [a.when.astimezone(tz).date() for a in timeline]
        last = max(days) if days else datetime.now(UTC).astimezone(tz).date()
    return figures.Window(last, span)


def _story_window(request: Request) -> tuple[str, list[Any], figures.Window, ZoneInfo]:
    settings: Settings = request.app.state.settings
    story = story_param(request, settings)
    tz = _zone(request)
    with request.app.state.factory() as session:
        timeline = frames.story_timeline(session, story)
    return story, timeline, _window(request, timeline, tz), tz


def _stories(request: Request) -> list[str]:
    return [s.name for s in request.app.state.settings.active_stories]


def _common(story: str, window: figures.Window, group: str | None) -> dict[str, str]:
    return {"story": story, "group": group or "", "days": str(window.span),
            "until": window.last.isoformat()}  # fmt: skip


@list_route(router, "/ui/frames")
@html_errors
def frames_page(request: Request) -> Response:
    """Each frame's daily share over the window, own voice and quoted, for all outlets or
    one outlet group; the shares per group; the daily rows."""
    fmt = requested_format(request)
    story, timeline, window, tz = _story_window(request)
    groups = sorted({figures.group_of(a) for a in timeline})
    group = choice(request, "group", groups)
    shown = figures.in_window(timeline, window, tz, group)
    rows = figures.daily_rows(shown, window, tz)
    listing = listing_of(request, "/ui/frames", _common(story, window, group), len(rows), PAGE_SIZE)
    page = rows[listing.offset : listing.offset + listing.size]
    if fmt != "html":
        columns = ("day", "frame", "articles", "own", "quoted", "own_share", "quoted_share")
        return data_response(listing, fmt, page, columns)
    chart = frame_chart(figures.as_history(shown), window.last, tz, window.span)
    everyone = figures.in_window(timeline, window, tz)
    frame_columns = tuple(r.frame for r in chart.rows) if chart else ()
    return render("frames.html", nav="frames", story=story, stories=_stories(request),
                  group=group, groups=groups, window=window, spans=SPANS, chart=chart,
                  by_group=figures.group_table(everyone, frame_columns), frames=frame_columns,
                  rows=page, listing=listing, articles=len(shown))  # fmt: skip


@list_route(router, "/ui/outlets")
@html_errors
def outlets_page(request: Request) -> Response:
    """Outlets x frames over the window: how many of each outlet's articles use each
    frame, in its own voice and only quoted."""
    fmt = requested_format(request)
    story, timeline, window, tz = _story_window(request)
    groups = sorted({figures.group_of(a) for a in timeline})
    group = choice(request, "group", groups)
    shown = figures.in_window(timeline, window, tz, group)
    table = outlet_table(figures.as_history(shown))
    of_group = figures.outlet_groups(shown)
    params = _common(story, window, group)
    listing = listing_of(request, "/ui/outlets", params, len(table.rows), PAGE_SIZE)
    rows = table.rows[listing.offset : listing.offset + listing.size]
    if fmt != "html":
        records = [_outlet_record(r, of_group, table.frames) for r in rows]
        columns = ["outlet", "group", "articles"]
        columns += [f"{f} {v}" for f in table.frames for v in ("own", "quoted")]
        return data_response(listing, fmt, records, columns)
    return render("outlets.html", nav="outlets", story=story, stories=_stories(request),
                  group=group, groups=groups, window=window, spans=SPANS, table=table,
                  rows=rows, of_group=of_group, listing=listing)  # fmt: skip


def _outlet_record(row: Any, of_group: dict[str, str], frame_names: tuple[str, ...]) -> dict:
    record: dict[str, Any] = {"outlet": row.outlet, "group": of_group.get(row.outlet),
                              "articles": row.articles}  # fmt: skip
    for frame, (own, quoted) in zip(frame_names, row.cells, strict=True):
        record[f"{frame} own"], record[f"{frame} quoted"] = own, quoted
    return record


CLUSTER_COLUMNS = ("id", "story", "label", "top_terms", "first_seen_at", "last_seen_at",
                   "articles", "outlets", "copies", "wire_story", "url")  # fmt: skip


@list_route(router, "/ui/clusters")
@html_errors
def clusters_page(request: Request) -> Response:
    """Event clusters, most recently active first; a cluster holding near-copies of one
    report is a wire story."""
    fmt = requested_format(request)
    story = choice(request, "story", _stories(request))
    since = day_param(request, "since")
    start = datetime.combine(since, time(0), tzinfo=UTC) if since else None
    params = {"story": story or "", "since": since.isoformat() if since else ""}
    with request.app.state.factory() as session:
        total = neardup.count_clusters(session, story, start)
        listing = listing_of(request, "/ui/clusters", params, total, PAGE_SIZE)
        found = neardup.recent_clusters(session, story, start, listing.size, listing.offset)
    rows = [{**vars(c), "wire_story": c.copies > 0,
             "url": f"/ui/search?cluster={c.id}&include_duplicates=1"} for c in found]  # fmt: skip
    if fmt != "html":
        return data_response(listing, fmt, rows, CLUSTER_COLUMNS)
    return render("clusters.html", nav="clusters", rows=rows, listing=listing,
                  form=params, stories=_stories(request))  # fmt: skip


SOURCE_COLUMNS = (
    "name", "kind", "group", "state", "last_success_at", "failing_since", "consecutive_errors",
    "error_count", "next_poll_at", "articles", "per_week", "last_item", "silent_days", "problem",
    "last_error", "url",
)  # fmt: skip


def _source_rows(request: Request, now: datetime) -> list[dict[str, Any]]:
    tz = _zone(request)
    today = now.astimezone(tz).date()
    story = story_param(request, request.app.state.settings)
    lookback = datetime.combine(today - timedelta(days=LOOKBACK_DAYS), time(0), tzinfo=tz)
    with request.app.state.factory() as session:
        health = source_health(session)
        runs = crawls.last_crawls(session)
        activity = {a.name: a for a in collection.source_activity(session, story, lookback, now,
                                                                  tz)}  # fmt: skip
    return [_source_row(h, runs.get(h.name), activity.get(h.name), today) for h in health]


def _source_row(h: Any, run: Any, activity: Any, today: date) -> dict[str, Any]:
    silent = judge_silence(activity, today) if activity is not None else None
    carried = [d for d, n in activity.daily if n] if activity is not None else []
    success, problem, state = h.last_success_at, None, "ok"
    if h.kind == "site" and run is not None:
        success = run.last_success_at
        if run.status in (crawls.FAILED, crawls.KILLED):
            state, problem = f"last crawl {run.status}", plain_error(run.status)
    if h.failing_since:
        state, problem = "failing", plain_error(h.status or "", _status_code(h.last_error))
    elif silent is not None:
        state = "silent"
    elif h.kind == "feed" and h.last_polled_at is None:
        state = "never polled"
    return {
        "name": h.name, "kind": h.kind, "group": h.group, "state": state,
        "last_success_at": success, "failing_since": h.failing_since,
        "consecutive_errors": h.consecutive_errors, "error_count": h.error_count,
        "next_poll_at": h.next_poll_at, "articles": h.articles,
        "per_week": silent.per_week if silent else None, "last_item": max(carried, default=None),
        "silent_days": silent.silent_days if silent else None, "problem": problem,
        "last_error": h.last_error or (run.stop_reason if run and problem else None),
        "url": h.url, "active": h.active,
    }  # fmt: skip


def _status_code(error: str | None) -> int | None:
    """The HTTP status in a recorded error ("HTTP 404: https://...")."""
    if error and error.startswith("HTTP ") and error[5:8].isdigit():
        return int(error[5:8])
    return None


@list_route(router, "/ui/sources")
@html_errors
def sources_page(request: Request) -> Response:
    """Every source with its state: failing first, then silent ones, then the rest."""
    fmt = requested_format(request)
    rank = {"failing": 0, "silent": 1}
    rows = sorted(_source_rows(request, datetime.now(UTC)),
                  key=lambda r: (not r["active"], rank.get(r["state"], 2), r["name"]))  # fmt: skip
    story = story_param(request, request.app.state.settings)
    listing = listing_of(request, "/ui/sources", {"story": story}, len(rows), PAGE_SIZE)
    page = rows[listing.offset : listing.offset + listing.size]
    if fmt != "html":
        return data_response(listing, fmt, page, SOURCE_COLUMNS)
    return render("sources.html", nav="sources", rows=page, listing=listing, story=story,
                  failing=sum(1 for r in rows if r["state"] == "failing"),
                  silent=sum(1 for r in rows if r["state"] == "silent"))  # fmt: skip
