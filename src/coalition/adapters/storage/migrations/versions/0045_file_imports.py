"""File imports (issue 17): `file_imports`, one row per file taken into a network by the SHA-256 of its bytes,
with the result it answered (the same file a second time changes nothing and answers the same); and an index of
cards by member, which the members export reads once per member (a member's page too).

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "file_imports",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_file_imports_network_id_networks"),
        sa.PrimaryKeyConstraint("id", name="pk_file_imports"),
        sa.UniqueConstraint("network_id", "kind", "digest", name="uq_file_imports_network_id_kind_digest"),
    )
    op.create_index("ix_cards_member_id", "cards", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_cards_member_id", table_name="cards")
    op.drop_table("file_imports")
