"""Tests for ingest.pipeline.extract: fixture pages beside their expected results, hostile input."""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.model.items import Extracted, RawItem
from ingest.pipeline.extract import decode_html, extract_article
from ingest.pipeline.normalize import normalize_item
from ingest.pipeline.urls import canonicalize_url

PAGES = Path(__file__).parent / "data" / "pages"
FIXTURES = sorted(PAGES.glob("*.html"))
MIN_F1 = 0.95
FETCHED = datetime(2025, 9, 20, 12, 0, tzinfo=UTC)


def token_f1(got: str, expected: str) -> float:
    """Bag-of-words F1 between extracted and expected body text (1.0 when both empty)."""
    ours = Counter(re.findall(r"\w+", got.casefold()))
    theirs = Counter(re.findall(r"\w+", expected.casefold()))
    if not ours or not theirs:
        return float(not ours and not theirs)
    overlap = sum((ours & theirs).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(ours.values()), overlap / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


def _expected(page: Path) -> dict[str, Any]:
    path = page.with_name(page.stem + ".expected.json")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _metadata(extracted: Extracted) -> dict[str, Any]:
    published = extracted.published
    return {
        "title": extracted.title,
        "author": extracted.author,
        "published": published.isoformat() if published else None,
        "language": extracted.language,
        "canonical_url": extracted.canonical_url,
    }


def test_fixture_set_is_complete() -> None:
    assert len(FIXTURES) >= 8
    languages = {_expected(page)["language"] for page in FIXTURES}
    assert {"en", "ru", "be"} <= languages


@pytest.mark.parametrize("page", FIXTURES, ids=lambda p: p.stem)
def test_extract_fixture_page(page: Path) -> None:
    expected = _expected(page)
    extracted = extract_article(page.read_bytes(), expected["url"])
    assert _metadata(extracted) == {key: expected[key] for key in _metadata(extracted)}
    assert token_f1(extracted.text, expected["text"]) >= MIN_F1
    if expected["text"]:
        # paragraphs stay apart
        assert extracted.text.count("\n") >= expected["text"].count("\n") - 1


@pytest.mark.parametrize("page", FIXTURES, ids=lambda p: p.stem)
def test_fixture_page_through_normalize_item(page: Path) -> None:
    expected = _expected(page)
    raw = RawItem(
        source="fixtures", url=expected["url"], fetched_at=FETCHED, html=page.read_bytes()
    )
    article = normalize_item(raw, extract_article(page.read_bytes(), raw.url))
    assert article.title == expected["title"]
    assert article.language == expected["language"]
    assert article.canonical_url == (expected["canonical_url"] or canonicalize_url(raw.url))
    assert (article.content_hash is not None) == bool(expected["text"])


def test_mean_token_f1_over_fixtures() -> None:
    scores = [
        token_f1(
            extract_article(page.read_bytes(), _expected(page)["url"]).text, _expected(page)["text"]
        )
        for page in FIXTURES
    ]
    assert sum(scores) / len(scores) >= 0.97


@pytest.mark.parametrize(
    ("page", "boilerplate"),
    [
        (
            "en_graph_newsarticle",
            ["cookies", "Most read", "More on this story", "Sign up", "Share"],
        ),
        ("be_meta_only", ["Каментары", "Дзякуй за тэкст", "cookie", "Чытайце таксама"]),
        ("be_graph_reportage", ["Жыве Беларусь", "Яшчэ па тэме", "Слухаць эфір"]),
        ("pl_blogposting", ["newslettera", "Bardzo potrzebny", "Poprzedni wpis", "cookie"]),
        ("ru_cp1251_table", ["Версия для печати", "Другие новости", "Счётчик", "Фоторепортажи"]),
    ],
)
def test_boilerplate_is_left_out(page: str, boilerplate: list[str]) -> None:
    path = PAGES / f"{page}.html"
    text = extract_article(path.read_bytes(), _expected(path)["url"]).text
    assert text
    for phrase in boilerplate:
        assert phrase.casefold() not in text.casefold()


def test_listing_without_jsonld_is_recognised_by_its_teaser_grid() -> None:
    page = (PAGES / "en_listing_page.html").read_text(encoding="utf-8")
    start = page.index('<script type="application/ld+json">')
    bare = page[:start] + page[page.index("</script>", start) + len("</script>") :]
    extracted = extract_article(bare, "https://www.northbridge-herald.example/world/")
    assert extracted.text == ""
    assert extracted.author is None and extracted.published is None
    assert extracted.title == "World news"


def test_related_story_cards_do_not_make_an_article_a_listing() -> None:
    cards = "".join(
        f"<article class='card'><h3><a href='/s/{n}'>Related story {n}</a></h3></article>"
        for n in range(5)
    )
    page = (
        "<html><head><meta property='og:type' content='website'><title>T</title></head>"
        f"<body><div class='content'>{PARAGRAPHS}</div><aside>{cards}</aside></body></html>"
    )
    assert "Paragraph 4" in extract_article(page, "https://example.org/a").text


# --- decoding ----------------------------------------------------------------------------

RU = "Освобождённые политзаключённые прибыли в Вильнюс"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (f'<meta charset="windows-1251"><p>{RU}</p>'.encode("cp1251"), RU),
        (
            f'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>{RU}'.encode(
                "koi8_r"
            ),
            RU,
        ),
        # a page labelled windows-1251 that is really UTF-8: the bytes win
        (f'<meta charset="windows-1251"><p>{RU}</p>'.encode(), RU),
        ("\ufeff<p>Ціханоўская</p>".encode("utf-16-le"), "Ціханоўская"),
        ("\ufeff<p>Ціханоўская</p>".encode("utf-8"), "Ціханоўская"),
        (
            '<meta charset="iso-8859-1"><p>Caf\u00e9 \u2013 cr\u00e8me</p>'.encode("cp1252"),
            "Caf\u00e9 \u2013 cr\u00e8me",
        ),
    ],
)
def test_decode_html(data: bytes, expected: str) -> None:
    decoded = decode_html(data)
    assert expected in decoded
    assert not decoded.startswith("\ufeff")


def test_utf8_cut_mid_character_by_a_size_limit() -> None:
    data = f"<p>{RU}</p>".encode()
    assert decode_html(data[:-5]) == f"<p>{RU[:-1]}"  # "</p>" and half of the last letter


def test_undeclared_legacy_encoding_is_guessed() -> None:
    page = (PAGES / "ru_cp1251_table.html").read_bytes()
    undeclared = page.replace(b"; charset=windows-1251", b"")
    assert RU in decode_html(undeclared)


# --- JSON-LD -----------------------------------------------------------------------------

PARAGRAPHS = "\n".join(
    f"<p>Paragraph {n} of a story about prisoners released after long talks, with enough words "
    f"to count as article text for the extractor and its precision settings.</p>"
    for n in range(1, 6)
)


def _page(jsonld: str, *, body: str = PARAGRAPHS, head: str = "") -> str:
    return (
        f"<html lang='de'><head><title>Fallback title</title>{head}"
        f"<script type='application/ld+json'>{jsonld}</script></head>"
        f"<body><nav><a href='/'>Home</a></nav><article>{body}</article></body></html>"
    )


JANE = {"@type": "Person", "name": "Jane Roe"}


@pytest.mark.parametrize(
    ("data", "author"),
    [
        ({"@type": "NewsArticle", "author": "Jane Roe"}, "Jane Roe"),
        ({"@type": "NewsArticle", "author": JANE}, "Jane Roe"),
        ({"@type": "NewsArticle", "author": [JANE, "John Doe", JANE]}, "Jane Roe, John Doe"),
        (
            {"@graph": [{"@type": "Article", "author": {"@id": "#p1"}}, {**JANE, "@id": "#p1"}]},
            "Jane Roe",
        ),
        (
            {"@type": "WebPage", "mainEntity": {"@type": "BlogPosting", "author": [JANE]}},
            "Jane Roe",
        ),
        (
            [
                {"@type": "BreadcrumbList"},
                {"@type": "http://schema.org/BlogPosting", "author": JANE},
            ],
            "Jane Roe",
        ),
        ({"@type": ["schema:NewsArticle"], "author": {"name": {"@value": "Jane Roe"}}}, "Jane Roe"),
        ({"@type": "NewsArticle", "author": {"name": "https://example.org/staff/jane"}}, None),
        # teasers in a listing's ItemList are not the page's article
        (
            {"@type": "ItemList", "itemListElement": [{"@type": "NewsArticle", "author": JANE}]},
            None,
        ),
    ],
)
def test_jsonld_author_shapes(data: object, author: str | None) -> None:
    page = _page(json.dumps(data))
    assert extract_article(page, "https://example.org/a").author == author


def test_jsonld_fields() -> None:
    jsonld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": "Freed &amp; exiled",
            "datePublished": "2025-09-11T14:02:00+03:00",
            "dateModified": "2025-09-12T08:00:00Z",
            "inLanguage": {"@type": "Language", "alternateName": "be-BY"},
            "description": "<p>Short description</p>",
        }
    )
    extracted = extract_article(_page(jsonld), "https://example.org/a")
    assert extracted.title == "Freed & exiled"
    assert (
        extracted.published is not None
        and extracted.published.isoformat() == "2025-09-11T11:02:00+00:00"
    )
    assert (
        extracted.modified is not None
        and extracted.modified.isoformat() == "2025-09-12T08:00:00+00:00"
    )
    assert extracted.language == "be"
    assert extracted.description == "Short description"


@pytest.mark.parametrize(
    "jsonld",
    [
        '{"@type": "NewsArticle", "headline": "Repaired", "author": "Jane Roe",}',  # trailing comma
        '<!--\n{"@type": "NewsArticle", "headline": "Repaired", "author": "Jane Roe"}\n-->',
        '//<![CDATA[\n{"@type": "Article", "headline": "Repaired", "author": "Jane Roe"}\n//]]>',
        '{"@type": "NewsArticle", "headline": "Repaired\tacross\nlines", "author": "Jane Roe"}',
    ],
)
def test_jsonld_common_breakage_is_repaired(jsonld: str) -> None:
    extracted = extract_article(_page(jsonld), "https://example.org/a")
    assert extracted.author == "Jane Roe"
    assert extracted.title is not None and extracted.title.startswith("Repaired")


@pytest.mark.parametrize(
    "jsonld",
    [
        '{"@type": "NewsArticle", "headline": "Never used" "author": "Nobody"',
        '{"@type": "NewsArticle", "headline": 42, "datePublished": "soon", "author": [null, 7]}',
        '{"@type": "NewsArticle", "headline": "The Site", "publisher": {"name": "The Site"}}',
        "[" * 50_000 + "]" * 50_000,
        '"just a string"',
        "",
    ],
)
def test_jsonld_garbage_is_ignored(jsonld: str) -> None:
    extracted = extract_article(_page(jsonld), "https://example.org/a")
    assert extracted.title == "Fallback title"
    assert extracted.author is None
    assert extracted.language == "de"
    assert "Paragraph 3" in extracted.text


def test_jsonld_article_body_used_when_page_shows_nothing() -> None:
    body = "First paragraph of the full text.\n\nSecond paragraph, " + "more words " * 30
    jsonld = json.dumps({"@type": "NewsArticle", "headline": "H", "articleBody": body})
    extracted = extract_article(_page(jsonld, body="<div id='app'></div>"), "https://example.org/a")
    assert extracted.text == body.strip()


def test_jsonld_article_body_that_does_not_match_the_page_is_ignored() -> None:
    jsonld = json.dumps({"@type": "NewsArticle", "articleBody": "Unrelated filler. " * 200})
    extracted = extract_article(_page(jsonld), "https://example.org/a")
    assert "Unrelated filler" not in extracted.text
    assert "Paragraph 1" in extracted.text


def test_body_text_is_unescaped_once() -> None:
    body = (
        PARAGRAPHS + "<p>Spending on R&amp;D rose; the &lt;b&gt; tag and 2 &lt; 3 stay as text.</p>"
    )
    text = extract_article(_page("", body=body), "https://example.org/a").text
    assert "R&D rose; the <b> tag and 2 < 3 stay as text." in text


def test_canonical_from_og_url_and_relative_link() -> None:
    relative = _page("", head="<link rel='Canonical' href='/news/1#top'>")
    assert (
        extract_article(relative, "https://Example.org/x?y=1").canonical_url
        == "https://example.org/news/1"
    )
    og = _page(
        "", head="<meta property='og:url' content='https://example.org/news/2?utm_source=x'>"
    )
    assert (
        extract_article(og, "https://example.org/x").canonical_url == "https://example.org/news/2"
    )
    assert extract_article(_page(""), "https://example.org/x").canonical_url is None


# --- hostile input -----------------------------------------------------------------------


def _assert_empty_fast(html: bytes | str, budget_s: float = 10.0) -> Extracted:
    started = time.monotonic()
    extracted = extract_article(html, "https://example.org/a")
    assert time.monotonic() - started < budget_s
    assert isinstance(extracted, Extracted)
    assert extracted.text == ""
    return extracted


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes(seed: int) -> None:
    _assert_empty_fast(random.Random(seed).randbytes(100_000))


@pytest.mark.parametrize(
    "html", [b"", "", "   \n\t", b"\x00" * 1000, "\ud800\udfff", b"\xff\xfe", "<html>"]
)
def test_empty_and_degenerate_input(html: bytes | str) -> None:
    _assert_empty_fast(html)


def test_five_megabytes_of_nested_divs() -> None:
    depth = 5_000_000 // 11
    html = (
        "<html><body>" + "<div>" * depth + "deep" + "</div>" * depth + "</body></html>"
    ).encode()
    assert len(html) >= 5_000_000
    _assert_empty_fast(html)


def test_wrong_types_do_not_raise() -> None:
    assert extract_article(None, "https://example.org/a") == Extracted()  # type: ignore[arg-type]
    assert extract_article(b"<p>x</p>", None).text == ""  # type: ignore[arg-type]
