"""`digest`: write (or rewrite) a day's digest as HTML and/or Markdown, and the feed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session, sessionmaker

from ingest.cli.app import console, iso, main, opened_store, settings_of
from ingest.config.settings import Settings
from ingest.digest.job import (
    FEED_NAME,
    FORMATS,
    WrittenDigest,
    default_out_dir,
    send_digest,
    write_digest,
    yesterday,
)
from ingest.digest.mail import check_mail_settings
from ingest.model.errors import ConfigError
from storage import digests
from storage.db import unit_of_work


def _stories(settings: Settings, story: str | None) -> list[str]:
    names = [s.name for s in settings.active_stories]
    if story and story not in names:
        raise ConfigError(f"unknown story {story!r} (stories: {', '.join(names)})")
    return [story] if story else names


def _print(written: WrittenDigest) -> None:
    console.print(written.summary, markup=False, soft_wrap=True)
    for path in written.paths:
        console.print(f"  {path}", markup=False, soft_wrap=True)


@main.command()
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The day, YYYY-MM-DD, in the configured time zone (default: yesterday).",
)
@click.option("--story", default=None, help="Only this story (default: every story).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the files (default: [digest] out_dir, else digests/ beside the database).",
)
@click.option(
    "--format", "fmt", type=click.Choice(list(FORMATS)), default="both", show_default=True
)
@click.option("--send", is_flag=True, help="Also e-mail it ([digest] SMTP), unless sent before.")
@click.pass_context
def digest(
    ctx: click.Context,
    day: datetime | None,
    story: str | None,
    out: str | None,
    fmt: str,
    send: bool,
) -> None:
    """Write the daily digest of a day: numbers, new framings, events, articles."""
    settings = settings_of(ctx)
    names = _stories(settings, story)
    now = datetime.now(UTC)
    wanted = day.date() if day else yesterday(settings, now)
    today = now.astimezone(ZoneInfo(settings.schedule.timezone)).date()
    if wanted > today:
        raise click.BadParameter(f"{wanted.isoformat()} is in the future", param_hint="--date")
    if send:
        check_mail_settings(settings.digest)
    out_dir = Path(out) if out else default_out_dir(settings)
    with opened_store(settings) as factory:
        for name in names:
            _print(write_digest(settings, factory, name, wanted, out_dir, fmt, now))
            if send:
                _send(settings, factory, name, wanted, now)
    console.print(f"feed: {out_dir.resolve() / FEED_NAME}", markup=False, soft_wrap=True)
    if wanted == today:
        console.print("note: the day is not over; its later articles will be late arrivals")


def _send(
    settings: Settings, factory: sessionmaker[Session], story: str, day: date, now: datetime
) -> None:
    if send_digest(settings, factory, story, day, now):
        console.print(f"  e-mailed to {', '.join(settings.digest.recipients)}", markup=False)
        return
    with unit_of_work(factory) as session:
        row = digests.get_digest(session, story, day)
        sent = row.sent_at if row else None
    console.print(f"  already e-mailed at {iso(sent)} UTC; not sent again", markup=False)
