"""On PostgreSQL, purchases by time through a BRIN index instead of 0008's B-tree.

The B-tree on (network, occurred_at, id) cost every purchase an index insert at its right edge (the batch path fell
from ~9,700 to ~9,200 purchases/s). Purchases arrive roughly in time order, so a BRIN index on `occurred_at` — a
few pages summarising block ranges — finds a period's rows for simulation and settlement at almost no cost to a
purchase. Simulation reads windows of time rather than keyset pages, which is what a BRIN index serves, and first
summarises the block ranges filled since autovacuum last did (unsummarised ranges are read whole). SQLite keeps the
B-tree (it has no BRIN; its networks are small).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_purchases_network_occurred", table_name="purchases")
    # autosummarize: a block range is summarised (by autovacuum) as soon as it fills, not at the next VACUUM
    op.execute(
        "CREATE INDEX ix_purchases_occurred_brin ON purchases USING brin (occurred_at) WITH (autosummarize = on)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_purchases_occurred_brin")
    op.create_index("ix_purchases_network_occurred", "purchases", ["network_id", "occurred_at", "id"])
