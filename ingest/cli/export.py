"""`export`: stored articles as jsonl, json or csv."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from ingest.cli.app import err_console, main, opened_store, settings_of
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.model.errors import ConfigError
from storage.db import unit_of_work
from storage.export import EXPORT_FIELDS, export_records


@main.command()
@click.option(
    "--format", "fmt", type=click.Choice(MACHINE_FORMATS), default="jsonl", show_default=True
)
@click.option("--with-text", is_flag=True, help="Include the extracted article text.")
@click.option("--story", default=None, help="Only articles of this story.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Only articles published or fetched since this date (UTC).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of standard output.",
)
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str,
    with_text: bool,
    story: str | None,
    since: datetime | None,
    out: str | None,
) -> None:
    """Export stored articles (one JSON object per line by default)."""
    settings = settings_of(ctx)
    if story and story not in {s.name for s in settings.active_stories}:
        known = ", ".join(s.name for s in settings.active_stories)
        raise ConfigError(f"unknown story {story!r} (stories: {known})")
    fields = EXPORT_FIELDS + (("text",) if with_text else ())
    since_utc = since.replace(tzinfo=UTC) if since else None
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        records = export_records(session, story, since_utc, with_text)
        if out:
            with open(out, "w", encoding="utf-8", newline="") as handle:
                count = write_records(records, fmt, handle, fields)
            err_console.print(f"{count} articles written to {out}", markup=False)
        else:
            write_records(records, fmt, sys.stdout, fields)
