"""One service per database: a lock file beside a SQLite database, an advisory lock on
PostgreSQL (plus a lock file on this host, see :func:`service_files`). All vanish with the
process that holds them, so a crash leaves no stale lock.

The PostgreSQL lock lives on one database session, and a server restart ends that
session: the holder proves it still holds the lock before every cycle of work
(:meth:`ServiceLock.verify`), re-acquires it on a new session when the old one is gone,
and pauses while it cannot. The host's lock file keeps a second `framewatch run` on this
host out even while the database is down, and tells `framewatch status` that the service
runs when the database cannot.

One-shot commands (`poll`, `crawl`, `search`...) never take this lock: they are safe to
run beside the service (SQLite serialises writers; the store's writes are idempotent).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from ingest.config.settings import Settings
from ingest.model.errors import FramewatchError
from storage.failures import as_storage_error

log = logging.getLogger(__name__)

# Advisory lock (class, object) on PostgreSQL: a fixed class, the object from the schema
# name, so services on different schemas of one database do not exclude each other.
_PG_LOCK_CLASS = 0x46_57_52_4E  # "FWRN"
_HOLDS_LOCK = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND classid = :cls "
    "AND objid = (hashtext(current_schema())::bigint & 4294967295)::oid"
)


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


def service_files(settings: Settings) -> Path:
    """Where the service keeps its files on this host (``<stem>.lock``, ``<stem>.state``):
    beside a SQLite database; for PostgreSQL beside the config file (else in the working
    directory), named after the database, so every config naming it finds the same ones."""
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve()
    name = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:12]
    return (settings.config_dir or Path.cwd()).resolve() / f".framewatch-{name}"


def _me() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class ServiceLock:
    """Hold with ``acquire()`` for the service's lifetime, prove with ``verify()`` before
    each cycle of work, ``release()`` on the way out. ``files``: the stem of the host's
    lock file (:func:`service_files`); a SQLite database's own path when not given."""

    def __init__(self, engine: Engine, files: Path | None = None) -> None:
        self.engine = engine
        self.files = files
        self._file: IO[str] | None = None
        self._conn: Connection | None = None
        self._me = _me()
        self._guard = threading.Lock()  # jobs in several threads verify the one session

    @property
    def lock_path(self) -> Path | None:
        if self.files is not None:
            return self.files.with_name(self.files.name + ".lock")
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database).expanduser().resolve().with_name(Path(database).name + ".lock")

    def acquire(self) -> None:
        """Both locks; raises AlreadyRunning, or StorageError if PostgreSQL is down."""
        self.acquire_local()
        if not self.verify():
            raise AlreadyRunning(f"framewatch run is already running for this database "
                                 f"({self._pg_described()})")  # fmt: skip

    def acquire_local(self) -> None:
        """The host's lock file (the whole lock on SQLite); raises AlreadyRunning."""
        if (path := self.lock_path) is None or self._file is not None:
            return
        try:
            self._file = _lock_file(path, self._me)
        except OSError as exc:
            if self.engine.dialect.name != "postgresql":
                raise
            # e.g. a read-only config folder (systemd's ProtectSystem): the database's
            # lock still keeps a second service out, once the database answers.
            log.warning("no lock file on this host (%s): %s", path, exc)

    def verify(self) -> bool:
        """Does this process hold the lock now? Takes it again on a new session if the
        old one is gone (False: another service holds it). StorageError: cannot tell."""
        with self._guard:
            if self._file is not None and not _still_ours(self._file, self.lock_path):
                self._file.close()
                self._file = None
                self.acquire_local()  # someone removed the file: lock a new one
            if self.engine.dialect.name != "postgresql":
                return True
            if self._conn is not None and self._pg_still_held():
                return True
            return self._pg_take()

    def release(self) -> None:
        with self._guard:
            self._drop_session()
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
                self._file = None

    def holder(self) -> Holder | None:
        """Who holds the lock now (None: nobody, the service is not running). On
        PostgreSQL, the database says, else (it is down) this host's lock file."""
        if self.engine.dialect.name == "postgresql":
            try:
                with self.engine.connect() as conn:
                    found = _pg_holder(conn)
            except Exception as exc:
                if as_storage_error(exc) is None:
                    raise
                found = None
            if found is not None:
                return found
        return self.local_holder()

    def local_holder(self) -> Holder | None:
        """The process holding this host's lock file, if one does."""
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

    # -- PostgreSQL -------------------------------------------------------------------------

    def _pg_still_held(self) -> bool:
        assert self._conn is not None
        try:
            held = self._conn.execute(text(_HOLDS_LOCK), {"cls": _PG_LOCK_CLASS}).scalar()
            self._conn.rollback()
        except Exception as exc:
            if as_storage_error(exc) is None:
                raise
            self._drop_session()  # the session (and its lock) is gone
            return False
        if not held:
            self._drop_session()
        return bool(held)

    def _pg_take(self) -> bool:
        try:
            conn = self.engine.connect()
        except Exception as exc:
            raise (as_storage_error(exc) or exc) from exc
        try:
            got = _pg_try_lock(conn, self._me)
        except Exception as exc:
            conn.invalidate()
            conn.close()
            raise (as_storage_error(exc) or exc) from exc
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def _drop_session(self) -> None:
        if self._conn is None:
            return
        # Close the session itself, not just return it to the pool: the advisory lock
        # (and the application_name naming us) belong to that session.
        try:
            self._conn.invalidate()
            self._conn.close()
        except Exception as exc:
            if as_storage_error(exc) is None:
                raise
        self._conn = None

    def _pg_described(self) -> str:
        try:
            with self.engine.connect() as conn:
                holder = _pg_holder(conn)
        except Exception:
            holder = None
        return holder.describe() if holder else "another process"


def _lock_file(path: Path, me: dict[str, Any]) -> IO[str]:
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
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(me))
        handle.flush()
    except OSError:
        pass  # a full disk: the lock holds all the same, only its description is missing
    return handle


def _still_ours(handle: IO[str], path: Path | None) -> bool:
    """The locked file is still the one at ``path`` (not removed or replaced)."""
    try:
        return path is not None and os.fstat(handle.fileno()).st_ino == path.stat().st_ino
    except OSError:
        return False


def _pg_try_lock(conn: Connection, me: dict[str, Any]) -> bool:
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
    return bool(got)


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
