"""An index on a network's purchases by time: simulation pages through a period with it, settlement will too.

Without it every page of a simulation sorted the network's whole purchase history (measured: 122 s for 1,000,000
purchases, most of it in those sorts).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_purchases_network_occurred", "purchases", ["network_id", "occurred_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_purchases_network_occurred", table_name="purchases")
