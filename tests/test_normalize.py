"""Tests for ingest.pipeline.normalize: table tests plus hypothesis properties."""

from __future__ import annotations

import json
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.model.items import Extracted, RawItem
from ingest.pipeline.normalize import (
    MAX_TEXT,
    MAX_TITLE,
    _identifier,
    clean_text,
    content_hash,
    detect_language,
    language_code,
    normalize_item,
    parse_datetime,
)
from ingest.pipeline.urls import (
    TRACKING_PARAMS,
    canonicalize_url,
    choose_canonical,
    outlet_from_url,
)

PAGES = Path(__file__).parent / "data" / "pages"
FETCHED = datetime(2025, 9, 20, 12, 0, tzinfo=UTC)

# --- canonicalize_url ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM:80/a/b", "http://www.example.com/a/b"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("http://example.com:443/x", "http://example.com:443/x"),
        ("  https://example.com/x#section-2 \n", "https://example.com/x"),
        (
            "https://example.com/x?utm_source=rss&utm_medium=feed&b=2&a=1&fbclid=Iw&gclid=1",
            "https://example.com/x?a=1&b=2",
        ),
        ("https://example.com/x?b=1&a=2&b=0", "https://example.com/x?a=2&b=1&b=0"),
        ("https://example.com/x?UTM_Campaign=a&Mc_Cid=b&_ga=c&igshid=d", "https://example.com/x"),
        ("https://example.com/x?", "https://example.com/x"),
        (
            "https://example.com/%7Euser/%e2%82%ac/a%2fb",
            "https://example.com/~user/%E2%82%AC/a%2Fb",
        ),
        (
            "https://example.com/a b/новости",
            "https://example.com/a%20b/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8",
        ),
        ("https://example.com/100%/x", "https://example.com/100%25/x"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://Пример.РФ/путь", "https://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C"),
        ("https://user:secret@example.com./x", "https://example.com/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("https://example.com/x?q=a+b&q=%41", "https://example.com/x?q=a+b&q=A"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("not a url", "not a url"),
        ("http://example.com:notaport/", "http://example.com:notaport/"),
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("../c?x=1", "https://example.com/a/b/page", "https://example.com/a/c?x=1"),
        ("/news/1", "https://Example.com/a", "https://example.com/news/1"),
        ("//cdn.example.com/x", "https://example.com/", "https://cdn.example.com/x"),
        ("https://other.org/x", "https://example.com/", "https://other.org/x"),
    ],
)
def test_canonicalize_url_relative(url: str, base: str, expected: str) -> None:
    assert canonicalize_url(url, base=base) == expected


_segments = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["..", ".", "%2e", "%2E%2e", "%41", "%zz", "%", "a b", "~", "%7e", "Ä"]),
)
_hosts = st.one_of(
    st.from_regex(r"[A-Za-z0-9.-]{1,20}", fullmatch=True),
    st.text(max_size=12),
    st.sampled_from(["пример.рф", "WWW.Example.COM", "[::1]", "xn--e1afmkfd.xn--p1ai", "a..b"]),
)
_params = st.tuples(
    st.one_of(
        st.sampled_from(["utm_source", "fbclid", "a", "B", "Utm_Medium", ""]), st.text(max_size=6)
    ),
    st.text(max_size=6),
)
URLS = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "Https", "ftp", ""]),
    _hosts,
    st.sampled_from(["", ":80", ":443", ":8080", ":", ":0080", ":99999"]),
    st.lists(_segments, max_size=5).map(lambda segs: "/" + "/".join(segs) if segs else ""),
    st.lists(_params, max_size=4).map(
        lambda kv: "?" + "&".join(f"{k}={v}" for k, v in kv) if kv else ""
    ),
    st.sampled_from(["", "#frag", "#", "#a b"]),
)


@settings(max_examples=400)
@given(st.one_of(URLS, st.text()))
def test_canonicalize_url_is_idempotent(url: str) -> None:
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once


@given(URLS, st.sampled_from(["https://example.com/a/b", "http://пример.рф/x?y=1", "::bad"]))
def test_canonicalize_url_with_base_is_idempotent(url: str, base: str) -> None:
    once = canonicalize_url(url, base=base)
    assert canonicalize_url(once) == once


VALID_URLS = st.builds(
    lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
    st.sampled_from(["http", "HTTPS"]),
    st.from_regex(r"[A-Za-z0-9]{1,10}(\.[A-Za-z0-9-]{1,10}){0,2}", fullmatch=True),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    URLS.map(lambda u: u.partition("://")[2].lstrip("/").partition("/")[1:]).map("".join),
)


@given(VALID_URLS)
def test_canonical_http_urls_have_no_tracking_fragment_or_spaces(url: str) -> None:
    out = canonicalize_url(url)
    parts = urlsplit(out)
    assert parts.scheme in ("http", "https") and parts.hostname
    assert "#" not in out and " " not in out and out.isascii()
    keys = [p.partition("=")[0] for p in parts.query.split("&") if p]
    assert keys == sorted(keys)  # parameter names are case-sensitive; sorted as they are
    names = [unquote(k).lower() for k in keys]
    assert not any(k in TRACKING_PARAMS or k.startswith("utm_") for k in names)


# --- choose_canonical / outlet_from_url ---------------------------------------------------

ARTICLE = "https://www.example.com/news/2025/09/11/prisoners-freed-123"


@pytest.mark.parametrize(
    ("page", "declared", "expected"),
    [
        (ARTICLE + "?utm_source=x", None, ARTICLE),
        (ARTICLE + "?utm_source=x", "", ARTICLE),
        # same site, other scheme / www / mobile / AMP host: trusted
        (
            "https://m.example.com/news/123",
            "http://example.com/news/123-slug",
            "http://example.com/news/123-slug",
        ),
        (
            "https://amp.example.com/a-story",
            "https://www.example.com/a-story",
            "https://www.example.com/a-story",
        ),
        (ARTICLE + "/amp/", ARTICLE, ARTICLE),
        (
            "https://example.com/p/99",
            "/news/99-story-slug",
            "https://example.com/news/99-story-slug",
        ),
        # another site (syndication claims): not trusted
        (ARTICLE, "https://other.org/news/2025/09/11/prisoners-freed-123", ARTICLE),
        # home page, section fronts, the bare script: shared by many pages
        (ARTICLE, "https://www.example.com/", ARTICLE),
        (ARTICLE, "https://www.example.com/news/", ARTICLE),
        (ARTICLE, "https://www.example.com/world/europe", ARTICLE),
        (
            "https://example.com/article.php?id=5",
            "https://example.com/article.php",
            "https://example.com/article.php?id=5",
        ),
        # garbage declarations
        (ARTICLE, "javascript:void(0)", ARTICLE),
        (ARTICLE, "   ", ARTICLE),
    ],
)
def test_choose_canonical(page: str, declared: str | None, expected: str) -> None:
    assert choose_canonical(page, declared) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Example.com:8080/x", "example.com"),
        ("https://news.example.com/x", "news.example.com"),
        ("https://пример.рф/", "xn--e1afmkfd.xn--p1ai"),
        ("http://[::1]:8000/", "[::1]"),
        ("not a url", ""),
    ],
)
def test_outlet_from_url(url: str, expected: str) -> None:
    assert outlet_from_url(url) == expected


# --- clean_text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>First &amp; <b>bold</b></p><p>Second</p>", "First & bold\n\nSecond"),
        ("line one<br/>line two", "line one\nline two"),
        ("&amp;lt;p&amp;gt;Double escaped&amp;lt;/p&amp;gt;", "Double escaped"),
        ("<script>var x = 1;</script><style>p {}</style>Text<!-- note -->", "Text"),
        ("a\u00a0\u00a0b\t c\u200b\u00add", "a b cd"),
        ("x\x00y\x07z\r\nnext\rline", "xyz\nnext\nline"),
        ("e\u0301t\u00e9", "\u00e9t\u00e9"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("p1\n\n\n\n   p2   ", "p1\n\np2"),
        ("The post <a href='/x'>X</a> appeared first on Y.", "The post X appeared first on Y."),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


HTMLISH = st.lists(
    st.one_of(
        st.text(),
        st.sampled_from(
            [
                "<p>", "</p>", "<br>", "<div class='x'>", "&amp;", "&lt;", "&gt;", "&lt;b",
                "&amp;lt;p&amp;gt;", "&#0;", "&#xD800;", "&#x80;", "\x00", "\r\n", "\u00a0",
                "\u2028", "<script>x</script>", "<!-- c -->", "e\u0301", "\ud800", "\n\n\n", " ",
            ]
        ),
    ),
    max_size=12,
).map("".join)  # fmt: skip


@settings(max_examples=300)
@given(st.one_of(st.text(), HTMLISH))
def test_clean_text_properties(raw: str) -> None:
    out = clean_text(raw)
    assert clean_text(out) == out
    assert "\x00" not in out
    out.encode("utf-8")  # no lone surrogates
    assert all(ch == "\n" or unicodedata.category(ch) != "Cc" for ch in out)
    assert "  " not in out and out == out.strip()
    assert unicodedata.is_normalized("NFC", out)


# --- detect_language ---------------------------------------------------------------------


def _fixture_text(name: str) -> str:
    return json.loads((PAGES / f"{name}.expected.json").read_text(encoding="utf-8"))["text"]


@pytest.mark.parametrize(
    ("page", "language"),
    [
        ("en_graph_newsarticle", "en"),
        ("ru_list_jsonld", "ru"),
        ("ru_cp1251_table", "ru"),
        ("be_meta_only", "be"),
        ("be_graph_reportage", "be"),
        ("uk_paywall_articlebody", "uk"),
        ("pl_blogposting", "pl"),
        ("lt_ogurl_article", "lt"),
    ],
)
def test_detect_language_on_articles(page: str, language: str) -> None:
    text = _fixture_text(page)
    assert detect_language(text) == language
    # each paragraph alone too, and a misleading hint does not win over a clear text
    for paragraph in text.split("\n"):
        assert detect_language(paragraph, hint="en") == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Die Behörden haben am Donnerstag mehrere politische Gefangene freigelassen.", "de"),
        (
            "Les autorités ont libéré jeudi plusieurs prisonniers politiques, selon leurs proches.",
            "fr",
        ),
        ("Лукашенко освободил 52 политзаключённых после переговоров с делегацией", "ru"),
        ("Лукашэнка вызваліў 52 палітвязняў пасля перамоваў з дэлегацыяй", "be"),
        ("Лукашенко звільнив 52 політв'язнів після переговорів з делегацією", "uk"),
        # Russian with Belarusian spellings of names quoted in brackets stays Russian
        (
            "Светлана Тихановская (Ціханоўская) заявила, что освобождение узников — итог давления.",
            "ru",
        ),
        # Bulgarian and Kazakh are Cyrillic too, but not ours to relabel
        ("Властите освободиха в четвъртък няколко политически затворници, съобщиха роднини.", "bg"),
        ("Билік бейсенбі күні бірнеше саяси тұтқынды босатты, деп хабарлады туыстары.", "kk"),
    ],
)
def test_detect_language_sentences(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("", "ru-RU", "ru"),
        ("", "be-BY", "be"),
        ("Мінск", "be_BY", "be"),
        ("OK", "ua", "uk"),
        ("", None, None),
        ("12:00", "xx-klingon", None),
        ("Ну і ўсё", None, "be"),  # short, but ў settles it
        ("Ще є", None, "uk"),
    ],
)
def test_detect_language_short_text_uses_hint(
    text: str, hint: str | None, expected: str | None
) -> None:
    assert detect_language(text, hint=hint) == expected


def test_language_model_is_loaded_once() -> None:
    assert _identifier() is _identifier()


@pytest.mark.parametrize(
    ("tag", "code"),
    [("ru-RU", "ru"), ("be_BY", "be"), ("BE-tarask", "be"), ("ua", "uk"), ("by", "be"),
     ("rus", "ru"), ("x-default", None), ("", None), (None, None), ("zz", None)],
)  # fmt: skip
def test_language_code(tag: str | None, code: str | None) -> None:
    assert language_code(tag) == code


# --- parse_datetime ----------------------------------------------------------------------

SEP11 = datetime(2025, 9, 11, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2025-09-11T11:02:00Z",
        "2025-09-11T14:02:00+03:00",
        "2025-09-11T11:02:00",  # naive is UTC
        "2025-09-11 11:02",
        "Thu, 11 Sep 2025 14:02:00 +0300",
        "Thu, 11 Sep 2025 11:02:00 GMT",
        "11 Sep 2025 14:02 MSK",
        "11.09.2025 11:02",
        "September 11, 2025 11:02 am",
        time.struct_time((2025, 9, 11, 11, 2, 0, 3, 254, 0)),
        datetime(2025, 9, 11, 11, 2),
        datetime(2025, 9, 11, 13, 2, tzinfo=UTC) + timedelta(hours=-2),
    ],
)
def test_parse_datetime(value: object) -> None:
    parsed = parse_datetime(value)  # type: ignore[arg-type]
    assert parsed == SEP11
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "yesterday", "0000-00-00T00:00:00+00:00", "1970-01-01T00:00:00Z",
     "1989-12-31", "x" * 500, "32.13.2025", "12345678901234567890"],
)  # fmt: skip
def test_parse_datetime_rejects(value: str | None) -> None:
    assert parse_datetime(value) is None


def test_parse_datetime_future_relative_to_now() -> None:
    now = datetime(2025, 9, 11, 12, 0, tzinfo=UTC)
    assert parse_datetime("2025-09-13T11:00:00Z", now=now) is not None
    assert parse_datetime("2025-09-13T12:01:00Z", now=now) is None
    assert parse_datetime("2031-01-01", now=now) is None
    assert parse_datetime("2031-01-01") is not None  # no `now`, no clock


def test_parse_datetime_leap_second_struct_time() -> None:
    leap = time.struct_time((2016, 12, 31, 23, 59, 60, 5, 366, 0))
    assert parse_datetime(leap) == datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)


# --- content_hash ------------------------------------------------------------------------

BODY = _fixture_text("en_graph_newsarticle")


def test_content_hash_ignores_case_punctuation_and_spacing() -> None:
    digest = content_hash("Title", BODY)
    assert digest is not None and len(digest) == 64
    noisy = BODY.upper().replace(",", " ,, ").replace("\n", "\n\n   ").replace("\u201c", '"')
    assert content_hash("Another headline", noisy) == digest


def test_content_hash_drops_leading_title() -> None:
    assert content_hash("Belarus frees 52", "Belarus frees 52\n" + BODY) == content_hash("", BODY)


def test_content_hash_differs_for_different_text() -> None:
    assert content_hash("", BODY) != content_hash("", BODY.replace("52", "53"))


def test_content_hash_none_when_too_short() -> None:
    assert content_hash("Title", "Too short to identify an article.") is None
    assert content_hash("Title", "!!! ... ???" * 100) is None


# --- normalize_item ----------------------------------------------------------------------


def _raw(**kw: object) -> RawItem:
    fields: dict[str, object] = {
        "source": "herald-feed",
        "url": ARTICLE + "?utm_source=rss",
        "fetched_at": FETCHED,
    }
    fields.update(kw)
    return RawItem(**fields)  # type: ignore[arg-type]


def test_normalize_item_combines_feed_and_page() -> None:
    raw = _raw(
        title="Belarus frees 52 prisoners &amp; more",
        summary="<p>Relatives say the <b>freed</b> detainees went to Lithuania.</p>",
        published=None,
        guid="tag:herald,2025:1",
    )
    extracted = Extracted(
        title="Page title",
        text=BODY,
        author="Maria Lindqvist",
        published=datetime(2025, 9, 11, 11, 2, tzinfo=UTC),
        language="en-GB",
        canonical_url=ARTICLE.replace("https://www.", "http://"),
    )
    article = normalize_item(raw, extracted)
    assert article.url == raw.url
    assert article.canonical_url == "http://example.com/news/2025/09/11/prisoners-freed-123"
    assert article.outlet == "example.com"
    assert article.title == "Belarus frees 52 prisoners & more"
    assert article.summary == "Relatives say the freed detainees went to Lithuania."
    assert article.text == BODY
    assert article.author == "Maria Lindqvist"
    assert article.published_at == SEP11
    assert article.language == "en"
    assert article.guid == "tag:herald,2025:1"
    assert article.content_hash == content_hash(article.title, BODY)


def test_normalize_item_without_page_uses_summary() -> None:
    raw = _raw(
        title="  Лукашенко помиловал\n16 человек ",
        summary="<p>В пятницу стало известно о помиловании ещё шестнадцати человек.</p>",
        published=datetime(2025, 9, 12, 18, 30),
        language_hint="ru-RU",
        outlet="kurier-vecher.example",
        author="  ",
    )
    article = normalize_item(raw, None)
    assert article.title == "Лукашенко помиловал 16 человек"
    assert article.text == article.summary.strip()
    assert article.canonical_url == ARTICLE
    assert article.outlet == "kurier-vecher.example"
    assert article.published_at == datetime(2025, 9, 12, 18, 30, tzinfo=UTC)
    assert article.language == "ru"
    assert article.author is None
    assert article.content_hash is None  # a one-line summary is no identity


def test_normalize_item_prefers_a_real_body_over_the_summary() -> None:
    summary = "Short teaser."
    page_title = "Вызваленыя палітвязні расказалі пра апошнія дні"
    be_text = _fixture_text("be_meta_only")
    raw = _raw(summary=summary, final_url="https://palesse.example/naviny/1.html?fbclid=x")
    article = normalize_item(raw, Extracted(title=page_title, text=be_text, language="ru"))
    assert article.text == be_text
    assert article.title == page_title
    assert article.language == "be"  # the text outvotes a wrong page declaration
    assert article.canonical_url == "https://palesse.example/naviny/1.html"
    # an empty extraction (listing page, garbage) falls back to the summary
    assert normalize_item(raw, Extracted(text="")).text == summary


def test_normalize_item_rejects_future_and_absurd_dates() -> None:
    future = FETCHED + timedelta(days=30)
    article = normalize_item(
        _raw(published=future), Extracted(published=datetime(1970, 1, 1, tzinfo=UTC))
    )
    assert article.published_at is None
    article = normalize_item(_raw(published=future), Extracted(published=SEP11))
    assert article.published_at == SEP11


def test_normalize_item_caps_field_sizes() -> None:
    raw = _raw(title="t" * 5_000, author="a " * 1_000, summary="s" * 20_000)
    article = normalize_item(raw, Extracted(text="word " * 200_000))
    assert len(article.title) == MAX_TITLE
    assert len(article.summary) == 10_000
    assert len(article.text) <= MAX_TEXT
    assert article.author is not None and len(article.author) <= 500
