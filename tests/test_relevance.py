"""Story relevance: the query parser, text folding, matching and the built-in story."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.config.settings import StorySettings, builtin_story, settings_from_mapping
from ingest.config.stories import BELARUS_PRISONERS_QUERY, BUILTIN_STORIES
from ingest.model.errors import QueryError
from ingest.model.items import StoryMatch
from ingest.model.query import (
    And,
    Not,
    Or,
    Phrase,
    Query,
    Term,
    fold_text,
    fold_words,
    parse_query,
    unparse,
)
from ingest.pipeline.relevance import (
    compile_query,
    index_text,
    match_article,
    match_index,
    match_story,
)

CASES = tomllib.loads(
    (Path(__file__).parent / "data" / "relevance" / "belarus_prisoners.toml").read_text("utf-8")
)

a, b, c, d = (Term(x) for x in "abcd")

# ------------------------------------------------------------------------ parser


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("belarus", Term("belarus")),
        ("prisoner*", Term("prisoner", prefix=True)),
        ("Лукашэнк*", Term("Лукашэнк", prefix=True)),
        ("в'язн*", Term("в'язн", prefix=True)),
        ("U.S.", Term("U.S.")),
        ('"political prisoner*"', Phrase(("political", "prisoner"), prefix_last=True)),
        ('"political prisoner"*', Phrase(("political", "prisoner"), prefix_last=True)),
        ('"Minsk - Vilnius"', Phrase(("Minsk", "Vilnius"))),
        ('"AND"', Phrase(("AND",))),
        ("and or not", And((Term("and"), Term("or"), Term("not")))),
        ("a b", And((a, b))),
        ("a AND b", And((a, b))),
        ('a"b c"', And((a, Phrase(("b", "c"))))),
        ("a AND b OR c", Or((And((a, b)), c))),
        ("a OR b c", Or((a, And((b, c))))),
        ("a NOT b", And((a, Not(b)))),
        ("NOT b a", And((Not(b), a))),
        ("a AND NOT (b OR c)", And((a, Not(Or((b, c)))))),
        ("(a OR b) AND NOT (c OR d)", And((Or((a, b)), Not(Or((c, d)))))),
        ("a AND (b AND c)", And((a, And((b, c))))),
        ("((a))", a),
        ("a (NOT b)", And((a, Not(b)))),
    ],
)
def test_parse_valid(text: str, expected: Query) -> None:
    assert parse_query(text) == expected
    assert parse_query(unparse(expected)) == expected


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("(a OR b", 0, "unclosed '('"),
        ("a (b", 2, "unclosed '('"),
        ("(", 0, "unclosed '('"),
        ("a OR b)", 6, "unmatched ')'"),
        (")a", 0, "unmatched ')'"),
        ('"abc', 0, "unterminated quote"),
        ('a "b c', 2, "unterminated quote"),
        ("a AND", 2, "AND needs a term after it"),
        ("a OR", 2, "OR needs a term after it"),
        ("(a OR) b", 3, "OR needs a term after it"),
        ("AND a", 0, "AND needs a term before it"),
        ("a OR OR b", 5, "OR needs a term before it"),
        ("a AND OR b", 6, "OR needs a term before it"),
        ("NOT", 0, "NOT needs a term after it"),
        ("a NOT", 2, "NOT needs a term after it"),
        ("*", 0, "'*' must follow a word"),
        ("a *", 2, "'*' must follow a word"),
        ("pri*soner", 3, "'*' is only allowed at the end of a word"),
        ("a**", 1, "'*' is only allowed at the end of a word"),
        ("-", 0, "'-' has no letters or digits"),
        ("x ...*", 2, "'...' has no letters or digits"),
        ('""', 0, "empty phrase"),
        ('a " - "', 2, "empty phrase"),
        ('"a *"', 3, "'*' must follow a word"),
        ('"pol* prisoner"', 4, "'*' is only allowed at the end of a phrase"),
        ('"a*"*', 4, "'*' given twice"),
        ('"a -"*', 5, "'*' must follow a word"),
        ("NOT a", 0, "NOT needs a positive term"),
        ("NOT a NOT b", 0, "NOT needs a positive term"),
        ("(NOT a)", 1, "NOT needs a positive term"),
        ("a OR NOT b", 5, "NOT needs a positive term"),
        ("a AND (NOT b OR c)", 7, "NOT needs a positive term"),
        ("NOT NOT a", 4, "NOT NOT is not allowed"),
        ("a NOT (NOT b)", 7, "NOT NOT is not allowed"),
        ("()", 0, "empty parentheses"),
        ("a ()", 2, "empty parentheses"),
        ("(" * 65 + "a" + ")" * 65, 64, "parentheses nested too deeply"),
    ],
)
def test_parse_errors_give_the_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert info.value.position == position
    assert info.value.reason.startswith(reason)
    assert info.value.query == text


def test_query_error_pointer_marks_the_problem() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("belarus AND")
    assert info.value.pointer() == "belarus AND\n        ^"


def test_str_is_unparse() -> None:
    query = parse_query('(belarus* OR "Minsk  regime") NOT "weather*"')
    assert str(query) == '(belarus* OR "Minsk regime") AND NOT "weather*"'


# Word characters from several scripts, plus the inner punctuation words may carry.
_LETTERS = st.sampled_from([*"abzABZéłŻßабйёЁўЎіїєґЙ0129αω", "क", "ि"])
_PIECE = st.text(_LETTERS, min_size=1, max_size=5)
_WORD_TEXT = st.lists(_PIECE, min_size=1, max_size=2).flatmap(
    lambda parts: st.sampled_from(["-", "'", "’", "."]).map(lambda sep: sep.join(parts))
)
_BARE = _WORD_TEXT.filter(lambda w: w not in {"AND", "OR", "NOT"})
_LEAF = st.one_of(
    st.builds(Term, _BARE, st.booleans()),
    st.builds(Phrase, st.lists(_WORD_TEXT, min_size=1, max_size=3).map(tuple), st.booleans()),
)


def _ands(children: st.SearchStrategy[Query]) -> st.SearchStrategy[Query]:
    item = st.one_of(children, children.map(Not))
    return (
        st.lists(item, min_size=2, max_size=3)
        .filter(lambda kids: any(not isinstance(k, Not) for k in kids))
        .map(lambda kids: And(tuple(kids)))
    )


_QUERIES = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda kids: Or(tuple(kids))),
        _ands(inner),
    ),
    max_leaves=12,
)


@given(_QUERIES)
@settings(max_examples=300)
def test_unparse_round_trips(query: Query) -> None:
    assert parse_query(unparse(query)) == query


_QUERYISH = st.lists(
    st.sampled_from(["a", "б", "é", " ", "(", ")", '"', "*", "-", "'", "AND", "OR", "NOT"]),
    max_size=20,
).map("".join)


@given(st.one_of(st.text(max_size=40), _QUERYISH))
@settings(max_examples=500)
def test_parse_raises_only_query_error(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)
    else:
        assert parse_query(unparse(query)) == query
        compile_query(query)


# ----------------------------------------------------------------------- folding


@pytest.mark.parametrize(
    ("written", "other"),
    [
        ("ŁUKASZENKA", "lukaszenka"),
        ("Łukašenka", "lukasenka"),
        ("Zażółć gęślą jaźń", "zazolc gesla jazn"),
        ("Café Straße", "cafe strasse"),
        ("Политзаключённые", "политзаключенные"),
        ("ЁЛКА", "елка"),
        ("Белару́сь", "беларусь"),  # a stress mark
        ("палiтвязнi", "палітвязні"),  # Latin i typed for Cyrillic і
        ("e\u0301", "e"),  # decomposed accent
        ("и\u0306", "й"),  # decomposed й composes, and stays й
    ],
)
def test_fold_text_equates(written: str, other: str) -> None:
    assert fold_text(written) == fold_text(other)


@pytest.mark.parametrize(("letter", "lookalike"), [("й", "и"), ("ў", "у"), ("ї", "і")])
def test_fold_text_keeps_cyrillic_letters(letter: str, lookalike: str) -> None:
    assert fold_text(letter.upper()) == letter
    assert fold_text(letter) != fold_text(lookalike)


def test_fold_words_joins_apostrophes_and_splits_hyphens() -> None:
    assert fold_words("сям'я в’язні вʼязні") == ["сямя", "вязні", "вязні"]
    assert fold_words("Pro-Kremlin U.S. snake_case") == [
        "pro",
        "kremlin",
        "u",
        "s",
        "snake",
        "case",
    ]
    assert fold_words("Ціханоўская Алесь") == ["ціханоўская", "алесь"]


# ---------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        ("belarus", "BELARUS", "", ("belarus",)),
        ("Łukaszenka", "", "rozmowa z Lukaszenką", ("Łukaszenka",)),
        ("Łukaszenka", "", "słowa Łukaszenki", None),
        ("Łukaszenk*", "", "słowa Lukaszenki", ("Łukaszenk*",)),
        ("Лукашенк*", "Встреча Лукашенка и Путина", "", ("Лукашенк*",)),
        ("палітвязн*", "", "Вызвалілі 14 палітвязняў", ("палітвязн*",)),
        ("в'язн*", "Звільнили в’язнів", "", ("в'язн*",)),
        ("вязн*", "Звільнили вʼязнів", "", ("вязн*",)),
        ("Ёлка", "ёлка и елка", "", ("Ёлка",)),
        ("Lukashenko", "Lukashenko’s pardon", "", ("Lukashenko",)),
        ("Kremlin", "a pro-Kremlin outlet", "", ("Kremlin",)),
        ("pro-Kremlin", "a pro Kremlin outlet", "", ("pro-Kremlin",)),
        ("U.S.", "the U.S. envoy", "", ("U.S.",)),
        ("us", "the U.S. envoy", "", None),
        ('"political prisoners"', "Political  Prisoners freed", "", ("political prisoners",)),
        ('"political prisoners"', "prisoners, political ones", "", None),
        ('"political prisoner*"', "", "a political prisoner's wife", ("political prisoner*",)),
        ('"freed political"', "They were freed", "political prisoners", None),  # title|text
        ("belarus NOT sport", "Belarus", "prisoners", ("belarus",)),
        ("belarus NOT sport", "Belarus", "sport news", None),
        ("(a OR b) AND c", "b c", "", ("b", "c")),
        ("(a OR b) AND c", "b", "", None),
        ("a OR b AND c", "a", "", ("a",)),
        ("(a AND x) OR b", "a b", "", ("b",)),  # a's branch failed, so a is not reported
        ("a b b", "a b", "", ("a", "b")),
        ("prison*", "no match here", "", None),
    ],
)
def test_match_story(query: str, title: str, text: str, expected: tuple[str, ...] | None) -> None:
    assert match_story(query, title, text) == expected


def test_match_story_accepts_ast_and_compiled_query() -> None:
    query = parse_query("minsk* AND jail*")
    expected = ("jail*", "minsk*")
    assert match_story(query, "Minsk jails", "") == expected
    assert match_story(compile_query(query), "Minsk jails", "") == expected
    assert compile_query("minsk* AND jail*") is compile_query("minsk* AND jail*")


def test_index_is_built_once_and_reused() -> None:
    index = index_text("Belarus frees prisoners", "after talks in Minsk")
    assert index.words[:3] == ("belarus", "frees", "prisoners")
    assert "" in index.words  # the title/body boundary
    assert match_index(compile_query("minsk AND frees"), index) == ("frees", "minsk")


def test_match_article_returns_story_matches() -> None:
    stories = [
        StorySettings(name="belarus", query="belarus* AND prison*"),
        StorySettings(name="weather", query="snow* OR rain*"),
        StorySettings(name="minsk", query="minsk NOT snow"),
    ]
    matches = match_article(stories, "Belarus frees prisoners", "Snow in Minsk")
    assert matches == [
        StoryMatch("belarus", ("belarus*", "prison*")),
        StoryMatch("weather", ("snow*",)),
    ]


def test_match_article_rejects_a_bad_query() -> None:
    with pytest.raises(QueryError):
        match_article([StorySettings(name="bad", query="a AND")], "a", "")


# ------------------------------------------------------------- built-in story


def test_builtin_story_is_valid_and_default() -> None:
    assert BUILTIN_STORIES == {"belarus-prisoners": BELARUS_PRISONERS_QUERY}
    story = builtin_story("belarus-prisoners")
    assert story.query == BELARUS_PRISONERS_QUERY
    assert story.codebook == "builtin:belarus-prisoners"
    query = parse_query(BELARUS_PRISONERS_QUERY)
    assert parse_query(unparse(query)) == query
    assert settings_from_mapping({}).active_stories == (story,)


def test_builtin_fixtures_cover_the_languages() -> None:
    positives, negatives = CASES["positive"], CASES["negative"]
    assert len(positives) >= 40 and len(negatives) >= 30
    assert {case["lang"] for case in positives} >= {"en", "ru", "be", "uk", "pl"}


def _case_id(case: dict[str, str]) -> str:
    return f"{case['lang']}:{case['title'][:40]}"


@pytest.mark.parametrize("case", CASES["positive"], ids=_case_id)
def test_builtin_query_matches_coverage(case: dict[str, str]) -> None:
    assert match_story(BELARUS_PRISONERS_QUERY, case["title"], case["text"])


@pytest.mark.parametrize("case", CASES["negative"], ids=_case_id)
def test_builtin_query_leaves_out_other_news(case: dict[str, str]) -> None:
    terms = match_story(BELARUS_PRISONERS_QUERY, case["title"], case["text"])
    assert terms is None, f"{case['kind']} matched on {terms}"
