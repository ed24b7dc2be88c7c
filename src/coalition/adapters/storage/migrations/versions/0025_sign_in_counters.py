"""Sign-in attempts counted per scope in one row each (an upsert that returns the count), and the addresses where
each account signed in lately; they replace the failed sign-ins table.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sign_in_counters",
        sa.Column("scope_hash", sa.String(64), primary_key=True),
        sa.Column("window_started_at", _TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_table(
        "sign_in_addresses",
        sa.Column("account_address_hash", sa.String(64), primary_key=True),
        sa.Column("signed_in_at", _TS, nullable=False),
    )
    # failures counted the old way lapse within 15 minutes anyway: nothing to carry over
    op.drop_index("ix_login_failures_scope_failed_at", table_name="login_failures")
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("failed_at", _TS, nullable=False),
    )
    op.create_index("ix_login_failures_scope_failed_at", "login_failures", ["scope", "failed_at"])
    op.drop_table("sign_in_addresses")
    op.drop_table("sign_in_counters")
