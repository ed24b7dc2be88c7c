"""Device holds (issue 15): `device_holds`, wallet money a device holds until it captures or releases it.

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "device_holds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("device_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("captured_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("product", sa.String(32), nullable=True),
        sa.Column("per_minute_minor", sa.BigInteger(), nullable=True),
        sa.Column("max_minutes", sa.Integer(), nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("hold_tx_id", _ID, nullable=False),
        sa.Column("close_tx_id", _ID, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_device_holds_amount_positive"),
        sa.CheckConstraint(
            "captured_minor >= 0 AND captured_minor <= amount_minor", name="ck_device_holds_captured_within_amount"
        ),
        sa.CheckConstraint("status IN ('held', 'captured', 'voided', 'expired')", name="ck_device_holds_status"),
        sa.CheckConstraint("kind IN ('charge', 'session')", name="ck_device_holds_kind"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_device_holds_network_id_networks"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_device_holds_device_id_devices"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_device_holds_member_id_members"),
        sa.ForeignKeyConstraint(
            ["hold_tx_id"], ["ledger_transactions.id"], name="fk_device_holds_hold_tx_id_ledger_transactions"
        ),
        sa.ForeignKeyConstraint(
            ["close_tx_id"], ["ledger_transactions.id"], name="fk_device_holds_close_tx_id_ledger_transactions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_device_holds"),
    )
    op.create_index("ix_device_holds_status_expires_at", "device_holds", ["status", "expires_at"])
    op.create_index("ix_device_holds_member_id_status", "device_holds", ["member_id", "status"])
    op.create_index("ix_device_holds_device_id", "device_holds", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_device_holds_device_id", table_name="device_holds")
    op.drop_index("ix_device_holds_member_id_status", table_name="device_holds")
    op.drop_index("ix_device_holds_status_expires_at", table_name="device_holds")
    op.drop_table("device_holds")
