"""Members carry segments and a tier, cards a card type: what rules read of a member at the till (issue 3).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN with a constant default: SQLite needs no table rebuild, PostgreSQL no rewrite
    op.add_column("members", sa.Column("tier", sa.String(32), nullable=False, server_default=""))
    op.add_column("members", sa.Column("segments", sa.String(700), nullable=False, server_default=""))
    op.add_column("cards", sa.Column("card_type", sa.String(32), nullable=False, server_default="standard"))


def downgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.drop_column("card_type")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("segments")
        batch.drop_column("tier")
