"""Engine and session set-up for SQLite (WAL, foreign keys, busy timeout) and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from ingest.model.errors import StorageError
from ingest.model.query import fold_text
from storage.failures import as_storage_error, first_line
from storage.timeouts import bound_queries

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
READ_MMAP_BYTES = 1 << 30
READ_CACHE_KIB = 32_768
# Writers' page cache (SQLite's default is 2 MB). Each stored article looks up and inserts
# 42 rows at random places in the near-duplicate band index (storage.neardup; about 0.8 MB
# per 1,000 articles), so once that index outgrows the cache nearly every probe rereads a
# page from the file. 64 MB holds most of a 100k-article index; it is a ceiling per
# connection, filled only as pages are read.
WRITE_CACHE_KIB = 65_536


def _on_sqlite_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # pysqlite's own transaction handling is disabled so BEGIN IMMEDIATE below is honoured.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # The busy timeout first: even switching to WAL may have to wait for another process.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
    cursor.close()
    # The full-text index's triggers fold text exactly as story matching does.
    dbapi_conn.create_function("framewatch_fold", 1, _fold_or_none, deterministic=True)


def _fold_or_none(value: object) -> str | None:
    return fold_text(value) if isinstance(value, str) else None


def _on_sqlite_begin(conn: Any) -> None:
    # Writers take the lock up front: a deferred transaction that later upgrades to a
    # write lock can fail with "database is locked" despite the busy timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _on_sqlite_connect_read_only(dbapi_conn: sqlite3.Connection, record: Any) -> None:
    _on_sqlite_connect(dbapi_conn, record)
    dbapi_conn.execute("PRAGMA query_only=ON")
    # Searches read many scattered rows: map the file and keep a larger page cache.
    dbapi_conn.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
    dbapi_conn.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")


def _on_sqlite_begin_read_only(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")  # readers take no lock under WAL, so never wait for writers


def one_line(exc: BaseException) -> str:
    """A database error as one line: the driver's message (``storage.failures``)."""
    return first_line(getattr(exc, "orig", None) or exc)


def check_sqlite_file(path: Path, must_exist: bool) -> None:
    """Refuse a SQLite location that cannot work, with one line naming it and what to do.

    ``must_exist``: commands that read a store need it to be there (never create an empty
    one); ``framewatch init`` creates it, and its folder when missing.
    """
    folder = path.parent
    if path.is_dir():
        raise StorageError(f"{path} is a folder, not a database file; set [database] url "
                           "to a file path")  # fmt: skip
    if folder.exists() and not folder.is_dir():
        raise StorageError(f"cannot use {path}: {folder} is a file, not a folder; set "
                           "[database] url to a path in a folder")  # fmt: skip
    if not path.exists():
        if must_exist:
            where = "" if folder.is_dir() else f" (the folder {folder} does not exist)"
            raise StorageError(f"no database at {path}{where}; run `framewatch init` to create "
                               "it, or set [database] url or $FRAMEWATCH_DATABASE_URL")  # fmt: skip
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise StorageError(f"cannot create the folder {folder} for the database: "
                               f"{reason}; create it or set [database] url") from None  # fmt: skip
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StorageError(f"cannot create the database in {folder}: permission denied; "
                               "make the folder writable or set [database] url")  # fmt: skip
        return
    if not os.access(path, os.R_OK):
        raise StorageError(f"cannot read the database {path}: permission denied; "
                           "check its permissions")  # fmt: skip
    # Its first bytes are not read here: closing any descriptor of a SQLite file drops
    # every lock this process holds on it (POSIX locks), and another engine of this
    # process may hold some. A file that is not a database is named by database_problem.


def database_problem(engine: Engine, exc: BaseException, doing: str = "open") -> str:
    """A database error on ``engine`` as one line naming the database and what to do."""
    reason = one_line(exc)
    if engine.dialect.name == "sqlite" and "file is not a database" in reason:
        return (f"{engine.url.database} is not a SQLite database; point [database] url at "
                "the database file (or a new path, then run `framewatch init`)")  # fmt: skip
    return f"cannot {doing} the database {engine.url.render_as_string()}: {reason}"


def make_engine(
    url: str,
    read_only: bool = False,
    must_exist: bool = False,
    statement_timeout_s: float | None = None,
    **kwargs: Any,
) -> Engine:
    """Create an engine; SQLite files get WAL, foreign keys and a busy timeout.

    ``read_only`` engines (search, the HTTP API) cannot write: SQLite connections are
    ``query_only`` and begin deferred transactions, PostgreSQL ones are read-only. A
    SQLite location that cannot work is a StorageError (``check_sqlite_file``); with
    ``must_exist`` or ``read_only`` a missing file is one too.
    ``statement_timeout_s`` cuts off any query running longer (``storage.timeouts``).
    """
    engine = _make_engine(url, read_only, must_exist, **kwargs)
    if statement_timeout_s is not None:
        bound_queries(engine, statement_timeout_s)
    return engine


def _make_engine(url: str, read_only: bool, must_exist: bool, **kwargs: Any) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"database url is not valid: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database).expanduser()
            check_sqlite_file(path, must_exist or read_only)
        engine = create_engine(parsed, **kwargs)
        on_connect = _on_sqlite_connect_read_only if read_only else _on_sqlite_connect
        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", _on_sqlite_begin_read_only if read_only else _on_sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if "connect_timeout" not in parsed.query:  # an unreachable server fails, not hangs
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S,
                                  **kwargs.get("connect_args", {})}  # fmt: skip
    try:
        engine = create_engine(parsed, pool_pre_ping=True, **kwargs)
        return engine.execution_options(postgresql_readonly=True) if read_only else engine
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise StorageError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session per unit of work: commit on success, roll back on any error. A store
    that cannot be used (unreachable, disk full...) comes out as one StorageError."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        _rollback(session)
        failure = as_storage_error(exc) if isinstance(exc, Exception) else None
        if failure is not None and failure is not exc:
            raise failure from exc
        raise
    finally:
        _close(session)


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    except Exception as exc:  # a lost connection cannot roll back: its server did
        if as_storage_error(exc) is None:
            raise


def _close(session: Session) -> None:
    try:
        session.close()
    except Exception as exc:
        if as_storage_error(exc) is None:
            raise


@contextmanager
def private_schema(base_url: str, prefix: str = "fw") -> Iterator[str]:
    """A URL for a new, empty schema on ``base_url``'s PostgreSQL database, dropped with
    everything in it afterwards (tests and benchmarks: one database, many stores)."""
    import uuid

    from sqlalchemy import text

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
