"""sightings: indexes for "has this source carried this URL / guid?"

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 11:15:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.create_index("ix_sightings_source_url", ["source_id", "url"], unique=False)
        batch_op.create_index("ix_sightings_source_guid", ["source_id", "guid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.drop_index("ix_sightings_source_guid")
        batch_op.drop_index("ix_sightings_source_url")
