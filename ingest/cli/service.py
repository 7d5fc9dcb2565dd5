"""`run` (the service) and `status` (its health at a glance)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import click

from ingest.cli.app import console, iso, main, opened_store, settings_of
from ingest.cli.outages import outage_line, store_view
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.cli.tables import Column, count, show_rows
from ingest.model.errors import StorageError
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
    """Is the service running, is the store usable, what did it do last, what is failing.

    Exits 1 when the store is unusable (the service's outage, or it cannot be read)."""
    settings = settings_of(ctx)
    report, error = None, None
    try:
        with opened_store(settings) as factory, unit_of_work(factory) as session:
            report = service_status(session, datetime.now(UTC))
    except StorageError as exc:
        error = str(exc)
    view = store_view(settings, error)
    if fmt != "table":
        record = {"service": view.running(), "running": view.holder is not None,
                  "storage": view.record(), **(_plain(report) if report else {})}  # fmt: skip
        write_records([record], fmt, sys.stdout)
    else:
        console.print(f"service: {view.running()}", markup=False, soft_wrap=True)
        console.print(f"storage: {view.storage()}", markup=False, soft_wrap=True)
        if report is not None:
            _print_status(report)
    if not view.usable:
        sys.exit(1)


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


def _print_status(report: StatusReport) -> None:
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
    if report.last_outage is not None:
        console.print(f"last storage outage: {outage_line(report.last_outage)}", markup=False)
    if not report.failing:
        console.print("failing sources: none", markup=False)
        return
    columns = (Column("source", head=True), Column("kind", head=True),
               Column("failing since", head=True), Column("last error", prose=True))  # fmt: skip
    rows = [(f.name, f.kind, f"{iso(f.since)} UTC", f.error or "—") for f in report.failing]
    show_rows(console, count(len(rows), "failing source"), columns, rows, empty="")
