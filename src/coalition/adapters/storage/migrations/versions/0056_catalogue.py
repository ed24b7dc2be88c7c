"""The partners' catalogues (issue 17, point 1): `product_categories` (code, name, parent code) and `products` (SKU,
name, category code, list price in minor units), each unique per network, partner and code or SKU; imported from
files (docs/files.md) and read by purchases whose lines name only a SKU.

Revision ID: 0056
Revises: 0055
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "product_categories",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("partner_id", _ID, nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_product_categories_network_id_networks"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_product_categories_partner_id_partners"),
        sa.UniqueConstraint(
            "network_id", "partner_id", "code", name="uq_product_categories_network_id_partner_id_code"
        ),
    )
    op.create_table(
        "products",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("partner_id", _ID, nullable=False),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category_code", sa.Text(), nullable=True),
        sa.Column("price_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("price_minor >= 0", name="ck_products_price_not_negative"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_products_network_id_networks"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_products_partner_id_partners"),
        sa.UniqueConstraint("network_id", "partner_id", "sku", name="uq_products_network_id_partner_id_sku"),
    )


def downgrade() -> None:
    op.drop_table("products")
    op.drop_table("product_categories")
