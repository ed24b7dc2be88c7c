"""Refunds found by the time the server recorded them: the owner's daily report reads a day's refunds (its list, and
its anomaly flags, issue 16) by `refunds.recorded_at`, which had no index, so the query walked every purchase of the
network across all time to find the day's refunds.

As 0026 did for purchases: on PostgreSQL a BRIN index (`recorded_at` is the server's clock at insertion, so it
follows the table's physical order, and a BRIN costs a refund almost nothing); SQLite has no BRIN and gets a B-tree.

Follows 0041 (job schedules).

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_refunds_recorded_brin ON refunds USING brin (recorded_at) WITH (autosummarize = on)"
        )
    else:
        op.create_index("ix_refunds_recorded", "refunds", ["recorded_at"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_refunds_recorded_brin")
    else:
        op.drop_index("ix_refunds_recorded", table_name="refunds")
