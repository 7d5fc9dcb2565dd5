"""frame voice detail: each stored frame's cue strength and speaker

``article_frames.strength`` is "strong" (a strong cue, or two cue occurrences of the frame
in the article) or "weak" (one weak cue only): first_seen and source_shift flags need a
strong use. ``article_frames.speaker`` names whose words (quoted) or framing (distanced)
the frame is in, as the article names them ("" for the outlet's own voice or an unnamed
source). Rows stored before are "strong" with no speaker until ``framewatch frames
rescore`` (or the next refresh, which rescores outdated articles) reads them again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("article_frames") as batch:
        batch.add_column(
            sa.Column("strength", sa.String(length=8), nullable=False, server_default="strong")
        )
        batch.add_column(
            sa.Column("speaker", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("article_frames") as batch:
        batch.drop_column("speaker")
        batch.drop_column("strength")
