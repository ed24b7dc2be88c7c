"""Devices (issue 15): `devices`, one row per machine that takes the card, beside its outlet and terminal key.

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("outlet_id", _ID, nullable=False),
        sa.Column("terminal_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("price_list", sa.Text(), server_default="{}", nullable=False),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.Column("hold_ttl_seconds", sa.Integer(), server_default="300", nullable=False),
        sa.Column("offline_limit_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("silent_after_seconds", sa.Integer(), server_default="900", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("last_heartbeat_at", _TS, nullable=True),
        sa.Column("last_status", sa.Text(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(
            "kind IN ('vending', 'arcade', 'dispenser', 'timed_table', 'turnstile', 'kiosk')", name="ck_devices_kind"
        ),
        sa.CheckConstraint("hold_ttl_seconds > 0", name="ck_devices_hold_ttl_positive"),
        sa.CheckConstraint("offline_limit_minor >= 0", name="ck_devices_offline_limit_not_negative"),
        sa.CheckConstraint("silent_after_seconds > 0", name="ck_devices_silent_after_positive"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_devices_network_id_networks"),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlets.id"], name="fk_devices_outlet_id_outlets"),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name="fk_devices_terminal_id_terminals"),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("outlet_id", name="uq_devices_outlet_id"),
        sa.UniqueConstraint("terminal_id", name="uq_devices_terminal_id"),
    )


def downgrade() -> None:
    op.drop_table("devices")
