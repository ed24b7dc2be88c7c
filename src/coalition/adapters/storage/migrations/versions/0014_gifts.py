"""Gift types (a catalogue with agreed prices and the partners that hand them over) and gifts (issue 4, point 1).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gift_types",
        sa.Column("id", _ID, autoincrement=True),
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gift_types"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_gift_types_network_id_networks"),
        sa.UniqueConstraint("network_id", "code", name="uq_gift_types_network_id_code"),
        sa.CheckConstraint("price_minor > 0", name="ck_gift_types_price_positive"),
    )
    op.create_table(
        "gift_type_partners",
        sa.Column("gift_type_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gift_type_id", "partner_id", name="pk_gift_type_partners"),
        sa.ForeignKeyConstraint(
            ["gift_type_id"], ["gift_types.id"], name="fk_gift_type_partners_gift_type_id_gift_types"
        ),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_gift_type_partners_partner_id_partners"),
    )
    op.create_table(
        "gifts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("gift_type_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("outlets", sa.Text(), nullable=False),  # comma-separated names; '' = the gift type's partners
        sa.Column("granted_outlet_id", sa.BigInteger(), nullable=False),
        sa.Column("grant_tx_id", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.String(36), nullable=True),
        sa.Column("granted_at", _TS, nullable=False),
        sa.Column("valid_until", _TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("honoured_outlet_id", sa.BigInteger(), nullable=True),
        sa.Column("honour_tx_id", sa.BigInteger(), nullable=True),
        sa.Column("honoured_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gifts"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_gifts_network_id_networks"),
        sa.ForeignKeyConstraint(["gift_type_id"], ["gift_types.id"], name="fk_gifts_gift_type_id_gift_types"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_gifts_member_id_members"),
        sa.CheckConstraint("state IN ('granted', 'honoured')", name="ck_gifts_state"),
        sa.CheckConstraint(
            "(state = 'honoured') = (honour_tx_id IS NOT NULL AND honoured_outlet_id IS NOT NULL)",
            name="ck_gifts_honoured_with_transaction",
        ),
    )
    op.create_index("ix_gifts_member_id", "gifts", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_gifts_member_id", table_name="gifts")
    op.drop_table("gifts")
    op.drop_table("gift_type_partners")
    op.drop_table("gift_types")
