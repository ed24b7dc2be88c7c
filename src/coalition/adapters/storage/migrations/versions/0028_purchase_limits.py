"""Limits on one purchase, per network (issue 12, hole 6): the largest amount (a check, a line, a unit price), the
largest quantity of a line, the most lines and the most points a purchase may redeem or earn. Existing networks
take the defaults (domain.limits.DEFAULT_LIMITS).

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("max_amount_minor", sa.BigInteger(), str(10**10)),
    ("max_quantity_milli", sa.BigInteger(), str(10**8)),
    ("max_lines_per_purchase", sa.Integer(), "500"),
    ("max_points_per_purchase", sa.BigInteger(), str(10**9)),
)


def upgrade() -> None:
    for name, kind, default in _COLUMNS:
        op.add_column("networks", sa.Column(name, kind, nullable=False, server_default=default))


def downgrade() -> None:
    for name, _, _ in reversed(_COLUMNS):
        op.drop_column("networks", name)
