"""A known corpus for the search and API tests, stored through the real pipeline.

Articles (keys used by the tests) in English, Russian, Belarusian and Polish, with
accents, ё, apostrophes, a near-duplicate copy, an off-story article and one full of
markup, quotes and FTS syntax.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ingest.framing.codebook import load_codebook
from ingest.model.items import Article, StoryMatch
from ingest.pipeline.normalize import content_hash
from ingest.pipeline.run import ingest_article
from storage import migrate, repo
from storage.db import make_engine, make_session_factory, private_schema, unit_of_work
from tests.conftest import PG_URL_ENV

STORY = "belarus-prisoners"
OTHER_STORY = "sport"

# A long body, so the copy below is recognised as a near-duplicate of it.
_LONG = " ".join(
    f"Paragraph {i}: Belarus released political prisoners after talks with a US envoy, "
    f"and critics warned that people were being traded like hostages in round {i}."
    for i in range(40)
)

CORPUS: dict[str, dict[str, object]] = {
    "release_en": dict(
        source="westwire", outlet="westwire.example", language="en", day=(2025, 9, 11),
        title="Belarus frees 52 political prisoners after US talks",
        summary="Lukashenko pardoned 52 people.",
        text="Lukashenko pardoned 52 prisoners. " + _LONG,
    ),
    "humanism_en": dict(
        source="stateagency", outlet="belta.example", language="en", day=(2025, 9, 12),
        title="Minsk shows humanism: pardoned citizens return home",
        summary="",
        text="President Lukashenko pardoned citizens as an act of humanism. "
             "The humanism of the head of state was praised; bandits remain jailed.",
    ),
    "pardon_ru": dict(
        source="stateagency", outlet="belta.example", language="ru", day=(2025, 9, 12),
        title="Лукашенко помиловал 52 осуждённых",
        summary="",
        text="Освобождённые политзаключённые вернулись домой. Критики называют их заложниками.",
    ),
    "release_be": dict(
        source="nashaslova", outlet="nashaslova.example", language="be", day=(2025, 9, 13),
        title="Лукашэнка вызваліў палітвязняў",
        summary="",
        text="Сяргей Ціханоўскі на волі. Яго сям’я чакала пяць гадоў. Палітвязні яшчэ ў турмах.",
    ),
    "release_pl": dict(
        source="herald", outlet="herald.example", language="pl", day=(2025, 9, 14),
        title="Białoruś uwolniła 52 więźniów politycznych",
        summary="",
        text="Łukaszenka ułaskawił więźniów. Reżim mówi o „humanism”, krytycy o zakładnikach.",
    ),
    "copy_en": dict(
        source="herald", outlet="herald.example", language="en", day=(2025, 9, 15),
        title="US envoy secures release of Belarusian prisoners",
        summary="",
        text="Lukashenko pardoned 52 prisoners, officials said. " + _LONG,
    ),
    "sport_en": dict(
        source="westwire", outlet="westwire.example", language="en", day=(2025, 8, 1),
        title="Belarus wins the hockey final", summary="", story=OTHER_STORY,
        text="A sports report with no prisoners at all, only a trophy and fans.",
    ),
    "markup_en": dict(
        source="westwire", outlet="westwire.example", language="en", day=(2025, 9, 20),
        title="<script>alert('x')</script> & \"quotes\" about Belarus",
        summary="", url="javascript:alert(1)",
        text="Markup <b>bold</b> alert & title: NEAR(prisoners) a^b \"DROP TABLE articles\"; --",
    ),
}  # fmt: skip

SOURCES = [
    repo.SourceSpec("westwire", "feed", "https://westwire.example/rss", "western"),
    repo.SourceSpec("stateagency", "feed", "https://belta.example/rss", "by_state"),
    repo.SourceSpec("nashaslova", "feed", "https://nashaslova.example/rss", "by_independent"),
    repo.SourceSpec("herald", "feed", "https://herald.example/rss", "western"),
]


def _article(key: str, spec: dict[str, object]) -> Article:
    year, month, day = spec["day"]  # type: ignore[misc]
    when = datetime(year, month, day, 12, 0, tzinfo=UTC)
    url = str(spec.get("url") or f"https://{spec['outlet']}/news/{key}")
    text, title = str(spec["text"]), str(spec["title"])
    return Article(
        url=url, canonical_url=f"https://{spec['outlet']}/news/{key}", source=str(spec["source"]),
        outlet=str(spec["outlet"]), fetched_at=when, title=title, summary=str(spec["summary"]),
        text=text, published_at=when, language=str(spec["language"]),
        content_hash=content_hash(title, text),
    )  # fmt: skip


def build_corpus(factory: sessionmaker[Session]) -> dict[str, int]:
    """Store the corpus through the pipeline; returns article ids by key."""
    ids: dict[str, int] = {}
    codebooks = {STORY: load_codebook(f"builtin:{STORY}")}
    with unit_of_work(factory) as session:
        source_ids = repo.sync_sources(session, SOURCES, datetime(2025, 1, 1, tzinfo=UTC))
    for key, spec in CORPUS.items():
        with unit_of_work(factory) as session:
            story = str(spec.get("story", STORY))
            outcome = ingest_article(
                session, _article(key, spec), source_ids[str(spec["source"])],
                [StoryMatch(story, ("belarus",))], codebooks=codebooks,
            )  # fmt: skip
            assert outcome.article_id is not None
            ids[key] = outcome.article_id
    return ids


@contextmanager
def corpus_database(kind: str, folder: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """A migrated database (SQLite file or a private PostgreSQL schema) holding the corpus,
    for module-scoped fixtures that only read: (url, article ids by key)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'corpus.db'}"
        yield url, _filled(url)
        return
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV}")
    with private_schema(base) as url:
        yield url, _filled(url)


def _filled(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        return build_corpus(make_session_factory(engine))
    finally:
        engine.dispose()
