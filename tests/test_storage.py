from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.model.errors import StorageError
from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.run import store_article
from storage import migrate, repo, search_schema
from storage.db import make_engine, unit_of_work
from storage.export import EXPORT_FIELDS, export_records
from storage.models import Article, Base, Sighting, Source, StoryMembership

NOW = datetime(2025, 9, 11, 12, 0, tzinfo=UTC)


def _article(url: str, text_: str = "body " * 100, guid: str | None = None) -> ArticleItem:
    from ingest.pipeline.normalize import content_hash

    return ArticleItem(
        url=url, canonical_url=url, source="s", outlet="example.org", fetched_at=NOW,
        title="Belarus frees prisoners", summary="", text=text_, guid=guid,
        published_at=NOW, language="en", content_hash=content_hash("t", text_),
    )  # fmt: skip


def _sources(factory: sessionmaker[Session]) -> dict[str, int]:
    specs = [repo.SourceSpec("a", "feed", "http://a/", "western"),
             repo.SourceSpec("b", "feed", "http://b/", "by_state")]  # fmt: skip
    with unit_of_work(factory) as session:
        return repo.sync_sources(session, specs, NOW)


# The full-text index's expression index is not reflected on SQLite (nor compared: see
# storage.search_schema.include_name); SQLAlchemy says so.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # idempotent
    migrate.require_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": search_schema.include_name}
            ),
            Base.metadata,
        )
    engine.dispose()
    assert diff == []


def test_uninitialised_database_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(StorageError, match="framewatch init"):
        migrate.require_current(engine)
    engine.dispose()


def test_sqlite_pragmas(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    engine.dispose()


def test_sync_sources_adds_updates_and_deactivates(store: sessionmaker[Session]) -> None:
    ids = _sources(store)
    with unit_of_work(store) as session:
        repo.sync_sources(session, [repo.SourceSpec("a", "feed", "http://a2/", None)], NOW)
    with unit_of_work(store) as session:
        rows = {s.name: s for s in session.scalars(select(Source))}
        assert rows["a"].url == "http://a2/" and rows["a"].active
        assert not rows["b"].active and rows["b"].id == ids["b"]
        assert rows["a"].state is not None


def test_store_is_idempotent_and_records_sightings(store: sessionmaker[Session]) -> None:
    ids = _sources(store)
    match = [StoryMatch("belarus-prisoners", ("prisoner*",))]
    with unit_of_work(store) as session:
        first = store_article(session, _article("http://a/1", guid="g1"), ids["a"], match)
        again = store_article(session, _article("http://a/1", guid="g1"), ids["a"], match)
        other_source = store_article(session, _article("http://a/1"), ids["b"], match)
    assert first.status == "stored"
    assert again.status == "duplicate" and not again.new_sighting
    assert other_source.status == "duplicate" and other_source.new_sighting
    assert first.article_id == again.article_id == other_source.article_id
    with unit_of_work(store) as session:
        assert repo.count(session, Article) == 1
        assert repo.count(session, Sighting) == 2
        assert repo.count(session, StoryMembership) == 1


@pytest.mark.parametrize("rule", ["content_hash", "guid"])
def test_exact_dedup_rules(store: sessionmaker[Session], rule: str) -> None:
    ids = _sources(store)
    match = [StoryMatch("belarus-prisoners", ())]
    with unit_of_work(store) as session:
        store_article(session, _article("http://a/1", guid="g1"), ids["a"], match)
        copy = (
            _article("http://mirror/1")  # same text elsewhere
            if rule == "content_hash"
            else _article("http://a/1?moved", text_="other " * 100, guid="g1")  # same GUID
        )
        outcome = store_article(session, copy, ids["a"], match)
    assert outcome.status == "duplicate" and outcome.matched_by == rule


def test_short_texts_are_not_merged_by_hash(store: sessionmaker[Session]) -> None:
    ids = _sources(store)
    match = [StoryMatch("belarus-prisoners", ())]
    with unit_of_work(store) as session:
        a = store_article(session, _article("http://a/1", text_="Short brief."), ids["a"], match)
        b = store_article(session, _article("http://a/2", text_="Short brief."), ids["a"], match)
    assert a.article_id != b.article_id


def test_a_failed_unit_of_work_leaves_nothing(store: sessionmaker[Session]) -> None:
    ids = _sources(store)
    with pytest.raises(RuntimeError), unit_of_work(store) as session:
        store_article(session, _article("http://a/1"), ids["a"], [StoryMatch("s", ())])
        raise RuntimeError("crash mid-item")
    with unit_of_work(store) as session:
        assert repo.count(session, Article) == 0


def test_export_records_have_design_fields(store: sessionmaker[Session]) -> None:
    ids = _sources(store)
    with unit_of_work(store) as session:
        store_article(
            session, _article("http://a/1"), ids["a"], [StoryMatch("belarus-prisoners", ())]
        )
    with unit_of_work(store) as session:
        [record] = list(export_records(session, with_text=True))
    assert tuple(k for k in record if k != "text") == EXPORT_FIELDS
    assert record["stories"] == ["belarus-prisoners"] and record["source"] == "a"
    assert record["published_at"] == "2025-09-11T12:00:00+00:00"
    assert record["frames"] == [] and record["cluster"] is None and record["duplicate_of"] is None
    assert record["text_chars"] == len(record["text"]) == 500
