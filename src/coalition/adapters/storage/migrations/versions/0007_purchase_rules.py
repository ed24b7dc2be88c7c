"""Each purchase records the rule-set version that priced it and the rules that applied (issue 3, point 6).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("rule_set_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("applied_rules", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("applied_rules")
        batch.drop_column("rule_set_version")
