"""Wire stories: name keys across scripts, the pure stage, the labelled fixtures through
the real pipeline into SQLite and PostgreSQL, flags that count a wire story once, export,
the API and the web page."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn

from ingest.flags.rules import compute_flags
from ingest.model.flags import TimelineArticle
from ingest.pipeline.clusters import ENTITY, event_terms
from ingest.pipeline.names import name_key
from ingest.pipeline.wire import (
    agreement,
    outlet_agency,
    report_score,
    same_report,
    tell_origin,
    wire_features,
)
from ingest.web.api import create_app
from storage import frames, migrate
from storage.db import make_engine, make_session_factory, private_schema, unit_of_work
from storage.export import export_records
from storage.frames import fold_wire_stories
from tests.conftest import PG_URL_ENV
from tests.support import wire_corpus as wc
from tests.test_api import free_port

DOCS = wc.load_corpus()
BY_ID = {d.id: d for d in DOCS}

# ------------------------------------------------------------------ names across scripts

SPELLINGS = [
    (("Зянковіч", "be"), ("Зенькович", "ru"), ("Zienkovich", "en"), ("Ziankovič", "lt"),
     ("Ziankowicz", "pl"), ("Зеньковича", "ru"), ("Ziankowicza", "pl")),
    (("Лукашэнка", "be"), ("Лукашенко", "ru"), ("Łukaszenka", "pl"), ("Lukashenko", "en"),
     ("Лукашенком", "ru"), ("Łukaszence", "pl")),
    (("Ціханоўская", "be"), ("Тихановская", "ru"), ("Cichanouska", "pl"),
     ("Tsikhanouskaya", "en"), ("Tikhanovsky", "en"), ("Тихановський", "uk")),
    (("Бяляцкі", "be"), ("Беляцкий", "ru"), ("Bialiatski", "en"), ("Bialackiego", "pl")),
    (("Статкевіч", "be"), ("Статкевич", "ru"), ("Statkevich", "en"), ("Statkiewicza", "pl")),
    (("Коўлам", "be"), ("Коул", "ru"), ("Coale", "en")),
    (("Дзмітрый", "be"), ("Дмитрий", "ru"), ("Dzmitry", "en")),
]  # fmt: skip


@pytest.mark.parametrize("spellings", SPELLINGS, ids=lambda s: s[0][0])
def test_one_name_one_key_across_scripts(spellings: tuple[tuple[str, str], ...]) -> None:
    keys = {name_key(word, language) for word, language in spellings}
    assert len(keys) == 1, keys


def test_different_names_keep_different_keys() -> None:
    names = [("Lukashenko", "en"), ("Tsikhanouskaya", "en"), ("Bialiatski", "en"),
             ("Kalesnikava", "en"), ("Babaryka", "en"), ("Statkevich", "en"), ("Minsk", "en"),
             ("Vilnius", "en"), ("Washington", "en"), ("Ziankovich", "en")]  # fmt: skip
    assert len({name_key(w, lang) for w, lang in names}) == len(names)


def test_cluster_terms_share_a_person_across_scripts() -> None:
    be = event_terms("Зянковіч на волі", "Юрась Зянковіч вызвалены, паведаміў Дзярждэп.", "be")
    en = event_terms("Ziankovich freed", "The lawyer Youras Ziankovich was freed, U.S. says.", "en")
    shared = {t for t in be.weights if t.startswith(ENTITY)} & set(en.weights)
    assert ENTITY + name_key("Ziankovich") in shared


# ------------------------------------------------------------------ the pure stage


def _features(doc_id: str):  # type: ignore[no-untyped-def]
    d = BY_ID[doc_id]
    return wire_features(d.title, d.text, d.language, d.outlet)


def test_credits_datelines_and_outlets() -> None:
    assert _features("coale52-ap").credits == ("AP",)  # "VILNIUS, Lithuania (AP) —"
    assert _features("pardon18-tass-ru").credits == ("TASS",)  # "/ТАСС/"
    assert _features("pardon18-tass-ru").claims == ("BelTA",)  # "сообщило ... БелТА"
    assert _features("statk-pap-be").credits == ("PAP",)  # headline "PAP: ..."
    assert _features("potash-dpa-copy-credit").credits == ("dpa",)  # "/dpa/" at the end
    assert _features("zian-reuters-ru").claims == ("Reuters",)  # "передает Reuters"
    assert _features("coale123-reuters-trim-nocredit").credits == ()
    assert outlet_agency("eng.belta.by") == "BelTA" and outlet_agency("paparazzi.pl") is None


def test_copies_trims_rewrites_and_translations_match() -> None:
    for a, b in [
        ("coale52-ap", "coale52-ap-trim-eveningpost"),  # trim
        ("coale52-ap", "coale52-ap-rewrite-usnews"),  # rewrite
        ("bial-ap", "bial-ap-retitle-nocredit"),  # retitle, credit dropped
        ("zian-reuters", "zian-reuters-be"),  # translation
        ("zian-reuters-pl", "zian-reuters-ru"),  # two translations
        ("pardon18-belta-ru", "pardon18-tass-ru"),
    ]:  # TASS rewrite of BelTA
        assert same_report(_features(a), _features(b)), (a, b)  # fmt: skip


def test_independent_reports_of_one_event_do_not_match() -> None:
    for a, b in [
        ("coale52-ap", "coale52-reuters"),
        ("feb3-ap", "feb3-reuters"),
        ("coale123-reuters-ru", "coale123-ap"),
        ("zian-reuters-ru", "zian-belta-ru"),
        ("statk-pap", "statk-zerkalo-ru"),
        ("tsikh-presser-afp", "tsikh-presser-dpa"),
    ]:
        assert report_score(_features(a), _features(b)) == 0.0, (a, b)  # fmt: skip
    assert agreement(_features("coale52-ap"), _features("coale52-reuters")) == "conflict"


def test_origin_is_the_credited_agency_else_the_earliest_outlet() -> None:
    from ingest.model.wire import WireMember

    t0 = datetime(2025, 9, 11, tzinfo=UTC)
    tass = WireMember(2, "tass.example", t0 + timedelta(minutes=20), ("TASS",), ("BelTA",))
    belta = WireMember(1, "belta.example", t0, ("BelTA",), ())
    translated = WireMember(3, "belta.example", t0 + timedelta(hours=1), ("BelTA",), ())
    assert tell_origin([tass, belta, translated]) == "BelTA"
    plain = [WireMember(5, "b.example", t0 + timedelta(hours=1), (), ()),
             WireMember(4, "a.example", t0, (), ())]  # fmt: skip
    assert tell_origin(plain) == "a.example"


# ------------------------------------------------------------------ the labelled fixtures


@dataclass
class Corpus:
    url: str
    stored: dict[str, int]
    grouping: wc.Grouping


def _ingested(url: str, order: list[wc.WireDoc]) -> Corpus:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        stored = wc.ingest_corpus(wc.corpus_settings(url), factory, order)
        return Corpus(url, stored, wc.read_grouping(factory, stored))
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    """The 86 labelled articles through Pipeline.ingest in publication order."""
    order = sorted(DOCS, key=lambda d: (d.published, d.id))
    if request.param == "sqlite":
        yield _ingested(f"sqlite:///{tmp_path_factory.mktemp('wire') / 'wire.db'}", order)
        return
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV}")
    with private_schema(base) as url:
        yield _ingested(url, order)


# Floors this stage reaches on the fixtures (measured: P 1.0, R 0.964, F1 0.982, origins
# 0.973, 28 of 29 groups in one cluster); the held-out real coverage is measured apart.
F1_FLOOR, PRECISION_FLOOR, ORIGIN_FLOOR = 0.95, 0.97, 0.95


def test_labelled_groups_are_found(corpus: Corpus) -> None:
    scores = wc.pairwise(wc.singles_as_none(DOCS), corpus.grouping.wire_story)
    assert scores["f1"] >= F1_FLOOR and scores["precision"] >= PRECISION_FLOOR, scores
    # a near miss: two agencies' reports of one event are one event, not one wire story
    story = corpus.grouping.wire_story
    assert story["coale52-ap"] != story["coale52-reuters"]
    assert story["coale52-ap"] == story["coale52-ap-uk"] == story["coale52-ap-rewrite-usnews"]
    assert story["coale52-reuters"] is None  # nobody carries it


def test_origins_and_event_clusters(corpus: Corpus) -> None:
    assert wc.origin_accuracy(DOCS, corpus.grouping.origin) >= ORIGIN_FLOOR
    assert corpus.grouping.origin["pardon18-tass-ru"] == "BelTA"  # TASS rewrote BelTA
    assert corpus.grouping.origin["bial-svaboda-copy-farm"] == "svaboda-like.example"
    clusters = wc.cluster_report(DOCS, corpus.grouping.cluster)
    assert clusters["groups_in_one_cluster"] >= clusters["groups"] - 1, clusters  # type: ignore[operator]


def test_backfill_in_reverse_order_finds_the_groups(tmp_path: Path) -> None:
    """Arrival order does not decide much: the newest first (a backfill of a feed)."""
    order = sorted(DOCS, key=lambda d: (d.published, d.id), reverse=True)
    done = _ingested(f"sqlite:///{tmp_path / 'reverse.db'}", order)
    scores = wc.pairwise(wc.singles_as_none(DOCS), done.grouping.wire_story)
    assert scores["f1"] >= 0.9 and scores["precision"] >= PRECISION_FLOOR, scores


def test_export_has_wire_fields(corpus: Corpus) -> None:
    engine = make_engine(corpus.url)
    with unit_of_work(make_session_factory(engine)) as session:
        records = {r["id"]: r for r in export_records(session)}
    engine.dispose()
    ap = records[corpus.stored["coale52-ap"]]
    uk = records[corpus.stored["coale52-ap-uk"]]
    alone = records[corpus.stored["coale52-reuters"]]
    assert ap["wire_story"] == uk["wire_story"] is not None
    assert ap["wire_origin"] == uk["wire_origin"] == "AP"
    assert alone["wire_story"] is None and alone["wire_origin"] is None


def test_timeline_counts_each_wire_story_once(corpus: Corpus) -> None:
    engine = make_engine(corpus.url)
    with unit_of_work(make_session_factory(engine)) as session:
        timeline = frames.story_timeline(session, "belarus-prisoners")
    engine.dispose()
    ids = {a.id for a in timeline}
    carried = {i for a in timeline for i in a.carried_ids}
    assert not ids & carried
    ap = corpus.stored["coale52-ap"]
    [original] = [a for a in timeline if a.id == ap]
    assert "eveningpost.example" in original.carriers  # the trim folds into it
    assert corpus.stored["coale52-ap-trim-eveningpost"] in original.carried_ids
    assert corpus.stored["coale52-ap-copy-kare"] == ap  # the verbatim copy is one article


# ------------------------------------------------------------------ flags count it once

T0 = datetime(2025, 9, 1, 9, tzinfo=UTC)
TZ = ZoneInfo("UTC")
FRAME = "hostage_diplomacy"


def _t(i: int, day: int, outlet: str, *uses: tuple[str, str]) -> TimelineArticle:
    return TimelineArticle(i, outlet, "western", T0 + timedelta(days=day, minutes=i), uses)


def _base() -> list[tuple[TimelineArticle, bool, int | None]]:
    """Twenty quiet days: one article a day not using the frame, from five outlets."""
    return [(_t(i, i, f"o{i % 5}.example", ("diplomatic_thaw", "own")), False, None)
            for i in range(1, 21)]  # fmt: skip


def _wire_day(
    uses: tuple[str, str] = (FRAME, "own"),
) -> list[tuple[TimelineArticle, bool, int | None]]:
    """Day 21: five outlets carry one agency report that uses the frame."""
    carriers = ["wire.example", "a.example", "b.example", "c.example", "d.example"]
    return [(_t(100 + n, 21, outlet, uses), False, 7) for n, outlet in enumerate(carriers)]


def _kinds(timeline: list[TimelineArticle], kind: str):  # type: ignore[no-untyped-def]
    return [d for d in compute_flags(timeline, {}, TZ) if d.kind == kind]


def test_five_outlets_carrying_one_report_are_no_surge() -> None:
    rows = (
        _base()
        + _wire_day()
        + [(_t(200, 21, "x.example", ("diplomatic_thaw", "own")), False, None)]
    )
    unfolded = [a for a, _, _ in rows]
    assert [d.frame for d in _kinds(unfolded, "surge")] == [FRAME]  # five "uses" in a day
    assert _kinds(fold_wire_stories(rows), "surge") == []  # one report


def test_a_surge_lists_the_carriers_it_counted_once() -> None:
    own = [(_t(300 + n, 21, f"own{n}.example", (FRAME, "own")), False, None) for n in range(2)]
    [surge] = _kinds(fold_wire_stories(_base() + _wire_day() + own), "surge")
    assert "3 of 3 articles" in surge.statistic
    assert "wire.example's report also carried by 4 (a.example, b.example" in surge.statistic
    timeline = fold_wire_stories(_base() + _wire_day() + own)
    [first] = [d for d in _kinds(timeline, "first_seen") if d.frame == FRAME]
    assert first.source == "wire.example" and "also carried by 4" in first.statistic


def test_carrying_is_no_source_shift_but_rewriting_is() -> None:
    """a.example quoted the frame three times, then carries the agency's report that
    uses it in the agency's voice: no shift. b.example writes the frame into its own
    words where the report only quoted it: its own use, a shift."""
    prior = [(_t(i, i, outlet, (FRAME, "quoted")), False, None)
             for i in range(1, 4) for outlet in ("a.example", "b.example")]  # fmt: skip
    report = (_t(100, 21, "wire.example", (FRAME, "quoted")), False, 7)
    carried = (_t(101, 21, "a.example", (FRAME, "quoted")), False, 7)
    rewritten = (_t(102, 21, "b.example", (FRAME, "own")), False, 7)
    copied_own = [(_t(110, 22, "wire.example", (FRAME, "own")), False, 8),
                  (_t(111, 22, "a.example", (FRAME, "own")), False, 8)]  # fmt: skip
    timeline = fold_wire_stories([*prior, report, carried, rewritten, *copied_own])
    shifts = {d.source for d in _kinds(timeline, "source_shift")}
    assert shifts == {"b.example"}
    unfolded = [a for a, _, _ in [*prior, report, carried, rewritten, *copied_own]]
    assert {d.source for d in _kinds(unfolded, "source_shift")} == {"a.example", "b.example"}


# ------------------------------------------------------------------ API and web page


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    order = sorted(DOCS, key=lambda d: (d.published, d.id))
    done = _ingested(f"sqlite:///{tmp_path_factory.mktemp('served') / 'wire.db'}", order)
    app = create_app(wc.corpus_settings(done.url))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", done.stored
    server.should_exit = True
    thread.join(10)
    app.state.engine.dispose()


def test_api_and_page_show_carried_by_n_from_x(served: tuple[str, dict[str, int]]) -> None:
    base, stored = served
    article = httpx.get(f"{base}/articles/{stored['zian-reuters-be']}", timeout=10).json()
    wire = article["wire_story"]
    assert wire["origin"] == "Reuters" and wire["outlet_count"] == 5
    assert wire["carriers"][0]["id"] == stored["zian-reuters"]
    page = httpx.get(f"{base}/ui/articles/{stored['zian-reuters-be']}", timeout=10).text
    assert "Carried by 5 outlets, from Reuters" in page
    alone = httpx.get(f"{base}/articles/{stored['zian-belta-ru']}", timeout=10).json()
    assert alone["wire_story"] is None
