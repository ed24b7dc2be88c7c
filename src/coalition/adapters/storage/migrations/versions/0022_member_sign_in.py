"""The member's page: a PIN a member sets, and one-time codes e-mailed to sign in (kept only as hashes).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_pins",
        sa.Column("member_id", sa.BigInteger(), primary_key=True),
        sa.Column("pin_hash", sa.String(200), nullable=False),
        sa.Column("set_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_member_pins_member_id_members"),
    )
    op.create_table(
        "member_sign_in_codes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("code_hash", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_member_sign_in_codes_member_id_members"),
    )
    op.create_index("ix_member_sign_in_codes_member_created", "member_sign_in_codes", ["member_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_member_sign_in_codes_member_created", table_name="member_sign_in_codes")
    op.drop_table("member_sign_in_codes")
    op.drop_table("member_pins")
