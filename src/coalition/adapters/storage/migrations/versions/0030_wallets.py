"""Prepaid wallets (issue 14): one row per member and currency, its ledger account (purpose member_wallet), the
running balance the purchase's one statement guards (a CHECK keeps it at or above −credit limit, however many
payments race), the credit limit, an optional daily spending limit and whether it is open.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credit_limit_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("daily_spend_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("credit_limit_minor >= 0", name=op.f("ck_wallets_credit_limit_non_negative")),
        sa.CheckConstraint("balance_minor + credit_limit_minor >= 0", name=op.f("ck_wallets_within_credit_limit")),
        sa.CheckConstraint(
            "daily_spend_limit_minor IS NULL OR daily_spend_limit_minor > 0",
            name=op.f("ck_wallets_daily_limit_positive"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_wallets_status")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_wallets_account_id_accounts")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_wallets_member_id_members")),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name=op.f("fk_wallets_network_id_networks")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_wallets")),
        sa.UniqueConstraint("member_id", "currency", name=op.f("uq_wallets_member_id_currency")),
    )


def downgrade() -> None:
    op.drop_table("wallets")
