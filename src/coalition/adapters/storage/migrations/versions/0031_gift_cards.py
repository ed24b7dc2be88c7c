"""Gift cards (issue 14): `gift_cards` (one row per card with its running balance beside its ledger account, the
PIN's hash and its wrong attempts) and `gift_card_settings` (the network's gift-card breakage policy; no row: kept).

down_revision is 0029 on the gift-card branch; the lead re-points it to 0030 (wallets) when both merge.

Revision ID: 0031
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gift_card_settings",
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("breakage", sa.String(16), server_default="kept", nullable=False),
        sa.Column("breakage_share_bp", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_gift_card_settings_network_id_networks"),
        sa.PrimaryKeyConstraint("network_id", name="pk_gift_card_settings"),
    )
    op.create_table(
        "gift_cards",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("pin_hash", sa.String(200), nullable=True),
        sa.Column("account_id", _ID, nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("initial_minor", sa.BigInteger(), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_from", _TS, nullable=False),
        sa.Column("valid_until", _TS, nullable=False),
        sa.Column("seller_partner_id", _ID, nullable=True),
        sa.Column("seller_outlet_id", _ID, nullable=True),
        sa.Column("sale_tx_id", _ID, nullable=True),
        sa.Column("expiry_tx_id", _ID, nullable=True),
        sa.Column("failed_pin_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pin_locked_until", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("status IN ('active', 'blocked', 'expired', 'spent')", name="ck_gift_cards_status"),
        sa.CheckConstraint("balance_minor >= 0", name="ck_gift_cards_balance_not_negative"),
        sa.CheckConstraint("failed_pin_attempts >= 0", name="ck_gift_cards_failed_pin_attempts"),
        sa.CheckConstraint("initial_minor > 0", name="ck_gift_cards_initial_positive"),
        sa.CheckConstraint("valid_until > valid_from", name="ck_gift_cards_validity"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_gift_cards_account_id_accounts"),
        sa.ForeignKeyConstraint(
            ["expiry_tx_id"], ["ledger_transactions.id"], name="fk_gift_cards_expiry_tx_id_ledger_transactions"
        ),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_gift_cards_network_id_networks"),
        sa.ForeignKeyConstraint(
            ["sale_tx_id"], ["ledger_transactions.id"], name="fk_gift_cards_sale_tx_id_ledger_transactions"
        ),
        sa.ForeignKeyConstraint(["seller_outlet_id"], ["outlets.id"], name="fk_gift_cards_seller_outlet_id_outlets"),
        sa.ForeignKeyConstraint(
            ["seller_partner_id"], ["partners.id"], name="fk_gift_cards_seller_partner_id_partners"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gift_cards"),
        sa.UniqueConstraint("account_id", name="uq_gift_cards_account_id"),
        sa.UniqueConstraint("network_id", "number", name="uq_gift_cards_network_id_number"),
    )


def downgrade() -> None:
    op.drop_table("gift_cards")
    op.drop_table("gift_card_settings")
