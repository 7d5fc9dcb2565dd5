"""`clusters`: recent event clusters, with how many articles and outlets carried them."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from rich.text import Text

from ingest.cli.app import console, iso, main, opened_store, settings_of
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.cli.tables import Cell, Column, count, show_rows
from ingest.model.errors import ConfigError
from storage import neardup
from storage.db import unit_of_work

MAX_LIMIT = 1000


@main.command()
@click.option("--story", default=None, help="Only clusters of this story.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Only clusters active since this date (UTC).",
)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", *MACHINE_FORMATS]), default="table")
@click.pass_context
def clusters(
    ctx: click.Context, story: str | None, since: datetime | None, limit: int, fmt: str
) -> None:
    """Recent event clusters: the same event reported by several outlets."""
    settings = settings_of(ctx)
    if story and story not in {s.name for s in settings.active_stories}:
        known = ", ".join(s.name for s in settings.active_stories)
        raise ConfigError(f"unknown story {story!r} (stories: {known})")
    since_utc = since.replace(tzinfo=UTC) if since else None
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        rows = neardup.recent_clusters(session, story, since_utc, limit)
    if fmt != "table":
        records = [
            {
                **vars(r),
                "first_seen_at": r.first_seen_at.isoformat(),
                "last_seen_at": r.last_seen_at.isoformat(),
            }
            for r in rows
        ]
        write_records(records, fmt, sys.stdout)
        return
    columns = (
        Column("id", head=True, right=True), Column("first seen", head=True),
        Column("last seen"), Column("articles", right=True), Column("copies", right=True),
        Column("label", prose=True), Column("top terms", prose=True), Column("outlets", prose=True),
    )  # fmt: skip
    table: list[list[Cell]] = [
        [f"#{r.id}", iso(r.first_seen_at), iso(r.last_seen_at), str(r.articles), str(r.copies),
         Text(r.label, style="bold"), Text(", ".join(r.top_terms), style="dim"),
         _outlets(r.outlets)]
        for r in rows
    ]  # fmt: skip
    title = f"{count(len(table), 'cluster')}, most recent first"
    show_rows(console, title, columns, table, empty="no clusters")


def _outlets(outlets: list[str], shown: int = 3) -> str:
    more = f" +{len(outlets) - shown}" if len(outlets) > shown else ""
    return f"{len(outlets)}: {', '.join(outlets[:shown])}{more}"
