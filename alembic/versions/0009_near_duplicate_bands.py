"""near duplicate bands: the LSH band index keyed (band, hash, article_id)

The table was keyed (article_id, band) with a secondary index on (band, hash): on SQLite
each band row went into three B-trees (the rowid table, the primary key and the lookup
index), on PostgreSQL into the heap and two indexes, and every lookup had to go from the
(band, hash) index to the row for its article id. Now the key is (band, hash, article_id):
on SQLite a WITHOUT ROWID table, so the lookup is the table itself and answers from it
alone, and a small index on article_id serves deletes (ON DELETE CASCADE) and takes
insertions at its right edge only (article ids grow). The rows already stored are copied
over; the downgrade puts the old layout back, again with every row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "signature_bands"
ASIDE = "signature_bands_previous"  # the old table while its rows are copied


def _move_aside(index: str) -> None:
    """Rename the table out of the way, freeing the names the new one takes (index and
    primary-key names are unique per schema, not per table)."""
    op.drop_index(index, table_name=TABLE)
    op.rename_table(TABLE, ASIDE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {ASIDE} RENAME CONSTRAINT pk_{TABLE} TO pk_{ASIDE}")


def _create(primary_key: tuple[str, ...], **options: object) -> None:
    op.create_table(
        TABLE,
        sa.Column("article_id", ID, nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f(f"fk_{TABLE}_article_id_articles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*primary_key, name=op.f(f"pk_{TABLE}")),
        **options,
    )  # fmt: skip
    # In key order: each B-tree page is filled once, not split over and over.
    columns, order = "article_id, band, hash", ", ".join(primary_key)
    op.execute(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {ASIDE} ORDER BY {order}")
    op.drop_table(ASIDE)


def upgrade() -> None:
    _move_aside("ix_signature_bands_lookup")
    _create(("band", "hash", "article_id"), sqlite_with_rowid=False)
    op.create_index(op.f("ix_signature_bands_article_id"), TABLE, ["article_id"])


def downgrade() -> None:
    _move_aside("ix_signature_bands_article_id")
    _create(("article_id", "band"))
    op.create_index("ix_signature_bands_lookup", TABLE, ["band", "hash"])
