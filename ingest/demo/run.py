"""`framewatch demo`: serve the bundled sample news web on 127.0.0.1 and run the pipeline."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from ingest.config.settings import load_settings
from ingest.demo.webfixture import FixtureServer
from ingest.digest.job import show_demo_digest
from ingest.fetch.client import Fetcher
from ingest.sources.crawl import CrawlReport, crawl_sites
from ingest.sources.poll import PollReport, poll_feeds
from storage import migrate, repo
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Article, Cluster, Flag, Sighting

DEMO_DATA = Path(__file__).resolve().parent / "data"
CONFIG_TEMPLATE = DEMO_DATA / "framewatch.toml"


def write_demo_config(out: Path, base_url: str) -> Path:
    """The demo's config, pointing at the local server and a database in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    db_path = (out / "framewatch.db").resolve()
    text = CONFIG_TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("{{BASE}}", base_url).replace("{{DB}}", db_path.as_posix())
    config = out / "framewatch.toml"
    config.write_text(text, encoding="utf-8")
    return config


def run_demo(out: Path, console: Console) -> PollReport:
    """Fresh database in ``out``, one full poll of the sample web, the site crawls, and a
    summary."""
    started = time.monotonic()
    for stale in ("framewatch.db", "framewatch.db-wal", "framewatch.db-shm"):
        (out / stale).unlink(missing_ok=True)
    with FixtureServer(DEMO_DATA) as server:
        config = write_demo_config(out, server.base_url)
        settings = load_settings(config)
        engine = make_engine(settings.database.url)
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        console.print(f"serving the sample news web at {server.base_url}", markup=False)
        f = settings.fetch
        with Fetcher(f.user_agent, f.timeout_s, f.max_bytes, f.allow_private_addresses) as fetcher:
            report = poll_feeds(settings, factory, fetcher)
        sites = f"{len(settings.sites)} site{'' if len(settings.sites) == 1 else 's'}"
        console.print(f"crawling {sites} at once in one crawl process", markup=False)
        crawled = crawl_sites(settings, factory)
    _print_summary(console, report, factory)
    _print_crawls(console, crawled)
    # -- daily digest: the demo story's busiest day (ingest.digest.job) --
    show_demo_digest(settings, factory, console)
    engine.dispose()
    console.print(f"finished in {time.monotonic() - started:.1f}s", markup=False)
    _print_next_steps(console, config)
    return report


def _print_crawls(console: Console, reports: list[CrawlReport]) -> None:
    table = Table(title="site crawls")
    for column in ("site", "status", "pages", "items", "new", "dupes", "off-story"):
        table.add_column(column, overflow="fold")
    for r in reports:
        table.add_row(
            r.site,
            r.status,
            str(r.pages),
            str(r.items),
            str(r.new_articles),
            str(r.duplicates),
            str(r.off_story),
        )
    console.print(table)
    for r in reports:
        console.print(f"  {r.site}: {r.stop_reason}", markup=False, soft_wrap=True)


def _print_summary(console: Console, report: PollReport, factory: object) -> None:
    with unit_of_work(factory) as session:  # type: ignore[arg-type]
        rows = session.execute(select(Article.outlet, Article.language)).all()
        sightings = repo.count(session, Sighting)
        copies = repo.count(session, Article, Article.duplicate_of.is_not(None))
        clusters = repo.count(session, Cluster)
        flags = repo.count(session, Flag)
    by_outlet = Counter(outlet for outlet, _ in rows)
    by_language = Counter(language or "?" for _, language in rows)
    console.print(
        f"entries seen: {report.total('entries')}, new: {report.total('new_entries')}, "
        f"relevant and stored: {report.total('stored')}, duplicates: {report.total('duplicates')}, "
        f"off-story: {report.total('irrelevant')}, sightings: {sightings}",
        markup=False,
    )
    console.print(
        f"near-copies: {copies}, event clusters: {clusters}, framing flags: {flags}",
        markup=False,
    )
    table = Table(title="stored articles by outlet")
    table.add_column("outlet")
    table.add_column("articles", justify="right")
    for outlet, n in by_outlet.most_common():
        table.add_row(outlet, str(n))
    console.print(table)
    console.print("by language: " + ", ".join(f"{k} {v}" for k, v in by_language.most_common()))
    if report.failed:
        console.print("feeds with errors (shown by `sources` too):", markup=False)
        for f in report.failed:
            console.print(f"  {f.name}: {f.error}", markup=False, soft_wrap=True)


def _print_next_steps(console: Console, config: Path) -> None:
    """One line per command, never wrapped, so each can be copied and pasted whole."""
    console.print("\nnext, try:", markup=False)
    for command in (
        "sources",
        "flags",
        "frames",
        "clusters",
        'search "hostage* OR заложник*"',
        "export --format jsonl | head -3",
        "serve            # then open http://127.0.0.1:8080/",
    ):
        console.print(f"  framewatch --config {config} {command}", markup=False, soft_wrap=True)
