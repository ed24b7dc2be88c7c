"""Customer messages through the outbox (issue 16, point 3): `message_settings` (a network's kinds × channels turned
on, quiet hours, cap, balance threshold; every kind off without a row) and `member_message_state` (a member's
balance-threshold state: armed = the next upward crossing fires).

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "message_settings",
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("enabled", sa.Text(), nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("cap_per_day", sa.Integer(), nullable=False),
        sa.Column("balance_threshold", sa.Integer(), nullable=True),
        sa.Column("expiring_days_before", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("cap_per_day BETWEEN 1 AND 100", name="ck_message_settings_cap_per_day"),
        sa.CheckConstraint(
            "balance_threshold IS NULL OR balance_threshold > 0", name="ck_message_settings_balance_threshold"
        ),
        sa.CheckConstraint("expiring_days_before BETWEEN 1 AND 90", name="ck_message_settings_expiring_days_before"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_message_settings_network_id_networks"),
        sa.PrimaryKeyConstraint("network_id", name="pk_message_settings"),
    )
    op.create_table(
        "member_message_state",
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("threshold_armed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_member_message_state_member_id_members"),
        sa.PrimaryKeyConstraint("member_id", name="pk_member_message_state"),
    )


def downgrade() -> None:
    op.drop_table("member_message_state")
    op.drop_table("message_settings")
