"""Coupons with a validity period and a number of uses, and the record of each use (issue 3, point 3).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("issued_by_purchase_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_coupons"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_coupons_network_id_networks"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_coupons_member_id_members"),
        sa.UniqueConstraint("network_id", "code", name="uq_coupons_network_id_code"),
        sa.CheckConstraint("max_uses >= 1", name="ck_coupons_max_uses_positive"),
        sa.CheckConstraint("uses >= 0 AND uses <= max_uses", name="ck_coupons_uses_within_max"),
        sa.CheckConstraint("valid_until > valid_from", name="ck_coupons_period"),
    )
    op.create_index("ix_coupons_network_id_campaign", "coupons", ["network_id", "campaign"])
    op.create_table(
        "coupon_uses",
        sa.Column("coupon_id", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.String(36), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("coupon_id", "purchase_id", name="pk_coupon_uses"),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"], name="fk_coupon_uses_coupon_id_coupons"),
    )


def downgrade() -> None:
    op.drop_table("coupon_uses")
    op.drop_index("ix_coupons_network_id_campaign", table_name="coupons")
    op.drop_table("coupons")
