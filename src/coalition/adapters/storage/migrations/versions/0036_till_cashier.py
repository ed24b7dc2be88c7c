"""The cashier who took the money for a top-up or a gift card's sale (issue 14): `ledger_transactions.cashier_login`,
so the owner's report counts that money in the cashier's cash in hand (a purchase's cashier is on the purchase).

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ALTER on both engines: a batch copy on SQLite would drop the table's append-only triggers
    op.add_column("ledger_transactions", sa.Column("cashier_login", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("ledger_transactions", "cashier_login")
