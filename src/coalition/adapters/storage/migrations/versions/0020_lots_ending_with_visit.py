"""Accruals keep their own expiry: a lot may end with the visit it was granted in (issue 3, point 5).

- `lots.ends_with_visit_id`: the open visit whose end sweeps the lot's points to breakage — an `end_of_visit`
  accrual granted while the member was in a visit. NULL for every other lot (and for all lots before this
  revision). No reference is declared: the lot's `expires_at` (the end of the outlet's local day) still bounds it,
  and visits are kept for good.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lots", sa.Column("ends_with_visit_id", sa.String(36), nullable=True))


def downgrade() -> None:
    op.drop_column("lots", "ends_with_visit_id")  # SQLite drops a plain column in place too
