"""The partners' catalogues (issue 17, docs/files.md "Products and categories"): each partner's product categories
(a tree by `parent_code`) and products (SKU, name, category, list price), imported from files and read by a
purchase whose lines name a SKU without its category or unit price."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

product_categories = Table(
    "product_categories",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("parent_code", Text, nullable=True),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "partner_id", "code"),
)

products = Table(
    "products",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("sku", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("category_code", Text, nullable=True),
    Column("price_minor", BigInteger, nullable=True),  # the list price in the network's currency; NULL: none
    Column("currency", String(3), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "partner_id", "sku"),
    CheckConstraint("price_minor >= 0", name="price_not_negative"),
)
