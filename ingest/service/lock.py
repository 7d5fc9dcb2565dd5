"""One service per database: a lock file beside a SQLite database, an advisory lock on
PostgreSQL. Both vanish with the process that holds them, so a crash leaves no stale lock.

One-shot commands (`poll`, `crawl`, `search`...) never take this lock: they are safe to
run beside the service (SQLite serialises writers; the store's writes are idempotent).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text

from ingest.model.errors import FramewatchError

# Advisory lock (class, object) on PostgreSQL: a fixed class, the object from the schema
# name, so services on different schemas of one database do not exclude each other.
_PG_LOCK_CLASS = 0x46_57_52_4E  # "FWRN"


class AlreadyRunning(FramewatchError):
    """Another `framewatch run` holds this database."""


@dataclass(frozen=True)
class Holder:
    pid: int | None
    host: str | None
    since: str | None

    def describe(self) -> str:
        where = f"pid {self.pid}" if self.pid else "another process"
        where += f" on {self.host}" if self.host else ""
        return f"{where}, running since {self.since}" if self.since else where


def _me() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class ServiceLock:
    """Hold with ``acquire()`` for the service's lifetime; ``release()`` on the way out."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file: IO[str] | None = None
        self._conn: Connection | None = None

    @property
    def lock_path(self) -> Path | None:
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database).expanduser().resolve().with_name(Path(database).name + ".lock")

    def acquire(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._acquire_pg()
        elif (path := self.lock_path) is not None:
            self._acquire_file(path)

    def release(self) -> None:
        if self._conn is not None:
            # Close the session itself, not just return it to the pool: the advisory lock
            # (and the application_name naming us) belong to that session.
            self._conn.invalidate()
            self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def holder(self) -> Holder | None:
        """Who holds the lock now (None: nobody, the service is not running)."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                return _pg_holder(conn)
        path = self.lock_path
        if path is None or not path.exists():
            return None
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(path)
            fcntl.flock(handle, fcntl.LOCK_UN)
        return None

    def _acquire_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            holder = _read_holder(path)
            raise AlreadyRunning(
                f"framewatch run is already running for this database ({holder.describe()}; "
                f"lock file {path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_me()))
        handle.flush()
        self._file = handle

    def _acquire_pg(self) -> None:
        me = _me()
        conn = self.engine.connect()
        conn.execute(
            text("SELECT set_config('application_name', :name, false)"),
            # PostgreSQL keeps 63 bytes of it: compact, with the host last.
            {"name": f"fwrun pid={me['pid']} since={me['since'][:19]} host={me['host']}"[:63]},
        )
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:cls, hashtext(current_schema()))"),
            {"cls": _PG_LOCK_CLASS},
        ).scalar()
        conn.commit()
        if not got:
            holder = _pg_holder(conn)
            conn.close()
            described = holder.describe() if holder else "another process"
            raise AlreadyRunning(
                f"framewatch run is already running for this database ({described})"
            )
        self._conn = conn


def _read_holder(path: Path) -> Holder:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    return Holder(data.get("pid"), data.get("host"), data.get("since"))


def _pg_holder(conn: Connection) -> Holder | None:
    row = conn.execute(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :cls "
            "AND l.objid = (hashtext(current_schema())::bigint & 4294967295)::oid "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"cls": _PG_LOCK_CLASS},
    ).first()
    if row is None:
        return None
    fields = dict(part.split("=", 1) for part in str(row[0]).split() if "=" in part)
    pid = fields.get("pid")
    return Holder(
        int(pid) if pid and pid.isdigit() else None, fields.get("host"), fields.get("since")
    )
