"""A member's opening spend (issue 17, the members file's `lifetime_spend`): the lifetime spend a member brought
from another system or network through the members file. `members.lifetime_spend_minor` stays the running lifetime
spend the tiers read; it is seeded from the opening spend on import, so that lifetime = opening + checks − refunds
(`coalition verify`'s `lifetime-spend-equals-history`). Members that exist open with 0.

Revision ID: 0058
Revises: 0057
"""

from __future__ import annotations

from alembic import op

revision = "0058"
down_revision = "0057"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a column constraint in ADD COLUMN: the same statement on PostgreSQL and SQLite (no batch copy of `members`,
    # which other tables reference)
    op.execute(
        "ALTER TABLE members ADD COLUMN opening_spend_minor BIGINT NOT NULL DEFAULT 0 "
        "CONSTRAINT ck_members_opening_spend_non_negative CHECK (opening_spend_minor >= 0)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE members DROP COLUMN opening_spend_minor")
