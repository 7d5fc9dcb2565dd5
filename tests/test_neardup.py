"""Near-duplicates and clusters in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.model.clusters import ClusterCandidate
from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.clusters import ENTITY, JOIN_THRESHOLD, _idf, best_cluster, cosine
from ingest.pipeline.clusters import WINDOW as CLUSTER_WINDOW
from ingest.pipeline.normalize import content_hash
from ingest.pipeline.run import ingest_article
from storage import migrate, neardup, repo
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.export import export_records
from storage.models import Article, Cluster

DATA = Path(__file__).parent / "data" / "dedup"
ORIGINALS = {
    r["id"]: r["text"].strip()
    for r in tomllib.loads((DATA / "originals.toml").read_text())["report"]
}
T0 = datetime(2025, 9, 11, 12, 0, tzinfo=UTC)
MATCH = [StoryMatch("belarus-prisoners", ("prisoner*",))]


def _item(
    url: str, text: str, when: datetime, title: str = "Report", outlet: str = "a.example"
) -> ArticleItem:
    return ArticleItem(
        url=url, canonical_url=url, source="s", outlet=outlet, fetched_at=when, title=title,
        summary="", text=text, published_at=when, language="en",
        content_hash=content_hash(title, text),
    )  # fmt: skip


def _source(store: sessionmaker[Session]) -> int:
    with unit_of_work(store) as session:
        return repo.sync_sources(session, [repo.SourceSpec("s", "feed", "http://s/", None)], T0)[
            "s"
        ]


def _trimmed(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return "(Wire report)\n" + "\n".join(lines[: len(lines) // 2 + 1])


def _duplicate_of(store: sessionmaker[Session]) -> dict[str, int | None]:
    with unit_of_work(store) as session:
        rows = session.execute(select(Article.url, Article.duplicate_of)).all()
    return {url: dup for url, dup in rows}


def _ids(store: sessionmaker[Session]) -> dict[str, int]:
    with unit_of_work(store) as session:
        return {url: i for url, i in session.execute(select(Article.url, Article.id)).all()}


def test_copies_point_at_the_earliest_published(store: sessionmaker[Session]) -> None:
    source = _source(store)
    text = ORIGINALS["release-en"]
    with unit_of_work(store) as session:
        ingest_article(session, _item("http://a/orig", text, T0), source, MATCH)
        ingest_article(
            session, _item("http://b/copy", _trimmed(text), T0 + timedelta(hours=2)), source, MATCH
        )
    ids = _ids(store)
    assert _duplicate_of(store) == {"http://a/orig": None, "http://b/copy": ids["http://a/orig"]}
    # A backfilled copy published earlier becomes the original of the whole group.
    earlier = text.replace("on Thursday", "on Thursday morning")
    with unit_of_work(store) as session:
        ingest_article(
            session, _item("http://c/early", earlier, T0 - timedelta(hours=1)), source, MATCH
        )
    ids = _ids(store)
    assert _duplicate_of(store) == {
        "http://c/early": None,
        "http://a/orig": ids["http://c/early"],
        "http://b/copy": ids["http://c/early"],
    }
    with unit_of_work(store) as session:
        records = {r["url"]: r for r in export_records(session)}
    assert records["http://b/copy"]["duplicate_of"] == ids["http://c/early"]
    clusters = {r["cluster"] for r in records.values()}
    assert len(clusters) == 1 and None not in clusters  # copies share their original's cluster


def test_different_reports_and_far_apart_copies_stay_apart(store: sessionmaker[Session]) -> None:
    source = _source(store)
    with unit_of_work(store) as session:
        ingest_article(session, _item("http://a/1", ORIGINALS["release-en"], T0), source, MATCH)
        ingest_article(session, _item("http://a/2", ORIGINALS["conditions-en"], T0), source, MATCH)
        # The same text re-published 60 days later is outside the 30-day window.
        late = _item("http://a/3", _trimmed(ORIGINALS["release-en"]), T0 + timedelta(days=60))
        ingest_article(session, late, source, MATCH)
    assert set(_duplicate_of(store).values()) == {None}


def test_concurrent_writers_cannot_both_keep_a_copy_as_original(
    store: sessionmaker[Session],
) -> None:
    """Writer 2 stores a copy while writer 1's original is not yet committed: the lock
    makes writer 2 wait and then see the original."""
    source = _source(store)
    text = ORIGINALS["release-ru"]
    first = store()
    first.begin()
    ingest_article(first, _item("http://a/orig", text, T0), source, MATCH)
    done = threading.Event()

    def second_writer() -> None:
        with unit_of_work(store) as session:
            ingest_article(
                session,
                _item("http://b/copy", _trimmed(text), T0 + timedelta(hours=1)),
                source,
                MATCH,
            )
        done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert not done.wait(1.0), "the second writer must wait for the first to commit"
    first.commit()
    first.close()
    thread.join(30)
    assert done.is_set()
    ids = _ids(store)
    assert _duplicate_of(store)["http://b/copy"] == ids["http://a/orig"]


def test_same_event_in_two_languages_shares_a_cluster(store: sessionmaker[Session]) -> None:
    source = _source(store)
    with unit_of_work(store) as session:
        ingest_article(
            session,
            _item(
                "http://en/1",
                ORIGINALS["release-en"],
                T0,
                "Belarus frees 52 prisoners as US eases Belavia sanctions",
            ),
            source,
            MATCH,
        )
        ingest_article(
            session,
            _item(
                "http://ru/1",
                ORIGINALS["release-ru"],
                T0 + timedelta(hours=3),
                "Освобождены 52 человека, США смягчили санкции против «Белавиа»",
                "b.example",
            ),
            source,
            MATCH,
        )
        ingest_article(
            session,
            _item(
                "http://ru/2",
                ORIGINALS["exile-ru"],
                T0 + timedelta(days=90),
                "Освобождённые не могут получить паспорта",
            ),
            source,
            MATCH,
        )
    with unit_of_work(store) as session:  # the batch's end (Pipeline.finish) counts outlets
        neardup.refresh_outlet_counts(session, list(session.scalars(select(Cluster.id))))
    with unit_of_work(store) as session:
        rows = dict(session.execute(select(Article.url, Article.cluster_id)).all())
        clusters = {c.id: c for c in session.scalars(select(Cluster))}
    assert rows["http://en/1"] == rows["http://ru/1"] != rows["http://ru/2"]
    event = clusters[rows["http://en/1"]]
    assert event.article_count == 2 and event.outlet_count == 2
    assert event.label.startswith("Belarus frees 52")  # the earliest report names it
    assert event.first_seen_at == T0 and event.last_seen_at == T0 + timedelta(hours=3)
    assert "52" in " ".join(event.top_terms) or "belavia" in event.top_terms


def _bands(engine: Engine) -> list[tuple[int, int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT article_id, band, hash FROM signature_bands"))
        return sorted((a, b, h) for a, b, h in rows)


# Reflecting the schema meets SQLite's expression index on articles (not compared here).
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_band_index_migration_keeps_every_row_both_ways(database_url: str) -> None:
    """0009 re-keys signature_bands on (band, hash, article_id): the stored rows survive the
    upgrade and the downgrade, and copies are still found against them afterwards."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    store = make_session_factory(engine)
    source = _source(store)
    with unit_of_work(store) as session:
        for oid in sorted(ORIGINALS):
            ingest_article(session, _item(f"http://a/{oid}", ORIGINALS[oid], T0), source, MATCH)
    stored = _bands(engine)
    assert len(stored) == 42 * len(ORIGINALS)
    command.downgrade(migrate.alembic_config(engine), "0008")
    assert _bands(engine) == stored
    with engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("signature_bands")}
    assert "ix_signature_bands_lookup" in indexes
    migrate.upgrade(engine)
    assert _bands(engine) == stored
    with unit_of_work(store) as session:  # an old row is found through the new key
        copy = _item("http://b/copy", _trimmed(ORIGINALS["exile-ru"]), T0 + timedelta(hours=1))
        ingest_article(session, copy, source, MATCH)
    ids = _ids(store)
    assert _duplicate_of(store)["http://b/copy"] == ids["http://a/exile-ru"]
    engine.dispose()


def test_cluster_candidates_are_the_nearby_clusters(store: sessionmaker[Session]) -> None:
    source = _source(store)
    with unit_of_work(store) as session:
        for hours, oid in enumerate(sorted(ORIGINALS)):
            when = T0 + timedelta(hours=hours)
            ingest_article(session, _item(f"http://a/{oid}", ORIGINALS[oid], when), source, MATCH)
    with unit_of_work(store) as session:
        clusters = list(session.scalars(select(Cluster)))
        for when in (T0, T0 + timedelta(days=2), T0 + timedelta(days=30)):
            # the clusters whose active span meets [when - window, when + window], most
            # recently active first
            nearby = sorted(
                (c for c in clusters
                 if c.last_seen_at >= when - CLUSTER_WINDOW
                 and c.first_seen_at <= when + CLUSTER_WINDOW),
                key=lambda c: (c.last_seen_at, c.id), reverse=True,
            )  # fmt: skip
            candidates = neardup.cluster_candidates(session, when, CLUSTER_WINDOW)
            assert [(c.id, c.centroid) for c in nearby] == [
                (c.id, dict(c.centroid)) for c in candidates
            ]
            assert bool(candidates) == (when < T0 + timedelta(days=3))


def _terms(rng: random.Random, vocabulary: list[str]) -> dict[str, float]:
    return {t: rng.random() for t in rng.sample(vocabulary, rng.randint(0, 40))}


def test_best_cluster_scores_exactly_as_cosine() -> None:
    """best_cluster's shortcut (weighting the article once, skipping unshared terms) must
    pick the same cluster with the same score as scoring every candidate with cosine."""
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(120)] + [f"{ENTITY}e{i}" for i in range(60)]
    for _ in range(300):
        terms = _terms(rng, vocabulary)
        candidates = [
            ClusterCandidate(cid, _terms(rng, vocabulary)) for cid in range(rng.randint(0, 30))
        ]
        expected: tuple[int | None, float] = (None, 0.0)
        if terms and candidates:
            idf = _idf(candidates)
            score, _, best = max((cosine(terms, c.centroid, idf), -c.id, c.id) for c in candidates)
            expected = (best if score >= JOIN_THRESHOLD else None, score)
        assert best_cluster(terms, candidates) == expected
