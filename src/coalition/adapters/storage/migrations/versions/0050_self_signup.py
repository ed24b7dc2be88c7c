"""Customers sign themselves up (issue 18, point 2): `networks.self_signup_enabled`, off until the administrator
turns on the counter's QR code (the join page /join/<network code> answers 404 while it is off).

Revision ID: 0050
Revises: 0049
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("networks", sa.Column("self_signup_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of `networks` would break its foreign keys
    op.drop_column("networks", "self_signup_enabled")
