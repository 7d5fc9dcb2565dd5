"""crawl validators: listing pages' and sitemaps' ETag / Last-Modified, per site

A re-crawl sends them back (If-None-Match / If-Modified-Since), so an unchanged listing or
sitemap answers 304 and its links are not read again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "crawl_validators",
        sa.Column("source_id", ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"],
                                name=op.f("fk_crawl_validators_source_id_sources"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("source_id", "url", name=op.f("pk_crawl_validators")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("crawl_validators")
