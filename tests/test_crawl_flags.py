"""Crawled coverage gets its flags: `framewatch crawl` and the service's crawl job end the
crawls' batch in the parent process (``ingest.sources.crawl.finish_crawls``), so a config
with only ``[[sites]]`` gets flags, and a crawled article older than the feeds' coverage
becomes the first use of its frames.

The site is "The Northern Courier" (tests/data/crawlflags, served by the ``web``
fixture under /crawlflags/): a listing and three English articles dated in their
``article:published_time`` meta tags, each using one frame of the built-in codebook
plainly; feed.xml is a wire feed dated between them. Everything runs as a user would:
the CLI and the service as subprocesses, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ingest.demo.webfixture import FixtureServer
from storage.db import make_engine, make_session_factory
from storage.models import Article, CrawlRun, Flag
from tests.conftest import CliResult, run_cli, write_config
from tests.support.crawlsite import ARTICLE_PATTERN
from tests.test_service import _count, _start, _stop, _wait_for

SITE = "/crawlflags"
COURIER, WIRE = "courier.example", "wire.example"
HOSTAGES = f"{SITE}/news/2025/prisoners-as-hostages.html"  # 2 June 2025: hostage_diplomacy
PARDON = f"{SITE}/news/2025/pardon-on-humanitarian-grounds.html"  # 3 July: humanitarian_pardon
DEAL = f"{SITE}/news/2025/sanctions-deal-frees-prisoners.html"  # 20 September: transactional_deal
WIRE_FREED = f"{SITE}/wire/freed-hostages.html"  # 12 September: hostages and a deal
CRAWLED_FIRST_USES = {"hostage_diplomacy": HOSTAGES, "humanitarian_pardon": PARDON,
                      "transactional_deal": DEAL}  # fmt: skip
VOLATILE = ("id", "created_at", "status")  # what a recompute may legitimately change


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


def _flags(config: Path) -> list[dict[str, Any]]:
    out = _cli(config, "flags", "--format", "jsonl", "--limit", "10000").out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _comparable(flags: list[dict[str, Any]]) -> list[str]:
    return sorted(
        json.dumps({k: v for k, v in f.items() if k not in VOLATILE}, sort_keys=True)
        for f in flags
    )


def _assert_a_recompute_changes_nothing(config: Path, flags: list[dict[str, Any]]) -> None:
    recomputed = _cli(config, "flags", "recompute")
    assert "flags recomputed: 0 new" in recomputed.out
    assert _comparable(_flags(config)) == _comparable(flags)


def _paths(database_url: str, base: str) -> dict[int, str]:
    """Article id -> its path on the fixture server."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(select(Article.id, Article.canonical_url)).all()
    finally:
        engine.dispose()
    return {article_id: url.removeprefix(base) for article_id, url in rows}


def _first_seen(flags: list[dict[str, Any]], paths: dict[int, str]) -> dict[str, dict[str, Any]]:
    """Frame -> its first_seen flag, with the article's path and the time as datetime."""
    found = {}
    for flag in flags:
        if flag["kind"] == "first_seen":
            [article_id] = flag["article_ids"]
            at = datetime.fromisoformat(flag["first_seen_at"])
            found[flag["frame"]] = {**flag, "path": paths[article_id], "at": at}
    return found


def _assert_the_courier_first_uses(flags: list[dict[str, Any]], paths: dict[int, str]) -> None:
    first = _first_seen(flags, paths)
    for frame, path in CRAWLED_FIRST_USES.items():
        assert (first[frame]["path"], first[frame]["source"]) == (path, COURIER), frame
    assert first["hostage_diplomacy"]["at"] == datetime(2025, 6, 2, 5, 15, tzinfo=UTC)


def _crawl_statuses(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)))
    finally:
        engine.dispose()


def test_a_crawl_of_a_sites_only_config_raises_the_flags_a_recompute_gives(
    web: FixtureServer, database_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, database_url, web.base_url)
    _cli(config, "init")
    assert _flags(config) == []

    [report] = json.loads(_cli(config, "crawl", "--format", "json").out)
    assert (report["status"], report["new_articles"], report["errors"]) == ("finished", 3, {})
    flags = _flags(config)
    assert flags, "a sites-only config got no flags from framewatch crawl"
    _assert_the_courier_first_uses(flags, _paths(database_url, web.base_url))
    _assert_a_recompute_changes_nothing(config, flags)


def test_the_service_crawl_job_raises_the_flags_of_a_sites_only_config(
    web: FixtureServer, database_url: str, tmp_path: Path
) -> None:
    # The first crawl starts with the service; the next would come 30 s later.
    schedule = '\n[schedule]\ncrawl_every = "30s"\n'
    config = _config(tmp_path, database_url, web.base_url, extra=schedule)
    _cli(config, "init")
    service = _start(config)
    try:
        finished = _wait_for(lambda: "finished" in _crawl_statuses(database_url), timeout=25)
        assert finished, f"no finished crawl run: {_crawl_statuses(database_url)}"
        # The run is recorded finished before the batch ends (flags): give it a moment.
        assert _wait_for(lambda: _count(database_url, Flag) > 0, timeout=10), (
            "the service crawled a sites-only config but raised no flags"
        )
        [status] = json.loads(_cli(config, "status", "--format", "json").out)
        assert status["running"] is True
        last = status["last_crawl"]
        assert (last["site"], last["status"], last["new_articles"]) == ("courier", "finished", 3)
        flags = _flags(config)
        _assert_the_courier_first_uses(flags, _paths(database_url, web.base_url))
        _assert_a_recompute_changes_nothing(config, flags)
    finally:
        code, seconds, log = _stop(service)
    assert code == 0, log[-2000:]
    assert seconds < 10 and "received SIGTERM" in log


def test_a_crawled_article_older_than_the_feeds_becomes_the_first_use_of_its_frame(
    web: FixtureServer, database_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, database_url, web.base_url, feed=True)
    _cli(config, "init")
    _cli(config, "poll")
    polled = _first_seen(_flags(config), _paths(database_url, web.base_url))
    wire = polled["hostage_diplomacy"]
    assert (wire["path"], wire["source"]) == (WIRE_FREED, WIRE)
    assert wire["at"] == datetime(2025, 9, 12, 10, 0, tzinfo=UTC)
    assert polled["transactional_deal"]["path"] == WIRE_FREED

    [report] = json.loads(_cli(config, "crawl", "--format", "json").out)
    assert (report["status"], report["new_articles"]) == ("finished", 3)
    flags = _flags(config)
    paths = _paths(database_url, web.base_url)
    crawled = _first_seen(flags, paths)
    hostages = crawled["hostage_diplomacy"]
    assert (hostages["path"], hostages["source"]) == (HOSTAGES, COURIER), (
        "first_seen still points at the feed article, not the earlier crawled one"
    )
    assert hostages["at"] == datetime(2025, 6, 2, 5, 15, tzinfo=UTC)
    assert "2025-06-02" in hostages["statistic"] and COURIER in hostages["statistic"]
    assert crawled["humanitarian_pardon"]["path"] == PARDON  # new with the crawl
    # The Courier's deal story (20 September) came after the wire's (12 September).
    deal = crawled["transactional_deal"]
    assert (deal["path"], deal["at"]) == (WIRE_FREED, polled["transactional_deal"]["at"])
    _assert_a_recompute_changes_nothing(config, flags)
