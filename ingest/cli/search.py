"""`search`: full-text search over stored coverage; `reindex`: rebuild the search index."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.text import Text

from ingest.cli.app import console, err_console, iso, main, opened_store, settings_of
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.cli.tables import Cell, Column, show_rows
from ingest.web.searching import (
    CLI_SEARCH_SECONDS,
    HIT_FIELDS,
    FilterInput,
    build_filters,
    frame_names,
    hit_record,
    page_window,
    parse_search,
    story_names,
)
from storage import search_schema
from storage.db import unit_of_work
from storage.filters import VOICES, check_filters
from storage.search import (
    MAX_LIMIT,
    RANK_WINDOW,
    SORTS,
    SearchPage,
    ranked_window,
    search_articles,
    split_marked,
)

F = TypeVar("F", bound=Callable[..., Any])


def _filter_options(command: F) -> F:
    options = [
        click.option("--since", metavar="DATE", help="From this date (UTC; YYYY-MM-DD or ISO)."),
        click.option("--until", metavar="DATE", help="Up to this date (a day is inclusive)."),
        click.option("--source", "sources", multiple=True, help="Carried by this source (repeat)."),
        click.option("--outlet", "outlets", multiple=True, help="From this outlet (repeat)."),
        click.option("--language", "languages", multiple=True, help="Language code (repeat)."),
        click.option("--story", default=None, help="Only articles of this story."),
        click.option("--frame", default=None, help="Only articles with this frame."),
        click.option("--voice", type=click.Choice(VOICES), default=None, help="The frame's voice."),
        click.option("--cluster", type=int, default=None, help="Only this event cluster."),
        click.option("--flagged", is_flag=True, help="Only articles behind a novelty flag."),
        click.option("--include-duplicates", is_flag=True, help="Also show near-duplicate copies."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.argument("query")
@_filter_options
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help=f"Results per page (capped at {MAX_LIMIT}).",
)
@click.option("--offset", type=click.IntRange(min=0), default=None, help="Skip this many.")
@click.option("--page", type=click.IntRange(min=1), default=None, help="Page number (from 1).")
@click.option("--format", "fmt", type=click.Choice(["table", *MACHINE_FORMATS]), default="table")
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    outlets: tuple[str, ...],
    languages: tuple[str, ...],
    story: str | None,
    frame: str | None,
    voice: str | None,
    cluster: int | None,
    flagged: bool,
    include_duplicates: bool,
    sort: str,
    limit: int,
    offset: int | None,
    page: int | None,
    fmt: str,
) -> None:
    """Search stored coverage with the story query language (AND OR NOT "phrases" prefix*).

    Matching folds case and accents as story queries do; near-duplicate copies are
    hidden unless --include-duplicates. Relevance is ranked among the newest 2,000
    matches.

    \b
    Examples:
      framewatch search '"political prisoners" AND (hostage* OR заложник*)'
      framewatch search 'Лукашенко AND помилов*' --since 2025-09-01 --format jsonl
    """
    settings = settings_of(ctx)
    parsed = parse_search(query)
    if parsed is None:
        raise click.BadParameter("the query is empty", param_hint="QUERY")
    given = FilterInput(since, until, sources, outlets, languages, story, frame, voice,
                        cluster, flagged, include_duplicates)  # fmt: skip
    filters = build_filters(given)
    limit, offset = page_window(limit, offset, page)
    with opened_store(settings, read_only=True) as factory, unit_of_work(factory) as session:
        frames = frame_names(settings) if filters.frame else []
        check_filters(session, filters, story_names(settings), frames)
        result = search_articles(
            session, parsed, filters, sort, limit, offset, time_limit=CLI_SEARCH_SECONDS
        )
    if fmt == "table":
        _print_table(result)
    else:
        write_records((hit_record(hit) for hit in result.hits), fmt, sys.stdout, HIT_FIELDS)


def _marked(text: str) -> Text:
    """Highlighted parts in bold, everything else as plain text (never markup)."""
    rendered = Text()
    for segment, highlighted in split_marked(text):
        rendered.append(segment, style="bold yellow" if highlighted else None)
    return rendered


SEARCH_COLUMNS = (
    Column("id", head=True, right=True), Column("date", head=True), Column("outlet", head=True),
    Column("title and snippet", prose=True),
)  # fmt: skip


def _print_table(page: SearchPage) -> None:
    rows: list[list[Cell]] = []
    for hit in page.hits:
        body = _marked(hit.title_marked)
        body.stylize("bold", 0, len(body))
        body.append("\n")
        body.append_text(_marked(hit.snippet))
        if hit.frames:
            used = ", ".join(f"{f['frame']} ({f['voice']})" for f in hit.frames)
            body.append(f"\nframes: {used}", style="dim")
        rows.append([f"#{hit.id}", iso(hit.published_at or hit.fetched_at), hit.outlet, body])
    title = f"search results, by {page.sort}"
    show_rows(console, title, SEARCH_COLUMNS, rows, empty="no matches")
    console.file.flush()
    shown = f"{page.offset + 1}-{page.offset + len(page.hits)}" if page.hits else "none"
    noun = "match" if page.total == 1 and page.total_exact else "matches"
    total = f"{page.total:,} {noun}" if page.total_exact else f"more than {page.total:,} matches"
    ranked = f"; by relevance among the newest {RANK_WINDOW:,}" if ranked_window(page) else ""
    err_console.print(f"showing {shown} of {total}{ranked}", markup=False)


@main.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the full-text search index from the stored articles."""
    settings = settings_of(ctx)
    started = time.monotonic()
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        count = search_schema.rebuild_index(session.connection())
    took = time.monotonic() - started
    console.print(f"search index rebuilt: {count} articles in {took:.1f}s", markup=False)
