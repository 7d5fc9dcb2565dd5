"""Crawled coverage gets its flags: `framewatch crawl` and the service's crawl job end the
crawls' batch in the parent process (``ingest.sources.crawl.finish_crawls``), so a config
with only ``[[sites]]`` gets flags, and a crawled article older than the feeds' coverage
becomes the first use of its frames.

The site is "The Northern Courier" (tests/data/crawlflags, served by the ``web`` fixture
under /crawlflags/): a listing and three English articles dated by their
``article:published_time`` meta tags, each using a frame of the built-in codebook that
the others do not; feed.xml is a wire feed dated between them. The CLI and the service
run as subprocesses, as a user runs them, on SQLite and PostgreSQL (the ``store``
fixture migrates the database, as ``framewatch init`` would, without one more start-up).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.demo.webfixture import FixtureServer
from storage import frames
from storage.db import unit_of_work
from storage.models import Article, CrawlRun, Flag
from tests.conftest import CliResult, run_cli, write_config
from tests.support.crawlsite import ARTICLE_PATTERN
from tests.test_service import _start, _stop, _wait_for

SITE = "/crawlflags"
COURIER, WIRE = "courier.example", "wire.example"
HOSTAGES = f"{SITE}/news/2025/prisoners-as-hostages.html"  # 2 June 2025: hostage_diplomacy
PARDON = f"{SITE}/news/2025/pardon-on-humanitarian-grounds.html"  # 3 July: humanitarian_pardon
DEAL = f"{SITE}/news/2025/sanctions-deal-frees-prisoners.html"  # 20 Sept: transactional_deal
WIRE_FREED = f"{SITE}/wire/freed-hostages.html"  # 12 Sept: hostage_diplomacy and a deal
HOSTAGES_AT = datetime(2025, 6, 2, 5, 15, tzinfo=UTC)  # 08:15 +03:00 in its meta tag
WIRE_FREED_AT = datetime(2025, 9, 12, 10, 0, tzinfo=UTC)
CRAWLED_FIRST_USES = {"hostage_diplomacy": HOSTAGES, "humanitarian_pardon": PARDON,
                      "transactional_deal": DEAL}  # fmt: skip
VOLATILE = ("id", "created_at", "status")  # what a recompute may legitimately change
Records = list[dict[str, Any]]


def _config(
    tmp_path: Path, database_url: str, base: str, *, feed: bool = False, extra: str = ""
) -> Path:
    """The Courier as the only site, with or without the wire feed."""
    feeds: list[dict[str, object]] = []
    if feed:
        feeds.append({"name": "wire", "url": f"{base}{SITE}/feed.xml", "outlet": WIRE,
                      "group": "western"})  # fmt: skip
    site = f"""
[crawl]
start_delay_s = 0
retry_backoff_s = 0.1

[[sites]]
name = "courier"
start_urls = ["{base}{SITE}/news/index.html"]
article_pattern = '{ARTICLE_PATTERN}'
outlet = "{COURIER}"
group = "by_independent"
"""
    return write_config(tmp_path / "fw.toml", database_url, feeds, site + extra)


def _cli(config: Path, *args: str) -> CliResult:
    result = run_cli("--config", str(config), *args)
    assert result.code == 0, f"framewatch {' '.join(args)}: {result.err[-2000:]}"
    return result


def _crawl(config: Path) -> dict[str, Any]:
    [report] = json.loads(_cli(config, "crawl", "--format", "json").out)
    assert (report["status"], report["new_articles"], report["errors"]) == ("finished", 3, {})
    return dict(report)


def _flags(config: Path) -> Records:
    """`framewatch flags --format jsonl`, every flag."""
    out = _cli(config, "flags", "--format", "jsonl", "--limit", "10000").out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _stored_flags(factory: sessionmaker[Session]) -> Records:
    """The same records read in this process (the CLI's query and export shape)."""
    with unit_of_work(factory) as session:
        return [frames.flag_record(f) for f in frames.list_flags(session, limit=10_000)]


def _comparable(flags: Records) -> list[str]:
    return sorted(
        json.dumps({k: v for k, v in f.items() if k not in VOLATILE}, sort_keys=True) for f in flags
    )


def _assert_a_recompute_changes_nothing(config: Path, flags: Records) -> None:
    recomputed = _cli(config, "flags", "recompute")
    assert "flags recomputed: 0 new" in recomputed.out
    assert _comparable(_flags(config)) == _comparable(flags)


def _first_seen(flags: Records, factory: sessionmaker[Session], base: str) -> dict[str, Any]:
    """Frame -> its first_seen flag, with its article's path and the time as datetime."""
    with unit_of_work(factory) as session:
        urls = dict(session.execute(select(Article.id, Article.canonical_url)).all())
    found = {}
    for flag in flags:
        if flag["kind"] == "first_seen":
            [article_id] = flag["article_ids"]
            at = datetime.fromisoformat(flag["first_seen_at"])
            found[flag["frame"]] = {**flag, "path": urls[article_id].removeprefix(base), "at": at}
    return found


def _assert_the_courier_first_uses(first: dict[str, Any]) -> None:
    for frame, path in CRAWLED_FIRST_USES.items():
        assert frame in first, f"no first_seen flag for {frame}: {sorted(first)}"
        assert (first[frame]["path"], first[frame]["source"]) == (path, COURIER), frame
    assert first["hostage_diplomacy"]["at"] == HOSTAGES_AT


def _crawl_statuses(factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(factory) as session:
        return list(session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)))


def _flag_count(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return len(session.scalars(select(Flag.id)).all())


def test_a_crawl_of_a_sites_only_config_raises_the_flags_a_recompute_gives(
    web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, database_url, web.base_url)
    _crawl(config)
    flags = _flags(config)
    assert flags, "a sites-only config got no flags from framewatch crawl"
    _assert_the_courier_first_uses(_first_seen(flags, store, web.base_url))
    _assert_a_recompute_changes_nothing(config, flags)


def test_the_service_crawl_job_raises_the_flags_of_a_sites_only_config(
    web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    # No crawl in the database yet: the first starts with the service, the next 30 s on.
    schedule = '\n[schedule]\ncrawl_every = "30s"\n'
    config = _config(tmp_path, database_url, web.base_url, extra=schedule)
    service = _start(config)
    try:
        finished = _wait_for(lambda: "finished" in _crawl_statuses(store), timeout=45)
        assert finished, f"no finished crawl run: {_crawl_statuses(store)}"
        # The run is recorded finished just before the batch ends (flags): wait for them.
        assert _wait_for(lambda: _flag_count(store) > 0, timeout=15), (
            "the service crawled a sites-only config but raised no flags"
        )
        flags = _flags(config)
        _assert_the_courier_first_uses(_first_seen(flags, store, web.base_url))
        _assert_a_recompute_changes_nothing(config, flags)
    finally:
        code, _seconds, log = _stop(service)
    assert code == 0 and "received SIGTERM" in log, log[-2000:]


def test_a_crawled_article_older_than_the_feeds_becomes_the_first_use_of_its_frame(
    web: FixtureServer, store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, database_url, web.base_url, feed=True)
    _cli(config, "poll")
    polled = _first_seen(_stored_flags(store), store, web.base_url)
    wire = polled["hostage_diplomacy"]
    assert (wire["path"], wire["source"], wire["at"]) == (WIRE_FREED, WIRE, WIRE_FREED_AT)
    assert polled["transactional_deal"]["path"] == WIRE_FREED
    assert "humanitarian_pardon" not in polled

    _crawl(config)
    flags = _flags(config)
    crawled = _first_seen(flags, store, web.base_url)
    hostages = crawled["hostage_diplomacy"]
    assert (hostages["path"], hostages["source"]) == (HOSTAGES, COURIER), (
        f"first_seen of hostage_diplomacy still points at {hostages['path']}"
    )
    assert hostages["at"] == HOSTAGES_AT
    assert f"{COURIER}, 2025-06-02" in hostages["statistic"]
    assert crawled["humanitarian_pardon"]["path"] == PARDON  # a frame new with the crawl
    # The Courier's deal story (20 September) came after the wire's (12 September).
    deal = crawled["transactional_deal"]
    assert (deal["path"], deal["source"], deal["at"]) == (WIRE_FREED, WIRE, WIRE_FREED_AT)
    _assert_a_recompute_changes_nothing(config, flags)
