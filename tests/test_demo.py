"""`framewatch demo` as a new user runs it, checked against the demo web's answer key."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from ingest.demo.run import DEMO_DATA
from tests.conftest import run_cli


def _expected() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for path in sorted(DEMO_DATA.glob("*/expected.json")):
        rows += json.loads(path.read_text(encoding="utf-8"))
    return rows


def test_demo_runs_the_pipeline_and_matches_the_answer_key(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", str(out))
    assert result.code == 0, result.err
    assert "relevant and stored:" in result.out and "next, try:" in result.out
    assert "broken-html: not a feed" in result.out
    digest = re.search(r"^  (\S+-belarus-prisoners\.html)$", result.out, re.MULTILINE)
    assert "daily digest of the busiest day:" in result.out and digest is not None
    assert Path(digest.group(1)).is_file() and (out / "digests" / "digests.xml").is_file()

    db = sqlite3.connect(out / "framewatch.db")
    stored = {
        url.split("/", 3)[3]: (lang, story)
        for url, lang, story in db.execute(
            "SELECT canonical_url, language, story FROM articles "
            "JOIN story_memberships ON story_memberships.article_id = articles.id"
        )
    }
    carried = {
        url.split("/", 3)[3].split("?")[0] for (url,) in db.execute("SELECT url FROM sightings")
    }
    in_feed = [row for row in _expected() if row["in_feed"]]
    relevant = [row for row in in_feed if row["relevant"]]
    found = [row for row in relevant if row["path"] in stored or row["path"] in carried]
    recall = len(found) / len(relevant)
    false_positives = [
        row["path"] for row in in_feed if not row["relevant"] and row["path"] in stored
    ]
    print(
        f"demo relevance: recall {recall:.3f} ({len(found)}/{len(relevant)}), "
        f"false positives {len(false_positives)}"
    )
    assert recall >= 0.95
    assert false_positives == []
    wrong_language = [
        p
        for p, (lang, _) in stored.items()
        if any(r["path"] == p and r["language"] != lang for r in in_feed)
    ]
    assert wrong_language == []
    languages = {lang for lang, _ in stored.values()}
    assert {"en", "ru", "be", "pl"} <= languages

    # Exact copies published by the wire republisher are sightings, not new articles.
    exact_copies = [r for r in _expected() if r.get("copy_kind") == "exact" and r["in_feed"]]
    assert exact_copies
    for copy in exact_copies:
        assert copy["path"] not in stored and copy["copy_of"] in stored
    rules = {rule for (rule,) in db.execute("SELECT DISTINCT matched_by FROM sightings")}
    assert {"new", "content_hash", "canonical_url"} <= rules

    # The broken feeds are recorded for `sources`, and the command shows them.
    sources = run_cli("--config", str(out / "framewatch.toml"), "sources")
    assert sources.code == 0 and "failing since" in sources.out
    health = json.loads(
        run_cli("--config", str(out / "framewatch.toml"), "sources", "--format", "json").out
    )
    copied = {h["name"]: h["copied"] for h in health}
    mirror_copies = [
        r for r in _expected() if r.get("copy_of") and r["path"].startswith("newsmirror/")
    ]
    assert copied["newsmirror"] == len(mirror_copies)  # every republished wire report, no more
    assert copied["westwire"] == 0
    export = run_cli("--config", str(out / "framewatch.toml"), "export")
    records = [json.loads(line) for line in export.out.splitlines()]
    assert len(records) == len(stored)

    # Near-copies from the republisher point at the wire originals; events are clustered.
    by_path = {r["canonical_url"].split("/", 3)[3]: r for r in records}
    near = [r for r in _expected() if r.get("copy_kind") == "near" and r["path"] in by_path]
    assert near
    for copy in near:
        assert by_path[copy["path"]]["duplicate_of"] == by_path[copy["copy_of"]]["id"]
    assert all(r["cluster"] is not None for r in records)
    clusters = json.loads(
        run_cli("--config", str(out / "framewatch.toml"), "clusters", "--format", "json").out
    )
    assert max(len(c["outlets"]) for c in clusters) >= 4  # a release day across outlets

    # The site crawls reach what the feeds do not carry: older listing pages, the sitemap.
    assert "site crawls" in result.out
    paths = {url.split("/", 3)[3] for (url,) in db.execute("SELECT canonical_url FROM articles")}
    assert "stateagency/articles/pomilovanie-troih-fevral.html" in paths  # listing page 2
    assert "nashaslova/articles/umovy-u-kalonijah.html" in paths  # sitemap only
    seen = {url.split("/", 3)[3] for (url,) in db.execute("SELECT canonical_url FROM seen_entries")}
    assert "stateagency/articles/hokkei-yuniory-novopolotsk.html" in seen  # off-story
    runs = db.execute("SELECT status, new_articles FROM crawl_runs ORDER BY id").fetchall()
    assert runs == [("finished", 1), ("finished", 1)]
