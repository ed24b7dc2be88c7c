"""Plans of the hosted service (issue 18, point 6; domain/plans.py, docs/plans.md): each network's plan, the end of
its trial and when the operator suspended it. Networks that exist are on `custom` (no limit), as the operator's are.

Revision ID: 0054
Revises: 0053
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.add_column(sa.Column("plan", sa.String(16), nullable=False, server_default="custom"))
        batch.add_column(sa.Column("trial_ends_at", _TS, nullable=True))
        batch.add_column(sa.Column("suspended_at", _TS, nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of `networks` would break its foreign keys
    op.drop_column("networks", "suspended_at")
    op.drop_column("networks", "trial_ends_at")
    op.drop_column("networks", "plan")
