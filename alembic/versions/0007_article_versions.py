"""article versions and feed entry digests (edits as signal), own-voice phrases
(emerging-phrase flags)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 11:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "article_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("lede", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("frames", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_article_versions_article_id_articles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_versions")),
    )
    with op.batch_alter_table("article_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_versions_article_id"), ["article_id"],
                              unique=False)
    op.create_table(
        "article_phrases",
        sa.Column("article_id", ID, nullable=False),
        sa.Column("story", sa.String(length=100), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_article_phrases_article_id_articles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "story", "phrase", name=op.f("pk_article_phrases")),
    )
    with op.batch_alter_table("article_phrases", schema=None) as batch_op:
        batch_op.create_index("ix_article_phrases_story_phrase", ["story", "phrase"], unique=False)
    op.create_table(
        "phrase_sets",
        sa.Column("article_id", ID, nullable=False),
        sa.Column("story", sa.String(length=100), nullable=False),
        sa.Column("phrases", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_phrase_sets_article_id_articles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "story", name=op.f("pk_phrase_sets")),
    )


    op.create_table(
        "entry_digests",
        sa.Column("source_id", ID, nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_entry_digests_article_id_articles"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"],
                                name=op.f("fk_entry_digests_source_id_sources"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("source_id", "article_id", name=op.f("pk_entry_digests")),
    )
    with op.batch_alter_table("entry_digests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_digests_article_id"), ["article_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entry_digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_digests_article_id"))
    op.drop_table("entry_digests")
    op.drop_table("phrase_sets")
    with op.batch_alter_table("article_phrases", schema=None) as batch_op:
        batch_op.drop_index("ix_article_phrases_story_phrase")
    op.drop_table("article_phrases")
    with op.batch_alter_table("article_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_versions_article_id"))
    op.drop_table("article_versions")
