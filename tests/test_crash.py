"""Crash safety (issue 9, item 6): the CI variant of ``python -m bench.stress.crash``.

Ingestion (a forked poll, the service) is killed with SIGKILL at random moments and
restarted until it completes; the store must then hold every expected article, sighting
and irrelevant entry exactly once, with nothing half-written and a clean integrity check.
The long run is ``python -m bench.stress.crash --trials 200`` (see the README, "Reliability").
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bench.stress import crash
from ingest.config.settings import load_settings
from ingest.fetch.client import Fetcher
from ingest.sources.poll import poll_feeds
from storage import migrate
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Flag
from tests.conftest import PG_URL_ENV


def _assert_clean(report: dict[str, object], trials: int) -> None:
    print({k: v for k, v in report.items() if k != "failed_trials"})
    assert report["failed_trials"] == []
    assert report["trials"] == trials
    assert report["lost"] == report["duplicated"] == report["integrity_failures"] == 0
    assert report["half_written_or_stale"] == report["errors"] == 0
    assert isinstance(report["kills"], int) and report["kills"] >= trials // 2  # kills happened


@pytest.mark.timeout(240)
def test_killed_ingestion_loses_and_duplicates_nothing_on_sqlite() -> None:
    report = crash.run(3, seed=11, modes=("poll", "service"), max_kills=2, texts_per_feed=2)
    _assert_clean(report, 3)


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_killed_ingestion_loses_and_duplicates_nothing_on_postgresql() -> None:
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV}")
    report = crash.run(2, base, seed=12, modes=("poll", "service"), max_kills=2, texts_per_feed=2)
    _assert_clean(report, 2)


def test_a_poll_after_a_kill_before_the_flags_recomputes_them(tmp_path: Path) -> None:
    """The state a kill leaves between storing articles and recomputing the flags (the
    articles committed, the flags not): the next poll stores nothing new yet must bring
    the flags up to date."""
    web = crash.build_web(texts_per_feed=2, seed=3)
    web.write(tmp_path / "web")
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    with crash.served(tmp_path / "web") as base_url:
        config = tmp_path / "fw.toml"
        config.write_text(crash.config_text(web.feeds, base_url, url, tmp_path / "digests"))
        settings = load_settings(config)
        engine = make_engine(url)
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        with Fetcher("t", 10, 5_000_000, allow_private_addresses=True) as fetcher:
            first = poll_feeds(settings, factory, fetcher)
            with unit_of_work(factory) as session:
                flags = session.scalar(select(func.count()).select_from(Flag))
                session.execute(delete(Flag))  # as if killed before the flags were written
            again = poll_feeds(settings, factory, fetcher)
        with unit_of_work(factory) as session:
            restored = session.scalar(select(func.count()).select_from(Flag))
        engine.dispose()
    assert first.total("stored") > 0 and flags
    assert again.total("stored") == 0 and restored == flags
