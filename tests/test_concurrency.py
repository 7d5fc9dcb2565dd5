"""Concurrency (issue 9, item 7): the CI variant of ``python -m bench.stress.contention``.

The service writes while the API is hit continuously, `framewatch search` and `framewatch
digest` run one after another and a one-shot `framewatch poll` runs beside them, all as
subprocesses of the real CLI on one database. No caller may see an error (no "database is
locked", no non-zero exit, no 5xx), and the store must hold every published entry once.
The long run is ``python -m bench.stress.contention --minutes 5`` (the README, "Reliability").
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bench.stress import contention
from storage.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from tests.conftest import PG_URL_ENV

SECONDS = 15


def _assert_no_errors(report: dict[str, object]) -> None:
    print({k: v for k, v in report.items() if k != "error_samples"}, report["error_samples"])
    assert report["errors_surfaced"] == 0, report["error_samples"]
    assert report["lost"] == report["duplicated"] == 0
    assert report["integrity"] == "ok" and report["problems"] == []
    calls = report["calls"]
    assert isinstance(calls, dict)
    # The contention really happened: everyone worked while the service stored articles.
    assert calls["api"] >= 50 and calls["search"] >= 1 and calls["digest"] >= 1
    assert calls["poll"] == 2
    assert isinstance(report["service_polls"], int) and report["service_polls"] >= 2
    assert isinstance(report["articles_stored"], int) and report["articles_stored"] > 0


@pytest.mark.timeout(300)
def test_writer_readers_and_a_one_shot_poll_on_sqlite() -> None:
    _assert_no_errors(contention.run(SECONDS, feeds=3, every_s=2.0))


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_writer_readers_and_a_one_shot_poll_on_postgresql() -> None:
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV}")
    _assert_no_errors(contention.run(SECONDS, base, feeds=3, every_s=2.0))


def test_sqlite_writers_wait_and_readers_never_do(tmp_path: Path) -> None:
    """The settings behind the above: WAL, a busy timeout, immediate write transactions
    (a second writer waits at BEGIN instead of failing later), readers not blocked."""
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    writer = make_engine(url)
    with writer.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    reader = make_engine(url, read_only=True)  # a reader never creates the file
    with writer.begin() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM t")  # a read in a write unit of work...
        # ...already holds the write lock: another connection cannot start writing.
        other = sqlite3.connect(tmp_path / "fw.db", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with reader.connect() as read:  # a reader is not blocked by the open write
            assert read.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        other.close()
    writer.dispose()
    reader.dispose()
