"""Gifts that expire unused: their state, and per network whether the granting partner's obligation is released.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("networks", sa.Column("gift_breakage", sa.String(16), nullable=False, server_default="kept"))
    with op.batch_alter_table("gifts") as batch:
        batch.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("release_tx_id", sa.BigInteger(), nullable=True))
        batch.drop_constraint("ck_gifts_state", type_="check")
        batch.create_check_constraint("ck_gifts_state", "state IN ('granted', 'honoured', 'expired')")


def downgrade() -> None:
    with op.batch_alter_table("gifts") as batch:
        batch.drop_constraint("ck_gifts_state", type_="check")
        batch.create_check_constraint("ck_gifts_state", "state IN ('granted', 'honoured')")
        batch.drop_column("release_tx_id")
        batch.drop_column("expired_at")
    with op.batch_alter_table("networks") as batch:
        batch.drop_column("gift_breakage")
