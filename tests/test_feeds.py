from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.model.errors import ParseError
from ingest.sources import feeds
from ingest.sources.feeds import parse_feed
from ingest.sources.xmlguard import check_xml_safety
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


SAFE_DOCTYPES = [
    b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"/>',
    b'<!DOCTYPE rss [<!ENTITY id "tag:example.com,"><!ENTITY nbsp "&#160;">]><rss/>',
    b"<rss><channel><description><![CDATA[<!ENTITY x SYSTEM 'file:///'>]]></description></rss>",
]
UNSAFE = [
    (b'<!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><r>&b;</r>', "refers to other"),
    (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "external entity"),
    (b'<!DOCTYPE r [<!ENTITY x PUBLIC "-//x" "http://x/y">]><r>&x;</r>', "external entity"),
    (b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://x/y"> %p;]><r/>', "parameter entity"),
    (b'<!DOCTYPE r [<!ENTITY a "' + b"A" * 5000 + b'">]><r>&a;</r>', "5,000 characters"),
    (b'<!DOCTYPE r [<!ENTITY a "' + b"A" * 900 + b'">]><r>' + b"&a;" * 2000 + b"</r>", "expand"),
    (b"<!DOCTYPE r [<!ATTLIST a b CDATA \"x\n<!ENTITY c SYSTEM 'file:///'>\">]><r/>", "external"),
    (b"<!doctype r [<!entity x 'lowercase'>]><r/>", "not a plain literal"),
]


@pytest.mark.parametrize("body", SAFE_DOCTYPES)
def test_xml_guard_lets_real_feeds_through(body: bytes) -> None:
    check_xml_safety(body)


@pytest.mark.parametrize(("body", "reason"), UNSAFE)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be-no-bom", "utf-32"])
def test_xml_guard_refuses_entity_attacks(body: bytes, reason: str, encoding: str) -> None:
    text = body.decode("utf-8")
    encoded = text.encode("utf-16-be") if encoding.endswith("no-bom") else text.encode(encoding)
    with pytest.raises(ParseError, match=f"unsafe XML: .*{reason}"):
        check_xml_safety(encoded)


def test_xml_guard_reads_utf7_and_declared_charsets() -> None:
    hidden = b'<!DOCTYPE r [+ADw-!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(ParseError, match="external entity"):
        check_xml_safety(b'<?xml version="1.0" encoding="utf-7"?>' + hidden)
    with pytest.raises(ParseError, match="external entity"):
        check_xml_safety(hidden, "application/rss+xml; charset=UTF-7")
    check_xml_safety(hidden)  # read as UTF-8 this is no declaration at all


def test_text_fields_are_clean_and_capped() -> None:
    title = "A\x00B\x01C&#xD800;&#0;&#x110000;&#99999999999;" + "t" * 5000
    body = (
        "<rss version='2.0'><channel><title>\x00feed</title><item>"
        f"<title><![CDATA[{title}]]></title><link> http://x/a b\n.html </link>"
        f"<author>{'a' * 2000}</author><guid>{'g' * 5000}</guid>"
        "<description>x&#xD800;y&#0;z</description></item>"
        "<item><title>bad link</title><link>http://[::1/x</link></item>"
        "<item><title>bad port</title><link>http://x:99999/</link></item>"
        "</channel></rss>"
    ).encode()
    feed = parse_feed(body, URL)
    [entry] = feed.entries
    assert entry.title.startswith("ABC") and len(entry.title) == 1_000
    assert entry.link == "http://x/a%20b.html"
    assert entry.summary == "x\ufffdy\ufffdz" and feed.title == "feed"
    assert len(entry.author or "") == 500 and len(entry.guid or "") == 2_000
    assert any("2 entries without a usable link" in w for w in feed.warnings)


def test_entries_past_the_cap_are_cut_before_parsing_keeping_the_feed_well_formed() -> None:
    items = "".join(f"<item><link>http://x/{i}</link></item>" for i in range(3000))
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    feed = parse_feed(body, URL, "application/rss+xml", max_entries=500)
    assert len(feed.entries) == 500 and feed.entries[-1].link == "http://x/499"
    assert any("3000 entries; only the first 500 read" in w for w in feed.warnings)
    assert not any("not well-formed" in w for w in feed.warnings)


HEAD = b"<rss version='2.0'><channel><title>t</title><item><link>http://x/1</link><description>"
HOSTILE_SHAPES = {
    "tags": HEAD + b"<b>" * 1_600_000,
    "attributes": HEAD + b'<x a="1" b="2" c="3" d="4"/>' * 180_000,
    "entities": HEAD + b"&amp;" * 1_000_000,
    "nesting": HEAD + b"<div>" * 1_000_000,
    "entries": b"<feed xmlns='http://www.w3.org/2005/Atom'>"
    + b"<entry><title type='html'>&lt;b&gt;x</title><link href='/e'/>"
    b"<updated>2024-01-01T00:00:00Z</updated></entry>" * 45_000 + b"</feed>",
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_SHAPES))
def test_five_megabytes_of_markup_parse_in_bounded_time(shape: str) -> None:
    body = HOSTILE_SHAPES[shape]
    assert len(body) >= 4_500_000
    started = time.thread_time()  # CPU time: the parser's work, whatever else runs here
    feed = parse_feed(body, URL)
    assert time.thread_time() - started < 2
    assert any("only the first" in w or "more markup" in w for w in feed.warnings)


def test_feedparser_crash_becomes_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise ValueError("too many values to unpack")

    monkeypatch.setattr(feeds.feedparser, "parse", crash)
    with pytest.raises(ParseError, match="feedparser failed on this input"):
        parse_feed(b"<rss/>", URL)
