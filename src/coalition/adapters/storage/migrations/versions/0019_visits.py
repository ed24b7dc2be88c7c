"""Visits: a member's stay in a closed venue, from the entry turnstile to the exit, and what its end reset.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_outlet_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("exit_outlet_id", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("points_reset", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("gifts_reset", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reset_tx_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_visits_network_id_networks"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_visits_member_id_members"),
        sa.ForeignKeyConstraint(["entry_outlet_id"], ["outlets.id"], name="fk_visits_entry_outlet_id_outlets"),
        sa.ForeignKeyConstraint(["exit_outlet_id"], ["outlets.id"], name="fk_visits_exit_outlet_id_outlets"),
        sa.CheckConstraint("(ended_at IS NULL) = (exit_outlet_id IS NULL)", name="ck_visits_ended_at_exit"),
        sa.CheckConstraint("points_reset >= 0 AND gifts_reset >= 0", name="ck_visits_resets_not_negative"),
    )
    op.create_index("ix_visits_member_id", "visits", ["member_id"])
    # one open visit per member: a second entry without an exit is refused by the database too
    op.create_index(
        "uq_visits_open_member",
        "visits",
        ["member_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_visits_open_member", table_name="visits")
    op.drop_index("ix_visits_member_id", table_name="visits")
    op.drop_table("visits")
