"""full-text search: an FTS5 index (SQLite) or a tsvector column with a GIN index (PostgreSQL)

Written by hand: autogenerate cannot express virtual tables, triggers or text-search
configurations, and is told to ignore these objects (storage.search_schema.include_name).

SQLite: ``articles_fts`` indexes title, summary and text with external content from
``articles``; triggers index each column as folded by ``framewatch_fold`` (a function
framewatch registers on its connections: ingest.model.query.fold_text), so run this migration
through framewatch (``framewatch init``). A later migration that rebuilds ``articles``
in batch mode drops these triggers; ``framewatch reindex`` recreates them.

Both: ``ix_articles_timeline`` on (coalesce(published_at, fetched_at), id), so newest-first
listings and date-sorted searches read the timeline in index order.

PostgreSQL: ``articles.search_doc`` (tsvector) kept by a trigger and a GIN index, with the
``framewatch_search`` configuration: ``simple`` behind ``unaccent`` when the extension is
available (installed here if allowed), else plain ``simple``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = "title, summary, text"
FOLD_NEW = "framewatch_fold(new.title), framewatch_fold(new.summary), framewatch_fold(new.text)"
FOLD_OLD = "framewatch_fold(old.title), framewatch_fold(old.summary), framewatch_fold(old.text)"
ADD = f"INSERT INTO articles_fts(rowid, {COLUMNS}) VALUES (new.id, {FOLD_NEW});"
REMOVE = (
    f"INSERT INTO articles_fts(articles_fts, rowid, {COLUMNS}) "
    f"VALUES ('delete', old.id, {FOLD_OLD});"
)

TIMELINE = "CREATE INDEX ix_articles_timeline ON articles (coalesce(published_at, fetched_at), id)"

SQLITE_UPGRADE = [
    TIMELINE,
    f"""CREATE VIRTUAL TABLE articles_fts USING fts5({COLUMNS}, content='articles',
        content_rowid='id', tokenize="unicode61 remove_diacritics 2 separators '`´ʹʼ'")""",
    f"CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN {ADD} END",
    f"CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN {REMOVE} END",
    f"""CREATE TRIGGER articles_fts_update AFTER UPDATE OF {COLUMNS} ON articles
        BEGIN {REMOVE} {ADD} END""",
    f"""INSERT INTO articles_fts(rowid, {COLUMNS})
        SELECT id, framewatch_fold(title), framewatch_fold(summary), framewatch_fold(text)
        FROM articles""",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS articles_fts_update",
    "DROP TRIGGER IF EXISTS articles_fts_delete",
    "DROP TRIGGER IF EXISTS articles_fts_insert",
    "DROP TABLE IF EXISTS articles_fts",
    "DROP INDEX IF EXISTS ix_articles_timeline",
]

WORD_TOKENS = (
    "asciiword, word, numword, asciihword, hword, numhword, "
    "hword_asciipart, hword_part, hword_numpart"
)


def vector(column: str, weight: str) -> str:
    return (
        "setweight(to_tsvector('framewatch_search', "
        f"translate(coalesce(NEW.{column}, ''), 'Ёё', 'Ее')), '{weight}')"
    )


PG_UPGRADE = [
    TIMELINE,
    "ALTER TABLE articles ADD COLUMN search_doc tsvector",
    f"""CREATE FUNCTION framewatch_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_doc := {vector("title", "A")} || {vector("summary", "B")}
            || {vector("text", "C")};
        RETURN NEW;
    END
    $$""",
    """CREATE TRIGGER articles_search_doc BEFORE INSERT OR UPDATE OF title, summary, text
       ON articles FOR EACH ROW EXECUTE FUNCTION framewatch_search_doc()""",
    "UPDATE articles SET title = title",
    "CREATE INDEX ix_articles_search_doc ON articles USING gin (search_doc)",
]
PG_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_articles_search_doc",
    "DROP TRIGGER IF EXISTS articles_search_doc ON articles",
    "DROP FUNCTION IF EXISTS framewatch_search_doc()",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search_doc",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS framewatch_search",
    "DROP INDEX IF EXISTS ix_articles_timeline",
]

UNACCENT_SCHEMA = sa.text(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'unaccent'"
)


def try_statement(bind: sa.Connection, statement: str) -> None:
    """Run a statement that may be refused (no extension, no permission)."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(statement)
    except Exception:
        pass


def unaccent_schema(bind: sa.Connection) -> str | None:
    found = bind.execute(UNACCENT_SCHEMA).scalar()
    if found is None:
        public = bind.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'"))
        if public.scalar():
            try_statement(bind, "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
        try_statement(bind, "CREATE EXTENSION IF NOT EXISTS unaccent")
        found = bind.execute(UNACCENT_SCHEMA).scalar()
    return found


def upgrade_postgresql() -> None:
    bind = op.get_bind()
    op.execute("CREATE TEXT SEARCH CONFIGURATION framewatch_search (COPY = pg_catalog.simple)")
    schema = unaccent_schema(bind)
    if schema is not None:
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION framewatch_search ALTER MAPPING FOR "
            f'{WORD_TOKENS} WITH "{schema}".unaccent, simple'
        )
    for statement in PG_UPGRADE:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        upgrade_postgresql()
    else:
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    statements = PG_DOWNGRADE if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWNGRADE
    for statement in statements:
        op.execute(statement)
