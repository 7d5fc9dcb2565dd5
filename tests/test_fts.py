"""storage.fts: story-query ASTs as FTS5 MATCH text and tsquery text (pure functions),
checked against the engines themselves: whatever the AST, the engine accepts the
translation, and words full of operators, quotes and column filters stay words."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.model.query import And, Not, Or, Phrase, Query, Term, fold_text, parse_query
from ingest.pipeline.relevance import match_story
from storage import fts
from storage.search_schema import SQLITE_TOKENIZER

# Big strategies make Hypothesis warn about the size of their repr; that is all.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# Words made of what FTS5 and tsquery treat as syntax, plus letters in several scripts.
SYNTAX = ['"', "'", "\\", ":", "^", "*", "(", ")", "{", "}", "-", "+", "&", "|", "!", "<->",
          "NEAR", "NEAR(", "AND", "OR", "NOT", ";", "--", "title:", ":*", "/"]  # fmt: skip
LETTERS = "abcxyzłóđßёйўїяжшЁÉ"


def _word(alphabet: str = LETTERS, vocabulary: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    core = st.text(alphabet, min_size=1, max_size=6)
    if vocabulary:
        core = st.one_of(st.sampled_from(vocabulary), core)
    noise = st.sampled_from(SYNTAX)
    return st.one_of(
        core, st.builds(lambda a, b: a + b, core, noise), st.builds(lambda a, b: a + b, noise, core)
    )


def _leaf(word: st.SearchStrategy[str]) -> st.SearchStrategy[Query]:
    return st.one_of(
        st.builds(Term, word, st.booleans()),
        st.builds(Phrase, st.lists(word, min_size=1, max_size=3).map(tuple), st.booleans()),
    )


def _and(children: st.SearchStrategy[Query]) -> st.SearchStrategy[Query]:
    """An And with at least one positive child; Nots only as its children."""
    positives = st.lists(children, min_size=1, max_size=3)
    negatives = st.lists(children.filter(lambda n: not isinstance(n, Not)), max_size=2)
    return st.builds(
        lambda p, n: And(tuple(p) + tuple(Not(c) for c in n)), positives, negatives
    ).filter(lambda node: len(node.children) >= 2)


def queries(word: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Query]:
    leaf = _leaf(_word() if word is None else word)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            _and(inner), st.lists(inner, min_size=2, max_size=3).map(lambda c: Or(tuple(c)))
        ),
        max_leaves=8,
    )


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(f'CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize="{SQLITE_TOKENIZER}")')
    conn.executemany(
        "INSERT INTO t(title, body) VALUES (?, ?)",
        [(fold_text("Belarus frees prisoners"), fold_text("Łódź ёлка title: NEAR(x) a^b \"q\"")),
         (fold_text("Лукашэнка і палітвязні"), fold_text("Ціханоўскі AND OR NOT * -- ;"))],
    )  # fmt: skip
    yield conn
    conn.close()


# ----------------------------------------------------------------------- shapes


def test_shapes() -> None:
    q = parse_query('"Political prisoners"* AND (hostage* OR Łódź) AND NOT "ёлка"')
    assert fts.to_fts5(q) == '("political prisoners"*) AND (("hostage"*) OR ("lodz")) NOT ("елка")'
    assert fts.to_tsquery(q) == (
        "(('Political' <-> 'prisoners':*)) & (('hostage':*) | ('Łódź')) & !('ёлка')"
    )


@pytest.mark.parametrize(
    ("word", "fts5_text", "tsquery_text"),
    [
        ('a"b', '"a""b"', "'a\"b'"),
        ("it's", '"it\'s"', "'it''s'"),
        ("a\\b", '"a\\b"', "'a\\\\b'"),
        ("title:x", '"title:x"', "'title:x'"),
        ("NEAR(x", '"near(x"', "'NEAR(x'"),
        ("x^2", '"x^2"', "'x^2'"),
    ],
)
def test_every_word_is_quoted(word: str, fts5_text: str, tsquery_text: str) -> None:
    assert fts.to_fts5(Term(word)) == fts5_text
    assert fts.to_tsquery(Term(word)) == tsquery_text


def test_leaves_and_positive_leaves() -> None:
    q = parse_query("a AND (b OR c) AND NOT d")
    assert [str(leaf) for leaf in fts.leaves(q)] == ["a", "b", "c", "d"]
    assert [str(leaf) for leaf in fts.positive_leaves(q)] == ["a", "b", "c"]


def test_a_bare_not_is_refused() -> None:
    with pytest.raises(ValueError):
        fts.to_fts5(Not(Term("a")))
    with pytest.raises(ValueError):
        fts.to_tsquery(Not(Term("a")))


# ------------------------------------------------------------- engine acceptance


@settings(max_examples=150, deadline=None)
@given(query=queries())
def test_fts5_accepts_every_translation(fts5: sqlite3.Connection, query: Query) -> None:
    fts5.execute("SELECT count(*) FROM t WHERE t MATCH ?", (fts.to_fts5(query),)).fetchone()


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=LETTERS + " \"()*:^'-\\", max_size=30))
def test_any_typed_text_parses_or_fails_cleanly(fts5: sqlite3.Connection, text: str) -> None:
    from ingest.model.errors import QueryError

    try:
        query = parse_query(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)
        return
    fts5.execute("SELECT count(*) FROM t WHERE t MATCH ?", (fts.to_fts5(query),)).fetchone()


@pytest.mark.postgres
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries())
def test_tsquery_accepts_every_translation(query: Query) -> None:
    url = os.environ.get("FRAMEWATCH_TEST_DATABASE_URL")
    if not url:
        pytest.skip("needs FRAMEWATCH_TEST_DATABASE_URL")
    _pg_check(url, fts.to_tsquery(query))


_PG: dict[str, object] = {}


def _pg_check(url: str, tsquery_text: str) -> None:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = _PG.get(url)
    if engine is None:
        engine = _PG[url] = make_engine(url)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(
            text("SELECT to_tsvector('simple', 'a b') @@ to_tsquery('simple', :q)"),
            {"q": tsquery_text},
        )


# ----------------------------------------------------------------- relaxing


@settings(max_examples=150, deadline=None)
@given(query=queries(_word("abdeilnorstxzłóёйяіў", ("belarus", "frees", "prisoners", "минск"))))
def test_a_relaxed_query_matches_at_least_as_much(query: Query) -> None:
    relaxed = fts.relax(query)
    assert relaxed is None or not fts.has_phrases(relaxed)
    for title, body in DOCS:
        if match_story(query, title, body) is not None and relaxed is not None:
            assert match_story(relaxed, title, body) is not None


# ----------------------------------------------- same answers as story matching

DOCS = [
    ("Belarus frees prisoners", "Łódź and Minsk; ёлка. pro-Kremlin titles"),
    ("Лукашэнка і палітвязні", "Ціханоўскі сказаў: палітвязні на волі"),
    ("Лукашенко помиловал", "Освобождённые политзаключённые и ёлка"),
    ("NEAR the border", 'title: x^2 and a*b in (brackets) "quoted"'),
]


# The documents' words in other cases and spellings, and prefixes of them.
VOCABULARY = ("belarus", "BELARUS", "frees", "prison", "prisoners", "lodz", "Łódź", "minsk",
              "елка", "ЁЛКА", "kremlin", "pro-kremlin", "лукашэнка", "палітвяз", "палітвязні",
              "ціханоўскі", "лукашенко", "помиловал", "освобожденные", "политзаключ", "near",
              "title", "x", "2", "a", "b", "brackets", "quoted", "border", "the", "і",
              "и")  # fmt: skip


@settings(max_examples=250, deadline=None)
@given(query=queries(_word("abdeilnorstxzłóёйяіў", VOCABULARY)))
def test_fts5_matches_what_story_matching_matches(query: Query) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(f'CREATE VIRTUAL TABLE d USING fts5(title, body, tokenize="{SQLITE_TOKENIZER}")')
    conn.executemany(
        "INSERT INTO d(rowid, title, body) VALUES (?, ?, ?)",
        [(i, fold_text(t), fold_text(b)) for i, (t, b) in enumerate(DOCS)],
    )
    found = {
        r[0] for r in conn.execute("SELECT rowid FROM d WHERE d MATCH ?", (fts.to_fts5(query),))
    }
    expected = {i for i, (t, b) in enumerate(DOCS) if match_story(query, t, b) is not None}
    assert found == expected
    MATCHED.append(bool(found))


MATCHED: list[bool] = []


def test_the_comparison_above_was_not_vacuous() -> None:
    if MATCHED:  # run after the property in file order
        assert sum(MATCHED) > len(MATCHED) / 10
