"""Alembic environment: the engine comes from framewatch (config.attributes['engine'])."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

from storage.db import make_engine
from storage.models import Base, UTCDateTime
from storage.search_schema import include_name

target_metadata = Base.metadata


def _engine() -> Engine:
    engine = context.config.attributes.get("engine")
    if engine is not None:
        return engine
    # Command-line alembic: use the same lookup as framewatch itself.
    from ingest.config.settings import load_settings

    return make_engine(load_settings().database.url)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay free of framewatch imports: UTCDateTime is a plain aware DateTime.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=_render_item,
            # The full-text index (migration 0003) is not in the models: ignore it.
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
