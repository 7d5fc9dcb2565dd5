"""The benchmark harness (``python -m bench``) on a tiny synthetic web: the report's keys,
sane numbers, and every on-story page the web served stored exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.config.settings import builtin_story
from ingest.pipeline.extract import extract_article
from ingest.pipeline.relevance import match_article
from tests.support import synthweb

ROOT = Path(__file__).resolve().parents[1]
CRAWL_KEYS = {"crawl_pages_per_s", "crawl_vs_scrapy_stages", "many_sites"}  # crawl benchmark's
KEYS = {
    "e2e_articles_per_s", "floor_articles_per_s", "e2e_vs_floor", "plain_articles_per_s",
    "e2e_vs_plain", "idle_cpu_ms_per_feed", "peak_rss_mb", "stages",
    "stage_floor_articles_per_s", "e2e_vs_stage_floor", *CRAWL_KEYS,
}  # fmt: skip
FEEDS, ENTRIES = 3, 16


def test_synthetic_pages_are_on_story_exactly_when_marked(tmp_path: Path) -> None:
    web = synthweb.generate(tmp_path, 2, 30)
    story = [builtin_story("belarus-prisoners")]
    languages = set()
    for page in web.pages:
        html = (tmp_path / "news" / f"{page.n:05d}.html").read_bytes()
        extracted = extract_article(html, f"http://127.0.0.1/news/{page.n:05d}.html")
        assert bool(match_article(story, extracted.title or "", extracted.text)) == page.on_story
        assert extracted.language == page.language
        languages.add(page.language)
    assert languages == set(synthweb.LANGUAGES)
    summary = web.summary()
    assert 0 < summary["near_copies"] < summary["on_story_pages"] < summary["pages"]  # type: ignore[operator]


@pytest.mark.timeout(600)
def test_quick_harness_writes_a_sane_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "bench", "--feeds", str(FEEDS), "--entries", str(ENTRIES),
        "--plain-feeds", "1", "--latency", "1", "3", "--idle-cycles", "2",
        "--inline-pages", "8",  # so that the poll's worker processes take part
        "--network-feeds", "2", "--network-latency", "20", "30",
        "--issue-benchmarks", "none", "--json", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=590)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "framewatch / floor" in done.stdout
    report = json.loads(out.read_text())
    assert report.keys() >= KEYS
    for key in KEYS - {"stages"} - CRAWL_KEYS:
        assert isinstance(report[key], int | float) and report[key] > 0, key
    assert all(report[key] is None for key in CRAWL_KEYS)  # not run: --issue-benchmarks none

    main = report["sqlite"]
    assert not main["failed_feeds"] and not main["unpatched_stages"]
    assert report["articles"] == main["entries"] == FEEDS * ENTRIES == report["web"]["pages"]
    # every on-story page stored once, nothing else; near copies linked, not dropped
    assert main["stored"] == main["articles"] == report["web"]["on_story_pages"]
    assert main["irrelevant"] == report["web"]["off_story_pages"]
    assert main["articles_with_frames"] == main["stored"]
    assert main["idle_statuses"] == ["not_modified"]
    # the named stages account for the measured CPU time, and each did some work
    stages = report["stages"]
    assert abs(sum(stages.values()) - report["stages_total_s"]) <= 0.02 * report["stages_total_s"]
    assert sum(v for k, v in stages.items() if k != "other") >= 0.6 * report["stages_total_s"]
    for stage in ("fetch", "parse", "extract", "relevance", "dedup", "store", "framing"):
        assert stages[stage] > 0, stage
    assert report["floor"]["pages"] == report["floor"]["pages_with_text"] == FEEDS * ENTRIES
    assert report["plain"]["stored"] == report["plain"]["pages"] == ENTRIES
    assert 0 < report["e2e_vs_floor"] < 5
    # the stage floor: the same pages through every stage's library, the same ones stored
    stage_floor = report["stage_floor"]
    assert stage_floor["pages"] == FEEDS * ENTRIES
    assert stage_floor["stored"] == report["web"]["on_story_pages"]
    for stage in ("fetch", "parse", "extract", "language", "relevance", "dedup", "framing",
                  "cluster", "store"):  # fmt: skip
        assert stage_floor["stages"][stage] > 0, stage
    # the stage floor does every stage's work, so it is slower than the old floor
    # (feedparser + trafilatura) and framewatch comes closer to it
    assert report["stage_floor_articles_per_s"] < report["floor_articles_per_s"]
    assert report["e2e_vs_stage_floor"] > report["e2e_vs_floor"]
    # the network-bound comparison: its own runs, on the slower web
    net = report["network_bound"]
    assert net["latency_ms"] == [20, 30]
    assert net["e2e_wall_articles_per_s"] > 0 and net["plain_wall_articles_per_s"] > 0
    # the report rounds the ratio to 2 places (and the rates it is taken from)
    assert report["e2e_vs_plain"] == pytest.approx(
        net["e2e_wall_articles_per_s"] / net["plain_wall_articles_per_s"], rel=0.01, abs=0.006
    )
    assert "network-bound" in done.stdout
    if "postgresql" in report:
        pg = report["postgresql"]
        assert pg["stored"] == pg["articles"] == report["web"]["on_story_pages"]
        assert not pg["failed_feeds"]


@pytest.mark.timeout(600)
def test_the_crawl_benchmark_against_scrapy_and_feeds(tmp_path: Path) -> None:
    """framewatch's crawl, bare Scrapy and Scrapy with the stages on the same pages; many
    small sites crawled at once against polling their feeds, then crawled again."""
    from bench.perf import crawl

    result = crawl.run(24, 8, sites=4, site_pages=3)
    framewatch, stages = result["framewatch"], result["scrapy_stages"]
    assert framewatch["pages"] == stages["pages"] == result["bare_scrapy"]["pages"] == 24
    assert framewatch["new_articles"] == stages["stored"] > 0
    assert result["crawl_pages_per_s"] > 0 and result["crawl_vs_scrapy_stages"] > 0
    many = result["many_sites"]
    crawled, polled, again = many["crawl"], many["poll"], many["recrawl"]
    assert crawled["finished"] == again["finished"] == 4
    assert crawled["new_articles"] == polled["stored"] > 0 and not polled["failed_feeds"]
    # unchanged: every listing answers 304, no article page is fetched again
    assert (again["pages"], again["new_articles"]) == (4, 0)
    assert many["crawl_vs_poll_time"] > 0
