"""`crawl`: site crawls, all at once in one crawl process, with every site's run recorded."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from typing import Any

import click
from rich.text import Text

from ingest.cli.app import console, err_console, main, opened_store, settings_of
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.cli.tables import Column, count, show_rows
from ingest.config.settings import parse_duration
from ingest.model.errors import ConfigError


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("name", required=False)
@click.option("--refresh", is_flag=True, help="Fetch article pages again even when stored.")
@click.option(
    "--time-limit",
    "time_limit_s",
    callback=_duration,
    default=None,
    metavar="DURATION",
    help="Kill a crawl still running after this (e.g. 10m; default: [crawl] time_limit).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", *MACHINE_FORMATS]),
    default="table",
    help="Output: a table for people, or a machine-readable report.",
)
@click.pass_context
def crawl(
    ctx: click.Context, name: str | None, refresh: bool, time_limit_s: float | None, fmt: str
) -> None:
    """Crawl one configured site (NAME) or all of them, at once in one crawl process."""
    from ingest.sources.crawl import crawl_sites

    settings = settings_of(ctx)
    if name:
        settings.site(name)  # unknown names fail before any work
    elif not settings.sites:
        raise ConfigError("no [[sites]] configured; add some to the config file")
    level = logging.getLevelName(min(logging.getLogger().getEffectiveLevel(), logging.WARNING))
    with opened_store(settings) as factory:
        if fmt == "table":
            err_console.print(f"crawling {name or f'{len(settings.sites)} sites'}…", markup=False)
        reports = crawl_sites(
            settings,
            factory,
            names=(name,) if name else (),
            refresh=refresh,
            time_limit_s=time_limit_s,
            log_level=level,
        )
    if fmt == "table":
        _print_crawl_reports(reports)
    else:
        write_records((asdict(r) for r in reports), fmt, sys.stdout)
    if reports and all(r.failed for r in reports):
        sys.exit(1)


def _print_crawl_reports(reports: list[Any]) -> None:
    columns = [Column("site", head=True), Column("status", head=True)]
    columns += [Column(name, right=True) for name in ("pages", "items", "new", "dupes",
                                                      "off-story")]  # fmt: skip
    columns += [Column("took", right=True), Column("stopped because", prose=True),
                Column("problems", prose=True)]  # fmt: skip
    rows = []
    for r in reports:
        status = Text(r.status, style="red") if r.failed else r.status
        problems = ", ".join(f"{kind} {n}" for kind, n in r.errors.items()) or "—"
        numbers = (r.pages, r.items, r.new_articles, r.duplicates, r.off_story)
        rows.append([r.site, status, *map(str, numbers), f"{r.duration_ms / 1000:.1f}s",
                     r.stop_reason or "—", problems])  # fmt: skip
    show_rows(console, count(len(rows), "crawl"), columns, rows, empty="no crawls")
    stored = sum(r.new_articles for r in reports)
    failed = sum(1 for r in reports if r.failed)
    console.print(
        f"{count(stored, 'new article')} stored, {count(failed, 'crawl')} failed", markup=False
    )
