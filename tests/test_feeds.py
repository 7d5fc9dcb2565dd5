from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.errors import ParseError
from ingest.feeds import parse_feed
from tests.conftest import CORPORA

DATA = Path(__file__).parent / "data" / "site"
URL = "http://127.0.0.1:9/site/feed.xml"


def test_rss_entries() -> None:
    feed = parse_feed((DATA / "feed.xml").read_bytes(), URL)
    assert feed.version == "rss20" and feed.language == "en"
    assert [e.guid for e in feed.entries] == ["th-1001", "th-1002", "th-1003", "th-1004", "th-1006"]
    first = feed.entries[0]
    assert first.title.startswith("Belarus frees 52") and first.published is not None
    assert first.published.isoformat() == "2025-09-11T12:00:00+00:00"
    assert any("without a usable link" in w for w in feed.warnings)
    assert any("without a date" in w for w in feed.warnings)


def test_atom_entries() -> None:
    feed = parse_feed((DATA / "atom.xml").read_bytes(), URL)
    assert feed.version == "atom10"
    assert [e.guid for e in feed.entries] == ["urn:test:mirror:1", "urn:test:mirror:2"]


def test_declared_windows_1251() -> None:
    feed = parse_feed((DATA / "cp1251.xml").read_bytes(), URL)
    assert feed.entries[0].title == "Политзаключённые Беларуси"


def test_wrong_declared_charset_is_used_with_a_warning() -> None:
    feed = parse_feed((DATA / "wrong-charset.xml").read_bytes(), URL)
    assert len(feed.entries) == 1
    assert feed.warnings  # bozo: the bytes do not match the declared encoding


def test_malformed_feed_is_used_as_far_as_it_parses() -> None:
    feed = parse_feed((DATA / "malformed.xml").read_bytes(), URL)
    assert feed.entries and feed.entries[0].title == "Belarus political prisoners & the deal"
    assert any("not well-formed" in w for w in feed.warnings)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ((DATA / "not-a-feed.html").read_bytes(), "HTML page"),
        (b"", "empty response"),
        (b"\x00\xff\xfe garbage \x01" * 50, "not a feed"),
    ],
)
def test_not_a_feed(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_feed(body, URL)


def test_entry_cap() -> None:
    items = "".join(f"<item><link>http://x/{i}</link></item>" for i in range(30))
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    feed = parse_feed(body, URL, max_entries=10)
    assert len(feed.entries) == 10 and any("only the first 10" in w for w in feed.warnings)


def test_a_path_is_never_opened() -> None:
    """feedparser treats a str/bytes that names a file as a path; we hand it a stream."""
    with pytest.raises(ParseError):
        parse_feed(b"/etc/passwd", URL)


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"feed corpora not found at {CORPORA}")
def test_real_world_corpora_never_crash() -> None:
    files = [
        p
        for p in CORPORA.rglob("*")
        if p.is_file() and p.suffix in {".xml", ".rss", ".atom", ".rdf"}
    ]
    assert len(files) > 3000
    parsed = rejected = 0
    slowest = 0.0
    for path in files:
        started = time.monotonic()
        try:
            feed = parse_feed(path.read_bytes(), URL)
        except ParseError as exc:
            assert str(exc)  # a clear reason, never an empty message
            rejected += 1
        else:
            parsed += 1
            for entry in feed.entries:
                assert entry.link.startswith(("http://", "https://"))
                assert "\x00" not in entry.title + entry.summary
        slowest = max(slowest, time.monotonic() - started)
    print(f"corpora: {parsed} parsed, {rejected} rejected with a reason, slowest {slowest:.2f}s")
    assert parsed > 3000 and slowest < 2
