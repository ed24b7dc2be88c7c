"""A device's offline sales (issue 15): `device_price_lists` (each price list from when it took effect, backfilled
with every device's current list from its creation) and `device_offline_uses` (each uploaded use once, by its key).

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "device_price_lists",
        sa.Column("device_id", _ID, nullable=False),
        sa.Column("effective_from", _TS, nullable=False),
        sa.Column("price_list", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_device_price_lists_device_id_devices"),
        sa.PrimaryKeyConstraint("device_id", "effective_from", name="pk_device_price_lists"),
    )
    # the list each device has now has been in force since the device exists (no change was recorded before)
    op.execute(
        "INSERT INTO device_price_lists (device_id, effective_from, price_list) "
        "SELECT id, created_at, price_list FROM devices"
    )
    op.create_table(
        "device_offline_uses",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("device_id", _ID, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("unpaid_minor", sa.BigInteger(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("charge_tx_id", _ID, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("status IN ('charged', 'short')", name="ck_device_offline_uses_status"),
        sa.CheckConstraint("amount_minor > 0", name="ck_device_offline_uses_amount_positive"),
        sa.CheckConstraint(
            "unpaid_minor >= 0 AND unpaid_minor <= amount_minor", name="ck_device_offline_uses_unpaid_within_amount"
        ),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_device_offline_uses_device_id_devices"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_device_offline_uses_member_id_members"),
        sa.ForeignKeyConstraint(
            ["charge_tx_id"],
            ["ledger_transactions.id"],
            name="fk_device_offline_uses_charge_tx_id_ledger_transactions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_device_offline_uses"),
        sa.UniqueConstraint("device_id", "key", name="uq_device_offline_uses_device_id_key"),
    )
    op.create_index("ix_device_offline_uses_member_id", "device_offline_uses", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_device_offline_uses_member_id", table_name="device_offline_uses")
    op.drop_table("device_offline_uses")
    op.drop_table("device_price_lists")
