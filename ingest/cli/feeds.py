"""`poll` and `sources`: polling feeds and their health."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from ingest.cli.app import console, err_console, iso, main, make_fetcher, opened_store, settings_of
from ingest.cli.outages import store_view
from ingest.cli.output import MACHINE_FORMATS, write_records
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
        run = last_crawls.get(h.name)
        if h.kind == "site":
            state, errors = _crawl_state(h, run), _crawl_errors(run)
            success = run.last_success_at if run else None
        else:
            state, success = _state_label(h), h.last_success_at
            errors = f"{h.consecutive_errors} ({h.error_count} total)"
        table.add_row(
            h.name,
            h.kind,
            h.group or "—",
            state,
            iso(success),
            errors,
            str(h.articles),
            (h.last_error or h.last_warning or (run.stop_reason if run else "") or "")[:160],
        )
    console.print(table)
    if last_crawls:
        _print_last_crawls(last_crawls)


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


def _state_label(h: SourceHealth) -> str:
    if not h.active:
        return "removed from config"
    if h.failing_since:
        return f"[red]failing since {iso(h.failing_since)}[/red]"
    if h.last_polled_at is None:
        return "never polled"
    return f"ok ({h.status})"


def _crawl_state(h: SourceHealth, run: crawls.CrawlSummary | None) -> str:
    if not h.active:
        return "removed from config"
    if run is None:
        return "never crawled"
    if run.status in (crawls.FAILED, crawls.KILLED):
        return f"[red]{run.status} {iso(run.started_at)}[/red]"
    return f"ok ({run.status})"


def _crawl_errors(run: crawls.CrawlSummary | None) -> str:
    return f"{sum(run.errors.values())} in last crawl" if run else "—"


def _print_last_crawls(last_crawls: dict[str, crawls.CrawlSummary]) -> None:
    table = Table(title="last site crawls")
    for column in ("site", "started", "status", "pages", "items", "new", "took", "stopped because"):
        table.add_column(column, overflow="fold")
    for name, run in sorted(last_crawls.items()):
        problems = ", ".join(f"{kind} {n}" for kind, n in run.errors.items())
        reason = (run.stop_reason or "") + (f" (problems: {problems})" if problems else "")
        table.add_row(
            name,
            iso(run.started_at),
            run.status if run.status == crawls.FINISHED else f"[red]{run.status}[/red]",
            str(run.pages),
            str(run.items),
            str(run.new_articles),
            f"{run.duration_ms / 1000:.1f}s",
            reason[:300],
        )
    console.print(table)
