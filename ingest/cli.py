"""The `framewatch` command line: a thin layer over the library.

Errors become one line on stderr and a non-zero exit (2 for usage and query errors).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from ingest import __version__
from ingest.config import Settings, load_settings
from ingest.errors import ConfigError, FramewatchError, QueryError
from ingest.output import MACHINE_FORMATS, write_records
from storage import migrate, repo
from storage.db import make_engine, make_session_factory, unit_of_work

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


class FramewatchGroup(click.Group):
    """Turns framewatch's own errors into one clear line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QueryError as exc:
            err_console.print(f"framewatch: error: {exc}", markup=False)
            err_console.print(exc.pointer(), markup=False)
            sys.exit(2)
        except ConfigError as exc:
            err_console.print(f"framewatch: config error: {exc}", markup=False)
            sys.exit(2)
        except FramewatchError as exc:
            err_console.print(f"framewatch: error: {exc}", markup=False)
            sys.exit(1)


@click.group(cls=FramewatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $FRAMEWATCH_CONFIG, else ./framewatch.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.version_option(__version__, prog_name="framewatch")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """framewatch: follow a news story across outlets and languages and see how it is framed."""
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = {"config_path": config_path}


def settings_of(ctx: click.Context) -> Settings:
    """Load the settings once per invocation (so `--help` never needs a config)."""
    obj = ctx.find_root().obj
    if "settings" not in obj:
        obj["settings"] = load_settings(obj["config_path"])
    return obj["settings"]


@contextmanager
def opened_store(settings: Settings, check: bool = True) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database.url)
    try:
        if check:
            migrate.require_current(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "—"


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or migrate the database and register the configured sources."""
    settings = settings_of(ctx)
    from ingest.poll import sync_config_sources

    engine = make_engine(settings.database.url)
    try:
        migrate.upgrade(engine)
        ids = sync_config_sources(settings, make_session_factory(engine), datetime.now(UTC))
        revision = migrate.current_revision(engine)
    finally:
        engine.dispose()
    console.print(
        f"database ready at {engine.url.render_as_string()} (schema {revision}), "
        f"{len(ids)} sources configured",
        markup=False,
    )


def make_fetcher(settings: Settings) -> Any:
    from ingest.fetch import Fetcher

    f = settings.fetch
    return Fetcher(
        f.user_agent,
        f.timeout_s,
        f.max_bytes,
        f.allow_private_addresses,
        max_connections=max(8, f.concurrency * 2),
    )


@main.command()
@click.option("--feed", "feeds", multiple=True, help="Poll only this feed (repeatable).")
@click.option("--force", is_flag=True, help="Also poll feeds that are backing off after errors.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", *MACHINE_FORMATS]),
    default="table",
    help="Output: a table for people, or a machine-readable report.",
)
@click.pass_context
def poll(ctx: click.Context, feeds: tuple[str, ...], force: bool, fmt: str) -> None:
    """Poll the configured feeds once and store new coverage."""

    settings = settings_of(ctx)
    for name in feeds:
        settings.feed(name)  # unknown names fail before any work
    if not settings.feeds:
        raise ConfigError("no [[feeds]] configured; add some to the config file")
    with opened_store(settings) as factory, make_fetcher(settings) as fetcher:
        report = _run_poll(settings, factory, fetcher, feeds, force, show_progress=fmt == "table")
    if fmt == "table":
        _print_poll_report(report)
    else:
        rows = [vars(f) for f in report.feeds]
        write_records(rows, fmt, sys.stdout)
    if report.feeds and len(report.failed) == len(report.feeds):
        sys.exit(1)  # every feed failed: worth a non-zero exit for cron users


def _run_poll(
    settings: Settings,
    factory: Any,
    fetcher: Any,
    feeds: tuple[str, ...],
    force: bool,
    show_progress: bool,
) -> Any:
    from rich.progress import Progress

    from ingest.poll import poll_feeds

    total = len(feeds) or len(settings.feeds)
    with Progress(console=err_console, transient=True, disable=not show_progress) as progress:
        task = progress.add_task("polling feeds", total=total)
        return poll_feeds(
            settings,
            factory,
            fetcher,
            only=feeds,
            force=force,
            on_feed_done=lambda _r: progress.advance(task),
        )


def _print_poll_report(report: Any) -> None:
    table = Table(title="poll")
    for column in ("feed", "status", "entries", "new", "stored", "dupes", "off-story", "note"):
        table.add_column(column, overflow="fold")
    for f in report.feeds:
        note = f.error or "; ".join(f.warnings)
        if f.page_errors:
            note = f"{note}; {f.page_errors} page fetches failed".lstrip("; ")
        status = f"[red]{f.status}[/red]" if f.error and f.status != "skipped" else f.status
        table.add_row(
            f.name,
            status,
            str(f.entries),
            str(f.new_entries),
            str(f.stored),
            str(f.duplicates),
            str(f.irrelevant),
            note[:200],
        )
    console.print(table)
    console.print(
        f"{report.total('stored')} new articles stored, "
        f"{report.total('duplicates')} duplicates recorded, "
        f"{len(report.failed)} feeds failing",
        markup=False,
    )


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
    fields = repo.EXPORT_FIELDS + (("text",) if with_text else ())
    since_utc = since.replace(tzinfo=UTC) if since else None
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        records = repo.export_records(session, story, since_utc, with_text)
        if out:
            with open(out, "w", encoding="utf-8", newline="") as handle:
                count = write_records(records, fmt, handle, fields)
            err_console.print(f"{count} articles written to {out}", markup=False)
        else:
            write_records(records, fmt, sys.stdout, fields)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", *MACHINE_FORMATS]), default="table")
@click.pass_context
def sources(ctx: click.Context, fmt: str) -> None:
    """Each source's health: last success, errors (since when), items carried."""
    settings = settings_of(ctx)
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        health = repo.source_health(session)
    if fmt != "table":
        rows = [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(h).items()}
            for h in health
        ]
        write_records(rows, fmt, sys.stdout)
        return
    table = Table(title="sources")
    for column in (
        "source",
        "kind",
        "group",
        "state",
        "last success",
        "errors",
        "articles",
        "problem",
    ):
        table.add_column(column, overflow="fold")
    for h in health:
        table.add_row(
            h.name,
            h.kind,
            h.group or "—",
            _state_label(h),
            iso(h.last_success_at),
            f"{h.consecutive_errors} ({h.error_count} total)",
            str(h.articles),
            (h.last_error or h.last_warning or "")[:160],
        )
    console.print(table)


def _state_label(h: repo.SourceHealth) -> str:
    if not h.active:
        return "removed from config"
    if h.failing_since:
        return f"[red]failing since {iso(h.failing_since)}[/red]"
    if h.last_polled_at is None:
        return "never polled"
    return f"ok ({h.status})"


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="framewatch-demo",
    show_default=True,
    help="Folder for the demo's database and config.",
)
@click.pass_context
def demo(ctx: click.Context, out: str) -> None:
    """Run the whole pipeline on the bundled offline sample news web."""
    from ingest.demo import run_demo

    run_demo(Path(out), console)
