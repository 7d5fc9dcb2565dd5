"""store outages: the times the service found the store unusable, for status and digests

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "store_outages",
        sa.Column("id", ID, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_outages")),
        sa.UniqueConstraint("started_at", name=op.f("uq_store_outages_started_at")),
    )
    with op.batch_alter_table("store_outages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_outages_ended_at"), ["ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("store_outages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_outages_ended_at"))
    op.drop_table("store_outages")
