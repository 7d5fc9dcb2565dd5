"""search narrow: PostgreSQL's full-text index moves to a narrow table, article_search

PostgreSQL: ``articles.search_doc`` (a tsvector of 2-3 kB for a 200-word article) was
stored out of line in TOAST, so every match checked or ranked cost a TOAST look-up.
``article_search`` holds one row per article with only what a search reads: the
tsvector, kept inline (``toast_tuple_target`` 8160, storage MAIN), the timeline date, the
copy flag and the language, with a GIN index on the tsvector and a b-tree on (timeline
date, article id). A trigger on ``articles`` keeps it in step (the tsvector is recomputed
only when title, summary or text change); deleting an article deletes its row. The
tsvectors already computed are moved over, then the old column, index and trigger are
dropped. The downgrade puts them back.

SQLite: nothing changes (FTS5 already keeps its own index table); a no-op.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 11:15:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def vector(row: str, column: str, weight: str) -> str:
    return (
        "setweight(to_tsvector('framewatch_search', "
        f"translate(coalesce({row}.{column}, ''), 'Ёё', 'Ее')), '{weight}')"
    )


def document(row: str) -> str:
    return " || ".join(
        vector(row, c, w) for c, w in (("title", "A"), ("summary", "B"), ("text", "C"))
    )


FUNCTION = f"""
CREATE OR REPLACE FUNCTION framewatch_article_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.title IS NOT DISTINCT FROM OLD.title
            AND NEW.summary IS NOT DISTINCT FROM OLD.summary
            AND NEW.text IS NOT DISTINCT FROM OLD.text THEN
        UPDATE article_search SET dated_at = coalesce(NEW.published_at, NEW.fetched_at),
            is_copy = NEW.duplicate_of IS NOT NULL, language = NEW.language
        WHERE article_id = NEW.id;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO article_search (article_id, dated_at, is_copy, language, search_doc)
    VALUES (NEW.id, coalesce(NEW.published_at, NEW.fetched_at), NEW.duplicate_of IS NOT NULL,
            NEW.language, {document("NEW")})
    ON CONFLICT (article_id) DO UPDATE SET dated_at = EXCLUDED.dated_at,
        is_copy = EXCLUDED.is_copy, language = EXCLUDED.language,
        search_doc = EXCLUDED.search_doc;
    RETURN NULL;
END
$$"""

UPGRADE = [
    """CREATE TABLE article_search (
        article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        dated_at TIMESTAMP WITH TIME ZONE NOT NULL,
        is_copy BOOLEAN NOT NULL,
        language VARCHAR(12),
        search_doc TSVECTOR NOT NULL
    ) WITH (toast_tuple_target = 8160)""",
    "ALTER TABLE article_search ALTER COLUMN search_doc SET STORAGE MAIN",
    # The tsvectors already computed are reused; only missing ones are computed.
    f"""INSERT INTO article_search (article_id, dated_at, is_copy, language, search_doc)
        SELECT a.id, coalesce(a.published_at, a.fetched_at), a.duplicate_of IS NOT NULL,
               a.language, coalesce(a.search_doc, {document("a")})
        FROM articles AS a""",
    "DROP TRIGGER IF EXISTS articles_search_doc ON articles",
    "DROP FUNCTION IF EXISTS framewatch_search_doc()",
    "DROP INDEX IF EXISTS ix_articles_search_doc",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search_doc",
    FUNCTION,
    """CREATE TRIGGER articles_search AFTER INSERT OR UPDATE OF title, summary, text,
       published_at, fetched_at, language, duplicate_of ON articles
       FOR EACH ROW EXECUTE FUNCTION framewatch_article_search()""",
    "SET LOCAL maintenance_work_mem = '256MB'",
    "CREATE INDEX ix_article_search_doc ON article_search USING gin (search_doc)",
    "CREATE INDEX ix_article_search_dated ON article_search (dated_at, article_id)",
    "ANALYZE article_search",
]

OLD_FUNCTION = f"""
CREATE FUNCTION framewatch_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_doc := {document("NEW")};
    RETURN NEW;
END
$$"""

DOWNGRADE = [
    "ALTER TABLE articles ADD COLUMN search_doc tsvector",
    """UPDATE articles AS a SET search_doc = s.search_doc
       FROM article_search AS s WHERE s.article_id = a.id""",
    "DROP TRIGGER IF EXISTS articles_search ON articles",
    "DROP FUNCTION IF EXISTS framewatch_article_search()",
    "DROP TABLE IF EXISTS article_search",
    OLD_FUNCTION,
    """CREATE TRIGGER articles_search_doc BEFORE INSERT OR UPDATE OF title, summary, text
       ON articles FOR EACH ROW EXECUTE FUNCTION framewatch_search_doc()""",
    "CREATE INDEX ix_articles_search_doc ON articles USING gin (search_doc)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
