"""Query cost is bounded: repeats folded, covered alternatives dropped, terms capped, and a
search that still runs long is stopped by its deadline (real SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ingest.model.errors import QueryError, SearchTimeout
from ingest.model.query import And, Not, Or, Phrase, Query, Term, parse_query, unparse
from ingest.model.query_shape import distinct_leaves, simplify_query
from ingest.pipeline.relevance import match_story
from ingest.web.searching import MAX_PREFIXES, MAX_QUERY_CHARS, MAX_TERMS, parse_search
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.search import deadline, search_articles
from tests.support.search_corpus import corpus_database

REPEATED = " OR ".join(["a*"] * 300)


@pytest.mark.parametrize(
    ("query", "folded"),
    [
        (REPEATED, "a*"),
        (" OR ".join(["hostage*", "Hostage*", "HOSTAGE*"] * 50), "hostage*"),
        ("prisoner* OR prisoners OR Prisoner OR prisonerS* OR hostage", "prisoner* OR hostage"),
        ("(a OR b) OR (c OR (a OR d))", "a OR b OR c OR d"),
        ("belarus AND Belarus AND NOT russia AND NOT Russia", "belarus AND NOT russia"),
        ('"political prisoners" OR "Political  prisoners"', '"political prisoners"'),
        ("(belarus AND minsk) OR (Belarus AND Minsk)", "belarus AND minsk"),
        ("Białoruś OR bialorus", "Białoruś"),
        ("a* OR ab* OR abc", "a*"),
        ("ab* OR a", "ab* OR a"),  # a word shorter than the prefix is not covered by it
        ("a b c", "a AND b AND c"),
    ],
)
def test_repeats_are_folded(query: str, folded: str) -> None:
    assert unparse(simplify_query(parse_query(query))) == folded


def test_the_300_term_query_is_one_term() -> None:
    assert len(REPEATED) < MAX_QUERY_CHARS
    assert parse_search(REPEATED) == Term("a", prefix=True)


def test_too_many_different_terms_are_refused_with_the_limit() -> None:
    words = " OR ".join(f"w{n}" for n in range(MAX_TERMS + 1))
    with pytest.raises(QueryError, match=f"{MAX_TERMS + 1} different words and phrases"):
        parse_search(words)
    prefixes = " OR ".join(f"pre{n}x*" for n in range(MAX_PREFIXES + 1))
    with pytest.raises(QueryError, match=f"at most {MAX_PREFIXES} are searched"):
        parse_search(prefixes)
    assert distinct_leaves(parse_search(" OR ".join(["w1", "W1"] * 100)) or Term("x")) == 1
    with pytest.raises(QueryError, match="more than one one-letter prefix"):
        parse_search("а* OR о*")
    assert parse_search("а* OR об* OR А* OR а*") is not None  # one of them is fine


# ------------------------------------------------------- same matches, as a property

_WORDS = st.sampled_from(["ab", "abc", "abd", "b", "Ab", "ABC", "c"])


def _leaf() -> st.SearchStrategy[Query]:
    terms = st.builds(Term, _WORDS, st.booleans())
    phrases = st.builds(lambda w, p: Phrase(tuple(w), p), st.lists(_WORDS, min_size=2, max_size=3),
                        st.booleans())  # fmt: skip
    return st.one_of(terms, phrases)


def _compound(children: st.SearchStrategy[Query]) -> st.SearchStrategy[Query]:
    many = st.lists(children, min_size=2, max_size=4).map(tuple)
    with_not = st.tuples(children, children).map(lambda pair: And((pair[0], Not(pair[1]))))
    return st.one_of(many.map(Or), many.map(And), with_not)


_ONE_LEVEL = _compound(_leaf())
QUERIES = st.one_of(_leaf(), _ONE_LEVEL, _compound(st.one_of(_leaf(), _ONE_LEVEL)))
TEXTS = st.lists(st.sampled_from(["ab", "abc", "abd", "abde", "b", "c", "x"]), max_size=8)


@settings(max_examples=300, deadline=None)
@given(QUERIES, TEXTS)
def test_a_simplified_query_matches_exactly_what_the_query_matches(
    query: Query, words: list[str]
) -> None:
    body = " ".join(words)
    assert (match_story(query, "", body) is None) == (
        match_story(simplify_query(query), "", body) is None
    )


# ------------------------------------------------------------- on a real database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    with corpus_database(request.param, tmp_path_factory.mktemp("shape")) as (url, _ids):
        engine = make_engine(url, read_only=True)
        yield make_session_factory(engine)
        engine.dispose()


def test_the_repeated_query_finds_what_the_single_term_finds(
    factory: sessionmaker[Session],
) -> None:
    with unit_of_work(factory) as session:
        repeated = search_articles(session, parse_search(REPEATED), time_limit=5)
        single = search_articles(session, parse_query("a*"))
    assert [h.id for h in repeated.hits] == [h.id for h in single.hits] != []
    assert [h.snippet for h in repeated.hits] == [h.snippet for h in single.hits]


def test_statements_after_the_deadline_are_not_sent(factory: sessionmaker[Session]) -> None:
    """The deadline covers the whole search, not each statement: once the time is up,
    the next statement fails at once."""
    with (
        pytest.raises(SearchTimeout),
        unit_of_work(factory) as session,
        deadline(session, 0.3),
    ):
        session.execute(text("SELECT 1"))
        time.sleep(0.4)
        session.execute(text("SELECT 2"))


def test_a_statement_past_the_deadline_is_stopped(factory: sessionmaker[Session]) -> None:
    """The database itself stops: SQLite's progress handler, PostgreSQL's statement
    timeout. A statement that would run for many seconds ends within the deadline."""
    slow_sqlite = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
    )
    started = time.monotonic()
    with (
        pytest.raises(SearchTimeout, match=r"longer than 0\.2 s"),
        unit_of_work(factory) as session,
        deadline(session, 0.2),
    ):
        is_pg = session.get_bind().dialect.name == "postgresql"
        session.execute(text("SELECT pg_sleep(30)" if is_pg else slow_sqlite))
    assert time.monotonic() - started < 5
    with unit_of_work(factory) as session:  # the connection is usable again, no deadline
        assert session.execute(text("SELECT 1")).scalar() == 1
