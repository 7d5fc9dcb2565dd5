"""`run` (the service) and `status` (its health at a glance)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import click

from ingest.cli.app import console, iso, main, opened_store, settings_of
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.cli.tables import Column, count, show_rows
from ingest.service.lock import ServiceLock
from ingest.service.logs import configure_logging
from storage.db import make_engine, unit_of_work
from storage.status import StatusReport, service_status


@main.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve /healthz and Prometheus /metrics on 127.0.0.1:PORT.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for log shippers.",
)
@click.pass_context
def run(ctx: click.Context, metrics_port: int | None, log_format: str) -> None:
    """Run the service: poll feeds, crawl sites and maintain the store on schedule."""
    from ingest.service.runner import Service, ServiceOptions

    verbose = ctx.find_root().params.get("verbose", 0)
    configure_logging(logging.DEBUG if verbose > 1 else logging.INFO, log_format)
    settings = settings_of(ctx)
    engine = make_engine(settings.database.url)
    try:
        Service(settings, engine, ServiceOptions(metrics_port=metrics_port)).run()
    finally:
        engine.dispose()


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", *MACHINE_FORMATS]), default="table")
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Is the service running, what did it do last, and what is failing."""
    settings = settings_of(ctx)
    with opened_store(settings) as factory:
        holder = ServiceLock(make_engine(settings.database.url)).holder()
        with unit_of_work(factory) as session:
            report = service_status(session, datetime.now(UTC))
    running = f"running ({holder.describe()})" if holder else "not running"
    if fmt != "table":
        record = {"service": running, "running": holder is not None, **_plain(report)}
        write_records([record], fmt, sys.stdout)
        return
    _print_status(running, report)


def _plain(report: StatusReport) -> dict[str, object]:
    def value(v: object) -> object:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [value(vars(x)) for x in v]
        if hasattr(v, "__dataclass_fields__"):
            return value(vars(v))
        return v

    return {k: value(v) for k, v in vars(report).items()}


def _print_status(running: str, report: StatusReport) -> None:
    console.print(f"service: {running}", markup=False)
    feeds = ", ".join(f"{n} {status}" for status, n in sorted(report.feeds_by_status.items()))
    console.print(
        f"last poll: {iso(report.last_poll_at)} UTC ({feeds or 'no feeds'})", markup=False
    )
    crawl = report.last_crawl
    if crawl:
        console.print(
            f"last crawl: {crawl.site} at {iso(crawl.started_at)} UTC, {crawl.status}, "
            f"{count(crawl.new_articles, 'new article')} ({crawl.stop_reason})",
            markup=False,
        )
    else:
        console.print("last crawl: none", markup=False)
    console.print(
        f"articles: {report.articles_24h} in the last 24 h, {report.articles_total} in all",
        markup=False,
    )
    if not report.failing:
        console.print("failing sources: none", markup=False)
        return
    columns = (Column("source", head=True), Column("kind", head=True),
               Column("failing since", head=True), Column("last error", prose=True))  # fmt: skip
    rows = [(f.name, f.kind, f"{iso(f.since)} UTC", f.error or "—") for f in report.failing]
    show_rows(console, count(len(rows), "failing source"), columns, rows, empty="")
