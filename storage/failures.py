"""Which exceptions mean "the store cannot be used right now", translated at the edge.

A PostgreSQL server restarting or out of reach, a SQLite file on a full disk or one that
cannot be opened, any write failing for want of disk space (temporary files too), a
connection pool with no connection free in time, a query cut off at its time limit: each
is one condition, :class:`~ingest.model.errors.StorageError`, with a one-line message
naming the cause. A constraint violation or a programming error is not one of them:
those are bugs, and stay what they are.
"""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy import exc as sa_exc

from ingest.model.errors import FramewatchError, StorageError

# SQLite errors that are the file or its disk, not the statement.
_SQLITE_STORE_FAILURES = (
    "database or disk is full",
    "disk i/o error",
    "unable to open database",
    "database is locked",
    "readonly database",
    "interrupted",  # a query cut off at its time limit (storage.db's progress handler)
    "no such table",  # a store that is not (or no longer) migrated
)
_CHAIN_DEPTH = 6
# A full disk fails more than the database: temporary files, the digest's files.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def as_storage_error(exc: BaseException) -> StorageError | None:
    """The StorageError that ``exc`` stands for (or was raised from), else None. The
    first failure in the chain names the cause: after a disk I/O error SQLite has rolled
    back, and the savepoint's release fails next with "no such savepoint"."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, FramewatchError):
        return None  # translated already (a search stopped at its deadline, a bad query)
    found: StorageError | None = None
    seen: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):
        if seen is None:
            break
        found = _translate(seen) or found
        seen = seen.__cause__ or seen.__context__
    return found


def _translate(exc: BaseException) -> StorageError | None:
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        return StorageError(f"no database connection free in time: {first_line(exc)}")
    if isinstance(exc, sa_exc.PendingRollbackError):
        return StorageError(f"database connection lost: {first_line(exc)}")
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            return StorageError(f"database error: {first_line(exc.orig or exc)}")
        return None
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return StorageError(f"disk full: {first_line(exc)}")
    if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError):
        text = str(exc).lower()
        if any(part in text for part in _SQLITE_STORE_FAILURES):
            return StorageError(f"database error: {first_line(exc)}")
        return None
    return _psycopg_error(exc)


def _psycopg_error(exc: BaseException) -> StorageError | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - installed with the package
        return None
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return StorageError(f"database error: {first_line(exc)}")
    return None


def first_line(exc: BaseException | object) -> str:
    """An error's message on one line: drivers add hints and SQL on the lines below."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if text.startswith("(") and ") " in text:  # SQLAlchemy's "(module.Class) message"
        text = text.split(") ", 1)[1]
    return text[:300]
