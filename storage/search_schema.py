"""The full-text index's database objects, kept in step with ``articles`` by the database.

SQLite: ``articles_fts``, an FTS5 table with external content (``articles``), so the index
stores no second copy of the text and ``snippet()`` shows the original. Triggers on
``articles`` index each column folded by ``framewatch_fold`` (``ingest.model.query.fold_text``,
registered on every connection by ``storage.db``), so search folds exactly as story
matching does (``ł``→``l``, ``ё``→``е``, ``й`` kept). The unicode61 tokenizer (with
``remove_diacritics 2``) then also treats the apostrophes fold_text unifies as separators,
so the original and the folded text split into the same tokens and snippets highlight the
right words.

PostgreSQL: ``article_search``, a narrow table with one row per article holding what a
search reads: the tsvector (title weight A, summary B, text C) kept inline in the row,
the timeline date, the copy flag and the language; a GIN index on the tsvector and a
b-tree on (timeline date, article id). A trigger on ``articles`` keeps it in step (the
tsvector is recomputed only when the text columns change); deleting an article cascades.
The tsvector is built with the ``framewatch_search`` text-search configuration: ``simple``
preceded by ``unaccent`` when that extension can be used. (Migration 0003 put the
tsvector in ``articles.search_doc``; 0008 moved it: out-of-line TOAST look-ups made
every match checked or ranked cost a second read.)

Both: ``ix_articles_timeline`` on (published-else-fetched date, id), for newest-first
listings and date-sorted searches.

Alembic migrations 0003 and 0008 create these objects; :func:`ensure_objects` recreates any that
are missing (e.g. triggers dropped by a batch table rebuild) and :func:`rebuild_index`
rebuilds the index from ``articles`` (``framewatch reindex``). Autogenerate must not see
them: :func:`include_name` is the hook (``alembic/env.py``, the migration test).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

FTS_TABLE = "articles_fts"
SEARCH_TABLE = "article_search"
SEARCH_COLUMN = "search_doc"
SEARCH_INDEX = "ix_article_search_doc"
DATED_INDEX = "ix_article_search_dated"
# Newest-first listings and date-sorted searches read the timeline date in index order.
TIMELINE_INDEX = "ix_articles_timeline"
_TIMELINE = (
    f"CREATE INDEX IF NOT EXISTS {TIMELINE_INDEX} "
    "ON articles (coalesce(published_at, fetched_at), id)"
)
TS_CONFIG = "framewatch_search"
FOLD_FUNCTION = "framewatch_fold"

# Characters fold_text turns into "'" that unicode61 would otherwise keep inside a token.
_SEPARATORS = "`´ʹʼ"
SQLITE_TOKENIZER = f"unicode61 remove_diacritics 2 separators '{_SEPARATORS}'"
_COLUMNS = ("title", "summary", "text")

_SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"{', '.join(_COLUMNS)}, content='articles', content_rowid='id', "
    f'tokenize="{SQLITE_TOKENIZER}")'
)


def _folded(prefix: str) -> str:
    return ", ".join(f"{FOLD_FUNCTION}({prefix}.{c})" for c in _COLUMNS)


_ADD = f"INSERT INTO {FTS_TABLE}(rowid, {', '.join(_COLUMNS)}) VALUES (new.id, {_folded('new')});"
_REMOVE = (
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {', '.join(_COLUMNS)}) "
    f"VALUES ('delete', old.id, {_folded('old')});"
)
_SQLITE_TRIGGERS = {
    "articles_fts_insert": f"AFTER INSERT ON articles BEGIN {_ADD} END",
    "articles_fts_delete": f"AFTER DELETE ON articles BEGIN {_REMOVE} END",
    "articles_fts_update": (
        f"AFTER UPDATE OF {', '.join(_COLUMNS)} ON articles BEGIN {_REMOVE} {_ADD} END"
    ),
}

_WORD_TOKENS = (
    "asciiword, word, numword, asciihword, hword, numhword, "
    "hword_asciipart, hword_part, hword_numpart"
)


def _pg_vector(row: str, column: str, weight: str) -> str:
    return (
        f"setweight(to_tsvector('{TS_CONFIG}', "
        f"translate(coalesce({row}.{column}, ''), 'Ёё', 'Ее')), '{weight}')"
    )


def _pg_document(row: str) -> str:
    weights = (("title", "A"), ("summary", "B"), ("text", "C"))
    return " || ".join(_pg_vector(row, column, weight) for column, weight in weights)


def _pg_row(row: str) -> str:
    """The article_search values of ``row`` (an articles row)."""
    return (
        f"{row}.id, coalesce({row}.published_at, {row}.fetched_at), "
        f"{row}.duplicate_of IS NOT NULL, {row}.language, {_pg_document(row)}"
    )


_PG_ROW_COLUMNS = "article_id, dated_at, is_copy, language, search_doc"
# Inline (toast_tuple_target, storage MAIN): a TOAST look-up per row checked or ranked
# cost more than the rest of a search.
_PG_TABLE = f"""
CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} (
    article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    dated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    is_copy BOOLEAN NOT NULL,
    language VARCHAR(12),
    {SEARCH_COLUMN} TSVECTOR NOT NULL
) WITH (toast_tuple_target = 8160)"""
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION framewatch_article_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.title IS NOT DISTINCT FROM OLD.title
            AND NEW.summary IS NOT DISTINCT FROM OLD.summary
            AND NEW.text IS NOT DISTINCT FROM OLD.text THEN
        UPDATE {SEARCH_TABLE} SET dated_at = coalesce(NEW.published_at, NEW.fetched_at),
            is_copy = NEW.duplicate_of IS NOT NULL, language = NEW.language
        WHERE article_id = NEW.id;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO {SEARCH_TABLE} ({_PG_ROW_COLUMNS}) VALUES ({_pg_row("NEW")})
    ON CONFLICT (article_id) DO UPDATE SET dated_at = EXCLUDED.dated_at,
        is_copy = EXCLUDED.is_copy, language = EXCLUDED.language,
        {SEARCH_COLUMN} = EXCLUDED.{SEARCH_COLUMN};
    RETURN NULL;
END
$$"""
_PG_TRIGGER = (
    "CREATE TRIGGER articles_search AFTER INSERT OR UPDATE OF title, summary, text, "
    "published_at, fetched_at, language, duplicate_of ON articles "
    "FOR EACH ROW EXECUTE FUNCTION framewatch_article_search()"
)
_PG_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON {SEARCH_TABLE} USING gin ({SEARCH_COLUMN})",
    f"CREATE INDEX IF NOT EXISTS {DATED_INDEX} ON {SEARCH_TABLE} (dated_at, article_id)",
)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic autogenerate hook: the search objects are not part of the models."""
    if type_ == "table" and name is not None:
        return not name.startswith(FTS_TABLE) and name != SEARCH_TABLE
    if type_ == "column":
        return name != SEARCH_COLUMN
    if type_ == "index":
        return name not in (SEARCH_INDEX, DATED_INDEX, TIMELINE_INDEX)
    return True


# ------------------------------------------------------------------------ SQLite


def _sqlite_ensure(conn: Connection) -> None:
    conn.exec_driver_sql(_TIMELINE)
    conn.exec_driver_sql(_SQLITE_TABLE)
    for name, body in _SQLITE_TRIGGERS.items():
        conn.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")


def _sqlite_rebuild(conn: Connection) -> None:
    conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
    conn.exec_driver_sql(
        f"INSERT INTO {FTS_TABLE}(rowid, {', '.join(_COLUMNS)}) "
        f"SELECT id, {_folded('articles')} FROM articles"
    )
    conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")


# -------------------------------------------------------------------- PostgreSQL


def _pg_try(conn: Connection, statement: str) -> bool:
    """Run a statement that may be refused (permissions, missing extension)."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(statement)
    except Exception:  # any refusal means "not available"
        return False
    return True


def pg_unaccent_schema(conn: Connection) -> str | None:
    """Where the unaccent extension lives, installing it if allowed; None if unavailable."""
    query = text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'unaccent'"
    )
    found = conn.execute(query).scalar()
    if found is None:
        has_public = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'"))
        if not (has_public.scalar() and _pg_try(conn, "CREATE EXTENSION unaccent SCHEMA public")):
            _pg_try(conn, "CREATE EXTENSION unaccent")
        found = conn.execute(query).scalar()
    return found


def _pg_config(conn: Connection) -> None:
    exists = conn.execute(
        text("SELECT 1 FROM pg_ts_config WHERE cfgname = :name AND pg_ts_config_is_visible(oid)"),
        {"name": TS_CONFIG},
    ).scalar()
    if not exists:
        conn.exec_driver_sql(
            f"CREATE TEXT SEARCH CONFIGURATION {TS_CONFIG} (COPY = pg_catalog.simple)"
        )
    schema = pg_unaccent_schema(conn)
    dictionaries = f'"{schema}".unaccent, simple' if schema else "simple"
    conn.exec_driver_sql(
        f"ALTER TEXT SEARCH CONFIGURATION {TS_CONFIG} ALTER MAPPING FOR {_WORD_TOKENS} "
        f"WITH {dictionaries}"
    )


def _pg_ensure(conn: Connection) -> None:
    conn.exec_driver_sql(_TIMELINE)
    _pg_config(conn)
    conn.exec_driver_sql(_PG_TABLE)
    conn.exec_driver_sql(
        f"ALTER TABLE {SEARCH_TABLE} ALTER COLUMN {SEARCH_COLUMN} SET STORAGE MAIN"
    )
    conn.exec_driver_sql(_PG_FUNCTION)
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS articles_search ON articles")
    conn.exec_driver_sql(_PG_TRIGGER)
    for statement in _PG_INDEXES:
        conn.exec_driver_sql(statement)


def _pg_rebuild(conn: Connection) -> None:
    """Every row recomputed from ``articles`` (TRUNCATE: no dead rows left behind)."""
    conn.exec_driver_sql(f"TRUNCATE {SEARCH_TABLE}")
    conn.exec_driver_sql(
        f"INSERT INTO {SEARCH_TABLE} ({_PG_ROW_COLUMNS}) SELECT {_pg_row('a')} FROM articles AS a"
    )
    conn.exec_driver_sql(f"ANALYZE {SEARCH_TABLE}")


# ------------------------------------------------------------------------ public


def ensure_objects(conn: Connection) -> None:
    """Create whatever search objects are missing (idempotent)."""
    if conn.dialect.name == "postgresql":
        _pg_ensure(conn)
    else:
        _sqlite_ensure(conn)


def rebuild_index(conn: Connection) -> int:
    """Recreate missing objects and rebuild the index from ``articles``; returns the count."""
    ensure_objects(conn)
    if conn.dialect.name == "postgresql":
        _pg_rebuild(conn)
    else:
        _sqlite_rebuild(conn)
    return int(conn.exec_driver_sql("SELECT count(*) FROM articles").scalar() or 0)
