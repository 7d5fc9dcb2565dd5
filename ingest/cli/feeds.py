"""`poll` and `sources`: polling feeds and their health."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from rich.text import Text

from ingest.cli.app import console, err_console, iso, main, make_fetcher, opened_store, settings_of
from ingest.cli.outages import store_view
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.cli.tables import Cell, Column, count, show_rows
from ingest.config.settings import Settings
from ingest.model.errors import ConfigError, StorageError
from storage import crawls
from storage.db import unit_of_work
from storage.health import SourceHealth, source_health


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

    from ingest.sources.poll import poll_feeds

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


POLL_COLUMNS = (
    Column("feed", head=True), Column("status", head=True),
    *(Column(name, right=True) for name in ("entries", "new", "stored", "dupes", "off-story")),
    Column("note", prose=True),
)  # fmt: skip


def _print_poll_report(report: Any) -> None:
    rows = []
    for f in report.feeds:
        note = f.error or "; ".join(f.warnings)
        if f.page_errors:
            note = f"{note}; {count(f.page_errors, 'page fetch')} failed".lstrip("; ")
        failed = f.error and f.status != "skipped"
        numbers = (f.entries, f.new_entries, f.stored, f.duplicates, f.irrelevant)
        rows.append([f.name, Text(f.status, style="red") if failed else f.status,
                     *map(str, numbers), note or "—"])  # fmt: skip
    show_rows(console, f"poll: {count(len(rows), 'feed')}", POLL_COLUMNS, rows, "no feeds polled")
    console.print(
        f"{count(report.total('stored'), 'new article')} stored, "
        f"{count(report.total('duplicates'), 'duplicate')} recorded, "
        f"{count(len(report.failed), 'feed')} failing",
        markup=False,
    )


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", *MACHINE_FORMATS]), default="table")
@click.pass_context
def sources(ctx: click.Context, fmt: str) -> None:
    """Each source's health: last success, errors (since when), items carried, last crawl.

    A store outage is told apart, on a line of its own (on stderr with ``--format``)."""
    settings = settings_of(ctx)
    try:
        with opened_store(settings) as factory, unit_of_work(factory) as session:
            health = source_health(session)
            last_crawls = crawls.last_crawls(session)
    except StorageError as exc:
        view = store_view(settings, str(exc))
        if view.outage is not None:  # the service knows since when
            err_console.print(f"storage: {view.storage()}", markup=False, soft_wrap=True)
        raise
    view = store_view(settings, None)
    if not view.usable:
        where = err_console if fmt != "table" else console
        where.print(f"storage: {view.storage()}; sources as last recorded",
                    markup=False, soft_wrap=True)  # fmt: skip
    if fmt != "table":
        write_records(_source_records(health, last_crawls), fmt, sys.stdout)
        return
    rows = [_source_row(h, last_crawls.get(h.name)) for h in health]
    show_rows(console, count(len(rows), "source"), SOURCE_COLUMNS, rows, empty="no sources")
    if last_crawls:
        _print_last_crawls(last_crawls)


SOURCE_COLUMNS = (
    Column("source", head=True), Column("kind", head=True), Column("group"),
    Column("state"), Column("last success"), Column("errors"),
    Column("articles", right=True), Column("problem", prose=True),
)  # fmt: skip


def _source_row(h: SourceHealth, run: crawls.CrawlSummary | None) -> list[Cell]:
    if h.kind == "site":
        state, errors = _crawl_state(h, run), _crawl_errors(run)
        success = run.last_success_at if run else None
    else:
        state, success = _state_label(h), h.last_success_at
        errors = f"{h.consecutive_errors} ({h.error_count} total)"
    problem = h.last_error or h.last_warning or (run.stop_reason if run else "") or "—"
    return [h.name, h.kind, h.group or "—", state, iso(success), errors, str(h.articles), problem]


def _source_records(
    health: list[SourceHealth], last_crawls: dict[str, crawls.CrawlSummary]
) -> list[dict[str, Any]]:
    rows = []
    for h in health:
        row = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(h).items()}
        run = last_crawls.get(h.name)
        if h.kind == "site":
            row["last_crawl"] = run.as_record() if run else None
        rows.append(row)
    return rows


def _state_label(h: SourceHealth) -> Cell:
    if not h.active:
        return "removed from config"
    if h.failing_since:
        return Text(f"failing since {iso(h.failing_since)}", style="red")
    if h.last_polled_at is None:
        return "never polled"
    return f"ok ({h.status})"


def _crawl_state(h: SourceHealth, run: crawls.CrawlSummary | None) -> Cell:
    if not h.active:
        return "removed from config"
    if run is None:
        return "never crawled"
    if run.status in (crawls.FAILED, crawls.KILLED):
        return Text(f"{run.status} {iso(run.started_at)}", style="red")
    return f"ok ({run.status})"


def _crawl_errors(run: crawls.CrawlSummary | None) -> str:
    return f"{sum(run.errors.values())} in last crawl" if run else "—"


def _print_last_crawls(last_crawls: dict[str, crawls.CrawlSummary]) -> None:
    columns = (
        Column("site", head=True), Column("started", head=True), Column("status", head=True),
        *(Column(name, right=True) for name in ("pages", "items", "new", "took")),
        Column("stopped because", prose=True),
    )  # fmt: skip
    rows = []
    for name, run in sorted(last_crawls.items()):
        problems = ", ".join(f"{kind} {n}" for kind, n in run.errors.items())
        reason = (run.stop_reason or "") + (f" (problems: {problems})" if problems else "")
        status = run.status if run.status == crawls.FINISHED else Text(run.status, style="red")
        numbers = (run.pages, run.items, run.new_articles)
        took = f"{run.duration_ms / 1000:.1f}s"
        rows.append([name, iso(run.started_at), status, *map(str, numbers), took, reason or "—"])
    console.print()
    show_rows(console, "last site crawls", columns, rows, empty="no site crawls", titled=True)
