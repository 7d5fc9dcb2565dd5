"""Site crawls end to end: real crawl processes (as the service runs them) against the
Baltic Ledger fixture site, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import ingest
from ingest.cli import main
from ingest.config.settings import Settings, settings_from_mapping
from ingest.config.stories import BUILTIN_STORIES
from ingest.demo.webfixture import FixtureServer
from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.run import store_article
from ingest.sources import crawl as crawl_module
from ingest.sources.crawl import crawl_site, crawl_sites
from ingest.sources.poll import sync_config_sources
from storage import crawls, migrate, repo
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Article, ArticleFrame, CrawlRun
from tests.conftest import run_cli
from tests.support.crawlsite import (
    ARTICLE_PATTERN,
    crawl_config,
    crawl_server,
    crawl_settings_for,
    expected_articles,
)

FIRST_CRAWL_PROBLEMS = {
    "duplicate_link": 1,  # the same article again with utm_ tags and a #fragment
    "http_404": 1,  # a deleted article in a listing
    "jsonld_mismatch": 1,  # JSON-LD describing another page
    "malformed_jsonld": 1,
    "no_article_body": 2,  # a photo gallery; a page that answered 503 first, then nothing
    "not_html": 1,  # a JSON answer behind an article link
    "robots_txt": 1,  # /private/ is disallowed
    "too_large": 1,  # a live blog three times the size cap
}


@pytest.fixture
def crawl_web() -> Iterator[FixtureServer]:
    """A fresh Baltic Ledger per test, so a request log belongs to one test."""
    with crawl_server() as server:
        yield server


def token_f1(expected: str, found: str) -> float:
    want = Counter(re.findall(r"\w+", expected.casefold()))
    got = Counter(re.findall(r"\w+", found.casefold()))
    overlap = sum((want & got).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _stored(factory: sessionmaker[Session], base: str) -> dict[str, Article]:
    with unit_of_work(factory) as session:
        rows = session.scalars(select(Article)).all()
    return {a.canonical_url.removeprefix(base): a for a in rows}


def _paths(server: FixtureServer) -> Counter[str]:
    return Counter(r.path for r in server.requests)


def test_crawl_stores_the_site_and_a_second_crawl_fetches_no_stored_article(
    crawl_web: FixtureServer, store: sessionmaker[Session], database_url: str
) -> None:
    base = crawl_web.base_url
    settings = crawl_settings_for(base, database_url)

    [first] = crawl_sites(settings, store, names=["ledger"])
    assert first.status == "finished", first.stop_reason
    assert first.errors == FIRST_CRAWL_PROBLEMS
    assert (first.new_articles, first.off_story, first.items) == (8, 1, 11)
    assert "only known articles" in (first.stop_reason or "")  # the endless ?page= pager
    fetched = _paths(crawl_web)
    assert fetched["/news/archive"] == 1
    assert fetched["/news/2025/minsk-frees-52.html"] == 1  # listings and sitemap, once
    assert fetched["/private/2025/draft-memo.html"] == 0
    assert fetched["/news/2025/flaky.html"] == 2  # 503, then a retry after a backoff

    stored = _stored(store, base)
    relevant = [a for a in expected_articles() if a["relevant"]]
    assert sorted(stored) == sorted(a["path"] for a in relevant)
    scores = {a["path"]: token_f1(a["text"], stored[a["path"]].text) for a in relevant}
    average = sum(scores.values()) / len(scores)
    print(f"crawl extraction: token F1 {average:.3f} over {len(scores)} articles")
    print("  " + ", ".join(f"{p.rsplit('/', 1)[1]} {f:.3f}" for p, f in scores.items()))
    assert average >= 0.95
    for article in relevant:
        row = stored[article["path"]]
        assert (row.language, row.title) == (article["language"], article["title"])
        assert row.outlet == "ledger.example"
    published = stored["/news/2025/rights-count-en.html"].published_at
    assert published == datetime(2025, 9, 17, 8, 5, tzinfo=UTC)  # news:publication_date
    assert stored["/news/2025/lying-jsonld-uk.html"].published_at is not None  # not 2031

    crawl_web.requests.clear()
    [second] = crawl_sites(settings, store, names=["ledger"])
    assert second.status == "finished" and second.new_articles == 0
    # listings and sitemaps asked conditionally: unchanged, so not read again (an index is
    # read whole every time: its children change under it)
    answers = {r.path: r.status for r in crawl_web.requests}
    assert answers["/news/index.html"] == answers["/sitemaps/news.xml"] == 304
    assert answers["/sitemap.xml"] == 200
    again = _paths(crawl_web)
    known = set(stored) | {
        "/news/2024/robotics-fair-en.html",  # off-story: remembered, not stored
        "/news/2025/gallery-vilnius.html",  # no article body: remembered
        "/news/2025/data-export.html",  # not HTML: remembered
        "/news/2025/old-address.html",  # redirected to a stored article
    }
    assert not known & set(again), f"fetched again: {sorted(known & set(again))}"
    assert again["/news/index.html"] == 1 and again["/news/page/2.html"] == 0

    with unit_of_work(store) as session:
        runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
        summary = crawls.last_crawls(session)["ledger"]
    assert [r.status for r in runs] == ["finished", "finished"]
    assert runs[0].pages == first.pages and runs[0].errors == FIRST_CRAWL_PROBLEMS
    assert runs[0].pid and runs[0].duration_ms > 0 and runs[0].finished_at
    assert summary.runs == 2 and summary.run_id == runs[1].id


def _sqlite_store(tmp_path: Path) -> tuple[str, sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'crawl.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    return url, make_session_factory(engine)


def test_a_pagination_trap_ends_at_max_depth(crawl_web: FixtureServer, tmp_path: Path) -> None:
    url, factory = _sqlite_store(tmp_path)
    settings = crawl_settings_for(crawl_web.base_url, url)
    [trap] = crawl_sites(settings, factory, names=["trap"])
    assert trap.status == "finished" and "max_depth" in (trap.stop_reason or "")
    assert _paths(crawl_web)["/trap/calendar"] == 3  # depth 0, 1, 2; never day 4
    assert trap.errors == {"http_404": 3}


def test_the_ssrf_guard_refuses_loopback(crawl_web: FixtureServer, tmp_path: Path) -> None:
    url, factory = _sqlite_store(tmp_path)
    settings = crawl_settings_for(crawl_web.base_url, url, allow_private_addresses=False)
    [report] = crawl_sites(settings, factory, names=["trap"])
    assert report.status == "failed" and report.errors == {"blocked_address": 1}
    assert "nothing could be fetched" in (report.stop_reason or "")
    assert crawl_web.requests == []  # not even robots.txt


def _one_site(tmp_path: Path) -> tuple[Settings, sessionmaker[Session], int]:
    url, factory = _sqlite_store(tmp_path)
    settings = crawl_settings_for("http://127.0.0.1:9", url)
    source_id = sync_config_sources(settings, factory, datetime.now(UTC))["trap"]
    return settings, factory, source_id


def test_a_crashing_or_hanging_crawl_process_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, factory, source_id = _one_site(tmp_path)
    crash = [sys.executable, "-c", "import sys; print('boom: spider exploded'); sys.exit(3)"]
    report = crawl_site(settings, factory, "trap", source_id, command=crash)
    assert report.status == "failed"
    assert report.stop_reason == "crashed: exit code 3; boom: spider exploded"

    abort = [sys.executable, "-c", "import os; os.abort()"]
    report = crawl_site(settings, factory, "trap", source_id, command=abort)
    assert report.status == "failed" and "SIGABRT" in (report.stop_reason or "")

    monkeypatch.setattr(crawl_module, "KILL_GRACE_S", 0.3)
    deaf = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    report = crawl_site(
        settings,
        factory,
        "trap",
        source_id,
        time_limit_s=0.5,
        command=[sys.executable, "-c", deaf],
    )
    assert report.status == "killed" and "time limit of 0.5s" in (report.stop_reason or "")
    assert report.duration_ms < 5000

    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    report = crawl_site(settings, factory, "trap", source_id, command=sleeper, stop=stop)
    assert report.status == "killed" and "shutting down" in (report.stop_reason or "")
    assert crawl_sites(settings, factory, stop=stop) == []

    with unit_of_work(factory) as session:
        statuses = list(session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)))
    assert statuses == ["failed", "failed", "killed", "killed"]


def _cli_config(tmp_path: Path, base: str) -> Path:
    config = tmp_path / "fw.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "fw.db"}"

[fetch]
allow_private_addresses = true
timeout_s = 5

[crawl]
start_delay_s = 0
retry_backoff_s = 0.1

[[sites]]
name = "ledger"
start_urls = ["{base}/news/index.html"]
sitemap_urls = ["{base}/sitemap.xml"]
article_pattern = '{ARTICLE_PATTERN}'
""",
        encoding="utf-8",
    )
    return config


def test_crawl_refresh_and_sources_commands(crawl_web: FixtureServer, tmp_path: Path) -> None:
    config = _cli_config(tmp_path, crawl_web.base_url)
    assert run_cli("--config", str(config), "init").code == 0
    result = run_cli("--config", str(config), "crawl", "ledger", "--format", "json")
    assert result.code == 0, result.err
    [report] = json.loads(result.out)
    assert report["status"] == "finished" and report["new_articles"] == 8

    crawl_web.requests.clear()
    refreshed = run_cli("--config", str(config), "crawl", "--refresh")
    assert refreshed.code == 0, refreshed.err
    assert "0 new articles stored, 0 crawls failed" in refreshed.out
    again = _paths(crawl_web)  # stored pages fetched again, pagination to the end
    assert again["/news/2025/minsk-frees-52.html"] == 1 and again["/news/page/3.html"] == 1

    runner = CliRunner()
    sources = runner.invoke(main, ["--config", str(config), "sources", "--format", "json"])
    [row] = json.loads(sources.output)
    assert row["kind"] == "site" and row["last_crawl"]["status"] == "finished"
    assert row["last_crawl"]["runs"] == 2 and row["last_crawl"]["errors"]["robots_txt"] == 1
    table = runner.invoke(main, ["--config", str(config), "sources"])
    assert "last site crawls" in table.output and "finished" in table.output
    unknown = runner.invoke(main, ["--config", str(config), "crawl", "nope"])
    assert unknown.exit_code == 2 and "no site named 'nope'" in unknown.output


def test_crawl_run_records_and_known_links(store: sessionmaker[Session]) -> None:
    t0 = datetime(2025, 9, 11, 12, 0, tzinfo=UTC)
    specs = [repo.SourceSpec("site", "site", "https://e.org/", None),
             repo.SourceSpec("feed", "feed", "https://e.org/rss", None)]  # fmt: skip
    with unit_of_work(store) as session:
        ids = repo.sync_sources(session, specs, t0)
        old = crawls.start_run(session, ids["site"], t0 - timedelta(hours=3))
        done = crawls.start_run(session, ids["site"], t0 - timedelta(hours=2))
        stats = crawls.RunStats(5, 4, 3, {"http_404": 1}, "all links followed")
        crawls.finish_run(session, done, crawls.FINISHED, stats, t0 - timedelta(hours=2), 900)
        latest = crawls.start_run(session, ids["site"], t0)
        crawls.set_pid(session, latest, 4242)
    with unit_of_work(store) as session:
        assert crawls.abandon_stale_runs(session, ids["site"], t0 - timedelta(hours=1), t0) == 1
        summary = crawls.last_crawls(session)["site"]
        statuses = dict(session.execute(select(CrawlRun.id, CrawlRun.status)).all())
    assert statuses == {old: "failed", done: "finished", latest: "running"}
    assert (summary.run_id, summary.status, summary.runs) == (latest, "running", 3)
    assert summary.last_success_at == t0 - timedelta(hours=2)

    article = ArticleItem(
        url="https://e.org/a", canonical_url="https://e.org/a", source="feed", outlet="e.org",
        fetched_at=t0, title="t", summary="", text="body " * 60,
    )  # fmt: skip
    with unit_of_work(store) as session:
        stored = store_article(session, article, ids["feed"], [StoryMatch("s")]).article_id
        assert stored is not None
        repo.add_sighting(
            session, stored, ids["site"], "https://e.org/old-a", None, "canonical_url", t0
        )
        crawls.remember_rejected(session, "https://e.org/gallery", ids["site"], "no_body", t0)
    urls = ["https://e.org/a", "https://e.org/old-a", "https://e.org/gallery", "https://e.org/n"]
    with unit_of_work(store) as session:
        known = crawls.known_links(session, ids["site"], urls)
        seen_by_feed = crawls.known_links(session, ids["feed"], urls)
    assert known.stored == {"https://e.org/a": stored, "https://e.org/old-a": stored}
    assert known.rejected == {"https://e.org/gallery"} and known.is_carried("https://e.org/a")
    assert not known.is_known("https://e.org/n")
    assert seen_by_feed.stored == {"https://e.org/a": stored}  # sighting URLs are per source


def test_a_crawl_reads_a_codebook_path_relative_to_the_config_file(
    crawl_web: FixtureServer, tmp_path: Path
) -> None:
    """The crawl process gets the config as data; relative paths in it still resolve from
    the config file's folder, not from the process's working directory."""
    url, factory = _sqlite_store(tmp_path)
    config_dir = tmp_path / "etc"
    book = config_dir / "books" / "ledger.toml"
    book.parent.mkdir(parents=True)
    builtin = Path(ingest.__file__).parent / "framing" / "codebooks" / "belarus-prisoners.toml"
    marker = (
        '\n[frames.ledger_marker]\ndescription = "x"\ntypical_of = []\ncues.en = ["belarus*"]\n'
    )
    book.write_text(builtin.read_text(encoding="utf-8") + marker, encoding="utf-8")
    mapping = crawl_config(crawl_web.base_url, url)
    mapping["stories"] = [
        {
            "name": "belarus-prisoners",
            "query": BUILTIN_STORIES["belarus-prisoners"],
            "codebook": "books/ledger.toml",
        }
    ]
    settings = settings_from_mapping(mapping).model_copy(
        update={"source_path": str(config_dir / "framewatch.toml")}
    )
    [run] = crawl_sites(settings, factory, names=["ledger"])
    assert run.status == "finished" and run.new_articles == 8, run.errors
    with unit_of_work(factory) as session:
        marked = session.scalars(
            select(ArticleFrame.article_id).where(ArticleFrame.frame == "ledger_marker")
        ).all()
    assert marked  # the English articles name Belarus: the user's frame was applied
