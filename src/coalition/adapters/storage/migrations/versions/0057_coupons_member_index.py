"""A member's coupons found through an index (issue 17, point 5: GET /v1/admin/coupons?member_id=…):
`ix_coupons_member_id_id` on (member_id, id), so that a member's page is read in id order without walking the
network's coupons, and the period close's `has_coupon_from` (a member's coupon of a campaign) no longer scans them.

Revision ID: 0057
Revises: 0055 (0056 is the catalogue's, on its own branch: when both are merged, this revises 0056)
"""

from __future__ import annotations

from alembic import op

revision = "0057"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_coupons_member_id_id", "coupons", ["member_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_coupons_member_id_id", table_name="coupons")
