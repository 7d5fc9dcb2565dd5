"""wire stories: articles that carry one agency report, and what is compared to tell

``wire_stories`` holds each group of articles carrying one underlying report (copies,
trims, rewrites, translations) with its origin (the agency credited, else the earliest
carrier's outlet). ``wire_features`` has a row per article the stage has seen: what it
compares, looked up by event cluster and date, and the wire story it belongs to (NULL:
carried by no other article). The row is beside ``articles``, not a column of it, so
SQLite needs no copy of that table (it would drop its full-text triggers). Articles
stored before this revision have no row: they are never candidates.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "wire_stories",
        sa.Column("id", ID, nullable=False),
        sa.Column("cluster_id", ID, nullable=True),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("first_seen_at", UTC_TIME, nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("outlet_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"],
                                name=op.f("fk_wire_stories_cluster_id_clusters"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wire_stories")),
    )  # fmt: skip
    op.create_index(op.f("ix_wire_stories_cluster_id"), "wire_stories", ["cluster_id"])
    op.create_table(
        "wire_features",
        sa.Column("article_id", ID, nullable=False),
        sa.Column("cluster_id", ID, nullable=True),
        sa.Column("dated_at", UTC_TIME, nullable=False),
        sa.Column("wire_story_id", ID, nullable=True),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("shingles", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_wire_features_article_id_articles"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["wire_story_id"], ["wire_stories.id"],
                                name=op.f("fk_wire_features_wire_story_id_wire_stories"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_wire_features")),
    )  # fmt: skip
    op.create_index("ix_wire_features_cluster_dated", "wire_features", ["cluster_id", "dated_at"])
    op.create_index(op.f("ix_wire_features_wire_story_id"), "wire_features", ["wire_story_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_wire_features_wire_story_id"), table_name="wire_features")
    op.drop_index("ix_wire_features_cluster_dated", table_name="wire_features")
    op.drop_table("wire_features")
    op.drop_index(op.f("ix_wire_stories_cluster_id"), table_name="wire_stories")
    op.drop_table("wire_stories")
