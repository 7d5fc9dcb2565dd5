"""`poll` and `sources`: polling feeds and their health."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from ingest.cli import console, err_console, iso, main, make_fetcher, opened_store, settings_of
from ingest.config import Settings
from ingest.errors import ConfigError
from ingest.output import MACHINE_FORMATS, write_records
from storage import repo
from storage.db import unit_of_work


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
