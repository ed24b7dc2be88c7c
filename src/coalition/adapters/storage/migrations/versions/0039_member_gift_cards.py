"""The gift cards a member added to their page (/me): `member_gift_cards`, one link per member and card.

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "member_gift_cards",
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("gift_card_id", _ID, nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_member_gift_cards_member_id_members"),
        sa.ForeignKeyConstraint(
            ["gift_card_id"], ["gift_cards.id"], name="fk_member_gift_cards_gift_card_id_gift_cards"
        ),
        sa.PrimaryKeyConstraint("member_id", "gift_card_id", name="pk_member_gift_cards"),
    )
    op.create_index("ix_member_gift_cards_gift_card_id", "member_gift_cards", ["gift_card_id"])


def downgrade() -> None:
    op.drop_index("ix_member_gift_cards_gift_card_id", table_name="member_gift_cards")
    op.drop_table("member_gift_cards")
