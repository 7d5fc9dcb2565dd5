"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector): hits, folding, filters,
ordering, pagination, snippets, injection strings, index upkeep, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ingest.model.errors import FilterError, QueryError
from ingest.model.query import parse_query
from ingest.pipeline.relevance import match_story
from ingest.web.searching import FilterInput, build_filters, page_window
from storage import migrate, search_schema
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.filters import SearchFilters, check_filters
from storage.models import Article, Flag
from storage.search import highlight_spans, plain, search_articles, split_marked
from tests.conftest import run_cli, write_config
from tests.support.search_corpus import CORPUS, STORY, build_corpus, corpus_database

INJECTIONS = [
    "'; DROP TABLE articles; --", "\" OR 1=1", "NEAR(", "*", "^", "title:", "title:belarus",
    "text: prisoners", "belarus OR 1=1", "prisoners) OR (1", "\\", "NEAR(belarus prisoners, 5)",
    "{title}: belarus", "-belarus", "+belarus", "belarus^2", "\"belarus\" NEAR/3 prisoners",
    "\"'; DROP TABLE articles; --\"", "\"title: NEAR( ^\"", "a' OR 'a'='a", "belarus:*",
    "prisoners & !belarus", "prisoners | hockey", "<-> belarus", "rowid:1",
]  # fmt: skip


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int], sessionmaker[Session]]]:
    """(database url, article ids by key, read-only session factory) over the corpus."""
    folder = tmp_path_factory.mktemp("search")
    with corpus_database(request.param, folder) as (url, ids):
        engine = make_engine(url, read_only=True)
        yield url, ids, make_session_factory(engine)
        engine.dispose()


Corpus = tuple[str, dict[str, int], sessionmaker[Session]]


def _keys(corpus: Corpus, query: str | None, sort: str = "relevance", **given: Any) -> list[str]:
    _, ids, factory = corpus
    by_id = {v: k for k, v in ids.items()}
    filters = build_filters(FilterInput(**given))
    with unit_of_work(factory) as session:
        check_filters(session, filters, [STORY])
        page = search_articles(
            session, parse_query(query) if query else None, filters, sort, limit=1000
        )
    return [by_id[hit.id] for hit in page.hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hostage*", {"release_en"}),
        ("HOSTAGES", {"release_en"}),
        ("политзаключ*", {"pardon_ru"}),
        ("политзаключенные", {"pardon_ru"}),  # е finds ё
        ("осуждённых", {"pardon_ru"}),
        ("Bialorus", {"release_pl"}),  # ł and ś folded
        ("łukaszenka", {"release_pl"}),
        ("палітвязн*", {"release_be"}),
        ("сям'я", {"release_be"}),  # ' finds ’
        ("ЦІХАНОЎСКІ", {"release_be"}),
        ("Lukashenko OR Лукашенко OR Лукашэнка",
         {"release_en", "humanism_en", "pardon_ru", "release_be"}),
        ("Lukashenko AND NOT humanism", {"release_en"}),
        ('"political prisoners"', {"release_en"}),
        ('"prisoners political"', set()),
        ('"political prison"*', {"release_en"}),
        ("humanism", {"humanism_en", "release_pl"}),
        ("belarus AND (hockey OR alert)", {"sport_en", "markup_en"}),
    ],
)  # fmt: skip
def test_hits(corpus: Corpus, query: str, expected: set[str]) -> None:
    assert set(_keys(corpus, query)) == expected


def test_near_duplicates_are_hidden_unless_asked(corpus: Corpus) -> None:
    _, ids, factory = corpus
    with unit_of_work(factory) as session:
        copy = session.get(Article, ids["copy_en"])
        assert copy is not None and copy.duplicate_of == ids["release_en"]
    assert _keys(corpus, "envoy") == ["release_en"]
    assert set(_keys(corpus, "envoy", include_duplicates=True)) == {"release_en", "copy_en"}


def test_filters(corpus: Corpus) -> None:
    _, ids, factory = corpus
    everything = "belarus OR lukashenko OR лукашенко OR лукашэнка OR białoruś"
    assert set(_keys(corpus, everything, sources=["stateagency"])) == {"humanism_en", "pardon_ru"}
    assert set(_keys(corpus, everything, outlets=["herald.example"])) == {"release_pl"}
    assert _keys(corpus, everything, languages=["RU"]) == ["pardon_ru"]
    assert _keys(corpus, everything, story="sport") == ["sport_en"]
    assert "sport_en" not in _keys(corpus, everything, story=STORY)
    assert _keys(corpus, everything, until="2025-09-11", since="2025-09-01") == ["release_en"]
    assert set(_keys(corpus, everything, since="2025-09-13", until="2025-09-14")) == {
        "release_be", "release_pl"}  # fmt: skip
    with unit_of_work(factory) as session:
        cluster = session.get(Article, ids["release_en"]).cluster_id  # type: ignore[union-attr]
    assert cluster is not None
    assert "release_en" in _keys(corpus, None, cluster=cluster)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"sources": ["nope"]}, "unknown source 'nope' (sources: herald, nashaslova,"),
        ({"outlets": ["x.org"]}, "unknown outlet 'x.org' (outlets: belta.example,"),
        ({"languages": ["de"]}, "unknown language 'de' (languages: be, en, pl, ru)"),
        ({"languages": ["english"]}, "not a language code"),
        ({"story": "nope"}, "unknown story 'nope' (storys: belarus-prisoners, sport)"),
        ({"cluster": 99999}, "no cluster 99999"),
        ({"since": "2025-02-30"}, "is not a date"),
        ({"since": "2025-09-02", "until": "2025-09-01"}, "since must be before until"),
        ({"sources": ["a\x00"]}, "NUL"),
    ],
)
def test_filter_values_that_are_not_allowed_say_what_is(
    corpus: Corpus, given: dict[str, Any], message: str
) -> None:
    _, _, factory = corpus
    pattern = message.replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(FilterError, match=pattern), unit_of_work(factory) as session:
        check_filters(session, build_filters(FilterInput(**given)), [STORY])


def test_frame_and_voice_filters(corpus: Corpus) -> None:
    quoted = _keys(corpus, None, frame="hostage_diplomacy", voice="quoted")
    assert set(quoted) == {"release_en", "release_pl"}  # the copy is hidden
    # "Критики называют их заложниками": a framing reported as the critics', not quoted
    assert _keys(corpus, None, frame="hostage_diplomacy", voice="distanced") == ["pardon_ru"]
    assert _keys(corpus, "bandits", frame="criminals_extremists", voice="own") == ["humanism_en"]
    assert _keys(corpus, None, frame="hostage_diplomacy", voice="own") == []
    assert "release_be" in _keys(corpus, None, voice="own")
    with pytest.raises(FilterError, match="unknown frame 'hostages' \\(frames: "):
        _keys(corpus, None, frame="hostages")


def test_flagged_means_named_by_a_flag_not_dismissed(store: sessionmaker[Session]) -> None:
    ids = build_corpus(store)
    when = datetime(2025, 9, 20, tzinfo=UTC)
    with unit_of_work(store) as session:
        for status, named in (("new", ["pardon_ru", "release_be"]), ("dismissed", ["release_pl"])):
            session.add(Flag(
                story=STORY, key=f"k-{status}", kind="first_seen", frame="hostage_diplomacy",
                article_ids=[ids[k] for k in named], first_seen_at=when, created_at=when,
                score=1.0, statistic="", evidence=[], status=status,
            ))  # fmt: skip
    with unit_of_work(store) as session:
        page = search_articles(session, None, SearchFilters(flagged=True))
        named = search_articles(session, parse_query("палітвязн*"), SearchFilters(flagged=True))
    assert {h.id for h in page.hits} == {ids["pardon_ru"], ids["release_be"]}
    assert [h.id for h in named.hits] == [ids["release_be"]]


def test_ordering_by_relevance_and_by_date(corpus: Corpus) -> None:
    assert _keys(corpus, "humanism") == ["humanism_en", "release_pl"]
    assert _keys(corpus, "humanism", sort="date") == ["release_pl", "humanism_en"]
    dates = _keys(corpus, None)
    assert dates[0] == "markup_en" and dates[-1] == "sport_en" and "copy_en" not in dates


def test_pagination_partitions_the_results(corpus: Corpus) -> None:
    _, _, factory = corpus
    query = parse_query("belarus OR лукашенко OR лукашэнка OR białoruś OR lukashenko")
    with unit_of_work(factory) as session:
        whole = search_articles(session, query, SearchFilters(), limit=1000)
        pages = [search_articles(session, query, SearchFilters(), limit=2, offset=o)
                 for o in range(0, whole.total + 2, 2)]  # fmt: skip
        capped = search_articles(session, query, SearchFilters(), limit=10**9)
    assert whole.total == len(whole.hits) == 7 and whole.total_exact
    assert [h.id for p in pages for h in p.hits] == [h.id for h in whole.hits]
    assert all(p.total == whole.total for p in pages) and pages[-1].hits == []
    assert capped.limit == 1000


def test_relevance_is_ranked_among_the_newest_matches(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query matching more than the window ranks the newest window of matches."""
    from storage import search

    _, ids, factory = corpus
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    query = parse_query("belarus OR лукашенко OR лукашэнка OR białoruś OR lukashenko")
    with unit_of_work(factory) as session:
        page = search_articles(session, query, SearchFilters())
        dated = search_articles(session, query, SearchFilters(), "date")
    newest = sorted(ids[k] for k in ("release_pl", "sport_en", "markup_en"))  # by id
    assert not page.total_exact and page.total == 3 and search.ranked_window(page)
    assert sorted(h.id for h in page.hits) == newest
    assert [h.score for h in page.hits] == sorted((h.score for h in page.hits), reverse=True)
    assert len(dated.hits) == 7 and not dated.total_exact  # date order is exact, not windowed


@pytest.mark.parametrize("walk_cost", [0.0, 1e30])
@pytest.mark.parametrize("span", [1.0, 3600e6, 1e30])
def test_results_do_not_depend_on_how_the_ranges_are_cut(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch, span: float, walk_cost: float
) -> None:
    """PostgreSQL reads matches in key ranges (ids, or microseconds of the timeline) sized
    from estimates, each by walking the key's index or from the GIN index: ranges of one
    id or one microsecond, an hour, or everything at once, walked or not, give the same
    pages, counts and phrase matches."""
    from storage import search_pg

    monkeypatch.setattr(search_pg, "first_span", lambda wanted, per_key: span)
    monkeypatch.setattr(search_pg, "PROBE_ROWS", span)
    monkeypatch.setattr(search_pg, "WALK_COST", walk_cost)
    query = '"pardoned 52" OR "52 political"'
    found = set(_keys(corpus, query, include_duplicates=True))
    assert found == {"release_en", "copy_en"}
    assert _keys(corpus, '"52 prisoners" AND NOT "pardoned citizens"') == ["release_en"]
    everything = "belarus OR лукашенко OR лукашэнка OR białoruś OR lukashenko"
    for sort in ("relevance", "date"):
        assert len(_keys(corpus, everything, sort)) == 7
    assert _keys(corpus, "humanism", sort="date") == ["release_pl", "humanism_en"]
    assert _keys(corpus, everything, "date", since="2025-09-13", until="2025-09-14") == [
        "release_pl", "release_be"]  # fmt: skip


def test_snippets_mark_matches_and_keep_markup_as_text(corpus: Corpus) -> None:
    url, ids, factory = corpus
    with unit_of_work(factory) as session:
        page = search_articles(session, parse_query("alert"), SearchFilters())
        polish = search_articles(session, parse_query("bialorus"), SearchFilters())
    hit = page.hits[0]
    assert hit.id == ids["markup_en"]
    assert "bold" in plain(hit.snippet)  # markup stays text (ts_headline drops tags)
    assert "<script>" in hit.title_marked  # the renderers escape it
    assert [plain(hit.snippet)[a:b] for a, b in highlight_spans(hit.snippet)] == ["alert"]
    if url.startswith("sqlite"):  # PostgreSQL's parser reads <script>…</script> as a tag
        assert ("alert", True) in split_marked(hit.title_marked)
    title = polish.hits[0].title_marked
    assert [s for s, marked in split_marked(title) if marked] == ["Białoruś"]  # original shown


def test_injection_strings_are_only_words(corpus: Corpus) -> None:
    _, _, factory = corpus
    for typed in INJECTIONS:
        try:
            query = parse_query(typed)
        except QueryError as exc:
            assert 0 <= exc.position <= len(typed)
            continue
        found = set(_keys(corpus, typed, include_duplicates=True))
        expected = {
            key for key, spec in CORPUS.items()
            if match_story(query, str(spec["title"]), f"{spec['summary']}\n{spec['text']}")
        }  # fmt: skip
        assert found == expected, typed
    with unit_of_work(factory) as session:
        assert session.scalar(text("SELECT count(*) FROM articles")) == len(CORPUS)


def test_the_index_follows_inserts_updates_and_deletes(store: sessionmaker[Session]) -> None:
    ids = build_corpus(store)
    hockey = parse_query("hockey")
    with unit_of_work(store) as session:
        assert [h.id for h in search_articles(session, hockey).hits] == [ids["sport_en"]]
        session.execute(
            update(Article).where(Article.id == ids["sport_en"]).values(title="Curling final")
        )
    with unit_of_work(store) as session:
        assert search_articles(session, hockey).hits == []
        assert search_articles(session, parse_query("curling")).total == 1
        session.execute(delete(Article).where(Article.id == ids["sport_en"]))
    with unit_of_work(store) as session:
        assert search_articles(session, parse_query("curling")).total == 0
        assert search_articles(session, parse_query("humanism")).total == 2


def test_filters_follow_changes_to_dates_language_and_copies(
    store: sessionmaker[Session],
) -> None:
    """PostgreSQL filters dates, language and copies on its search table; a trigger keeps
    them in step with articles without recomputing the index (as SQLite reads articles)."""
    ids = build_corpus(store)
    humanism = parse_query("humanism")

    def keys(**given: Any) -> set[int]:
        with unit_of_work(store) as session:
            page = search_articles(session, humanism, build_filters(FilterInput(**given)))
        return {hit.id for hit in page.hits}

    assert keys(languages=["pl"]) == {ids["release_pl"]}
    with unit_of_work(store) as session:
        session.execute(
            update(Article).where(Article.id == ids["release_pl"]).values(
                language="en", published_at=datetime(2024, 1, 5, tzinfo=UTC),
                duplicate_of=ids["humanism_en"],
            )
        )  # fmt: skip
    assert keys(languages=["pl"]) == set() and keys() == {ids["humanism_en"]}
    assert keys(include_duplicates=True, until="2024-01-05") == {ids["release_pl"]}
    with unit_of_work(store) as session:
        session.execute(delete(Article).where(Article.id == ids["humanism_en"]))
    assert keys() == {ids["release_pl"]}  # its original gone, it is no copy any more


def test_reindex_rebuilds_a_damaged_index(store: sessionmaker[Session]) -> None:
    build_corpus(store)
    with unit_of_work(store) as session:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("DROP TRIGGER articles_fts_update"))
            session.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('delete-all')"))
        else:
            session.execute(text("DELETE FROM article_search"))
    with unit_of_work(store) as session:
        assert search_articles(session, parse_query("humanism")).total == 0
        assert search_schema.rebuild_index(session.connection()) == len(CORPUS)
    with unit_of_work(store) as session:
        assert search_articles(session, parse_query("humanism")).total == 2
        session.execute(update(Article).values(title="Renamed"))  # the trigger is back
    with unit_of_work(store) as session:
        assert search_articles(session, parse_query("renamed")).total == 7


def test_migration_downgrades_and_upgrades(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    build_corpus(make_session_factory(engine))
    command.downgrade(migrate.alembic_config(engine), "0002")
    with engine.connect() as conn:
        names = set(conn.dialect.get_table_names(conn))
        assert not any(n.startswith("articles_fts") for n in names)
    migrate.upgrade(engine)  # indexes the stored articles
    with unit_of_work(make_session_factory(engine)) as session:
        assert search_articles(session, parse_query("humanism")).total == 2
        assert session.scalar(select(Article.id).limit(1)) is not None
    engine.dispose()


def test_narrow_search_table_migration_round_trip(database_url: str) -> None:
    """0008 moves PostgreSQL's tsvectors to article_search and back; SQLite: no-op."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    build_corpus(make_session_factory(engine))
    command.downgrade(migrate.alembic_config(engine), "0007")
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        with engine.connect() as conn:
            filled = "SELECT count(*) FROM articles WHERE search_doc IS NOT NULL"
            assert conn.execute(text(filled)).scalar() == len(CORPUS)
            assert "article_search" not in conn.dialect.get_table_names(conn)
    migrate.upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        assert search_articles(session, parse_query("humanism")).total == 2
        if postgres:
            rows = session.scalar(text("SELECT count(*) FROM article_search"))
            assert rows == len(CORPUS)
    engine.dispose()


# ---------------------------------------------------------------------------- CLI


def test_cli_search_and_reindex(corpus: Corpus, tmp_path: Path) -> None:
    url = corpus[0]
    config = str(write_config(tmp_path / "fw.toml", url, []))
    ok = run_cli("--config", config, "search", "hostage* OR Białoruś", "--format", "jsonl")
    assert ok.code == 0, ok.err
    rows = [json.loads(line) for line in ok.out.splitlines()]
    assert {r["title"] for r in rows} == {
        CORPUS["release_en"]["title"],
        CORPUS["release_pl"]["title"],
    }
    assert all(r["snippet"] and isinstance(r["highlights"], list) for r in rows)
    rebuilt = run_cli("--config", config, "reindex")
    assert rebuilt.code == 0 and f"search index rebuilt: {len(CORPUS)} articles" in rebuilt.out
    if not url.startswith("sqlite"):
        return  # the rest does not depend on the database
    table = run_cli(
        "--config", config, "search", "палітвязн*", "--language", "be", "--limit", "5000"
    )
    assert table.code == 0 and "Лукашэнка вызваліў" in table.out and "showing 1-1 of 1" in table.err
    bad = run_cli("--config", config, "search", "belarus AND (prisoners")
    assert bad.code == 2
    assert bad.err.splitlines()[0] == (
        "framewatch: error: unclosed '(' at position 12: 'belarus AND (prisoners'"
    )
    unknown = run_cli("--config", config, "search", "belarus", "--source", "nope")
    assert unknown.code == 2 and "unknown source 'nope' (sources: herald," in unknown.err
    frames = run_cli("--config", config, "search", "prisoners OR заложник*", "--frame",
                     "hostage_diplomacy", "--voice", "distanced", "--format", "csv")  # fmt: skip
    assert frames.code == 0 and frames.out.count("hostage_diplomacy") == 1, frames.err
    assert "заложник" in frames.out, frames.out


def test_page_window() -> None:
    assert page_window(5000, None, None) == (1000, 0)
    assert page_window(20, None, 3) == (20, 40)
    assert page_window(20, 7, None) == (20, 7)
    with pytest.raises(FilterError, match="either offset or page"):
        page_window(20, 1, 1)


def test_time_bounds_are_utc_and_inclusive_days() -> None:
    filters = build_filters(FilterInput(since="2025-09-01", until="2025-09-30T10:00:00+03:00"))
    assert filters.since == datetime(2025, 9, 1, tzinfo=UTC)
    assert filters.until == datetime(2025, 9, 30, 7, tzinfo=UTC)
    day = build_filters(FilterInput(until="2025-09-30"))
    assert day.until == datetime(2025, 10, 1, tzinfo=UTC)
