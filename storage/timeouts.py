"""Every query bounded in time: ``statement_timeout`` on PostgreSQL, a progress handler on
SQLite that interrupts a statement running past its deadline. A query cut off raises
OperationalError ("canceling statement due to statement timeout" / "interrupted"),
which ``storage.failures`` reads as the store being unusable right now."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, event

# SQLite calls the progress handler every this many virtual-machine instructions
# (about a millisecond of work): cheap, and fine-grained enough for a deadline.
PROGRESS_STEPS = 10_000
_DEADLINE = "framewatch_deadline"


def bound_queries(engine: Engine, seconds: float) -> None:
    """Cut off any statement on ``engine`` that runs longer than ``seconds``."""
    if engine.dialect.name == "postgresql":
        _bound_postgresql(engine, seconds)
    elif engine.dialect.name == "sqlite":
        _bound_sqlite(engine, seconds)


def _bound_postgresql(engine: Engine, seconds: float) -> None:
    millis = max(1, int(seconds * 1000))

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            dbapi_conn.execute(f"SET statement_timeout = {millis}")
        finally:
            dbapi_conn.autocommit = autocommit

    event.listen(engine, "connect", on_connect)


def _bound_sqlite(engine: Engine, seconds: float) -> None:
    def on_connect(dbapi_conn: sqlite3.Connection, record: Any) -> None:
        deadline = [float("inf")]
        record.info[_DEADLINE] = deadline
        dbapi_conn.set_progress_handler(lambda: int(time.monotonic() > deadline[0]), PROGRESS_STEPS)

    def before_execute(conn: Any, *_args: Any) -> None:
        deadline = conn.info.get(_DEADLINE)
        if deadline is not None:
            deadline[0] = time.monotonic() + seconds

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "before_cursor_execute", before_execute)
