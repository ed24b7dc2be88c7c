"""Purchases found by the time the server recorded them: the owner's daily report and the console reports count a
sale on the day it was recorded, whatever `occurred_at` the till sent (issue 12, hole 5).

On PostgreSQL a BRIN index, like 0009's on `occurred_at`: `recorded_at` is the server's clock at insertion, so it
follows the table's physical order even more closely, and a BRIN costs a purchase almost nothing. SQLite has no
BRIN; it gets a B-tree on (network, recorded_at), like the one it keeps on occurred_at.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_purchases_recorded_brin ON purchases USING brin (recorded_at) WITH (autosummarize = on)"
        )
    else:
        op.create_index("ix_purchases_network_recorded", "purchases", ["network_id", "recorded_at"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_purchases_recorded_brin")
    else:
        op.drop_index("ix_purchases_network_recorded", table_name="purchases")
