"""The network's least first purchase for a card issued at a till (issue 18, point 1: "a card only for a first
purchase of at least 400"), set in the program editor: `networks.card_min_first_purchase_minor`, 0 = no minimum.

Revision ID: 0053
Revises: 0051
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0053"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "networks", sa.Column("card_min_first_purchase_minor", sa.BigInteger(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of `networks` would break its foreign keys
    op.drop_column("networks", "card_min_first_purchase_minor")
