"""Run and check Alembic migrations from code (`framewatch init`, start-up checks)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from ingest.model.errors import StorageError
from storage.db import database_problem

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config(engine: Engine) -> Config:
    if not ALEMBIC_DIR.is_dir():
        raise StorageError(f"migrations not found at {ALEMBIC_DIR}; install framewatch with pip -e")
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run any number of times."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except DatabaseError as exc:
        raise StorageError(database_problem(engine, exc, "migrate")) from exc


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or older than this code."""
    try:
        current = current_revision(engine)
    except DatabaseError as exc:
        raise StorageError(database_problem(engine, exc)) from exc
    head = head_revision(engine)
    if current is None:
        raise StorageError("the database is not initialised; run `framewatch init`")
    if current != head:
        raise StorageError(
            f"the database schema is at {current}, this framewatch needs {head}; "
            "run `framewatch init` to migrate"
        )
