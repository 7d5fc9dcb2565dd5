"""compact phrases: an article's phrases in one row; flag states

Own-voice phrases (emerging-phrase flags) were stored one row per (article, story,
phrase), about 80 per article, each in three B-trees on SQLite (rowid table, primary key,
(story, phrase) index) and a heap and two indexes on PostgreSQL: most of the database.
Now they are one value on the article's ``phrase_sets`` row (sorted, one per line), and
``article_phrases`` is gone. The rows already stored are folded into it; the downgrade
splits them out again. SQLite keeps the freed pages until ``VACUUM``.

``flag_states`` records what each story's flags were last computed from (a digest per
timeline day, the days phrases fired), so a refresh recomputes only from the earliest
day that changed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Sorted by code point (PostgreSQL's default collation would sort otherwise), as
# storage.frames.replace_phrases writes them.
FOLD_POSTGRES = """
UPDATE phrase_sets AS s SET text = folded.text
FROM (SELECT article_id, story, string_agg(phrase, E'\\n' ORDER BY phrase COLLATE "C") AS text
      FROM article_phrases GROUP BY article_id, story) AS folded
WHERE s.article_id = folded.article_id AND s.story = folded.story
"""
# The primary key (article_id, story, phrase) hands the phrases over in binary order.
FOLD_SQLITE = """
UPDATE phrase_sets SET text = coalesce((
    SELECT group_concat(phrase, char(10)) FROM (
        SELECT phrase FROM article_phrases AS p
        WHERE p.article_id = phrase_sets.article_id AND p.story = phrase_sets.story
        ORDER BY p.phrase)), '')
"""
SPLIT_POSTGRES = """
INSERT INTO article_phrases (article_id, story, phrase)
SELECT article_id, story, unnest(string_to_array(text, E'\\n')) FROM phrase_sets
WHERE text <> ''
"""
SPLIT_SQLITE = """
WITH RECURSIVE split(article_id, story, phrase, rest) AS (
    SELECT article_id, story, '', text || char(10) FROM phrase_sets WHERE text <> ''
    UNION ALL
    SELECT article_id, story, substr(rest, 1, instr(rest, char(10)) - 1),
           substr(rest, instr(rest, char(10)) + 1)
    FROM split WHERE rest <> ''
)
INSERT INTO article_phrases (article_id, story, phrase)
SELECT article_id, story, phrase FROM split WHERE phrase <> ''
"""


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.add_column("phrase_sets", sa.Column("text", sa.Text(), server_default="", nullable=False))
    op.execute(FOLD_POSTGRES if _postgres() else FOLD_SQLITE)
    with op.batch_alter_table("article_phrases", schema=None) as batch_op:
        batch_op.drop_index("ix_article_phrases_story_phrase")
    op.drop_table("article_phrases")
    op.create_table(
        "flag_states",
        sa.Column("story", sa.String(length=100), nullable=False),
        sa.Column("inputs", sa.String(length=64), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("fires", sa.JSON(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("story", name=op.f("pk_flag_states")),
    )


def downgrade() -> None:
    op.drop_table("flag_states")
    op.create_table(
        "article_phrases",
        sa.Column("article_id", ID, nullable=False),
        sa.Column("story", sa.String(length=100), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_article_phrases_article_id_articles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "story", "phrase", name=op.f("pk_article_phrases")),
    )  # fmt: skip
    op.execute(SPLIT_POSTGRES if _postgres() else SPLIT_SQLITE)
    with op.batch_alter_table("article_phrases", schema=None) as batch_op:
        batch_op.create_index("ix_article_phrases_story_phrase", ["story", "phrase"], unique=False)
    with op.batch_alter_table("phrase_sets", schema=None) as batch_op:
        batch_op.drop_column("text")
