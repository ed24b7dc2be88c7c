"""Campaigns (issue 16, point 3): `campaigns`, the administrator's messages to a segment of members, with the cursor
that makes a killed send resume where it stopped; a partial index of the campaign rows of the outbox by event id (a
campaign's counts); one of the members by network and id (a segment's query and its pages).

Revision ID: 0047
Revises: 0046
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("channels", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scheduled_at", _TS, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("send_started_at", _TS, nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("cursor_member_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("audience", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')", name="ck_campaigns_status"
        ),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_campaigns_network_id_networks"),
    )
    op.create_index("ix_campaigns_network_id_id", "campaigns", ["network_id", "id"])
    op.create_index("ix_campaigns_status_scheduled_at", "campaigns", ["status", "scheduled_at"])
    op.create_index("ix_members_network_id_id", "members", ["network_id", "id"])
    op.create_index(
        "ix_outbox_messages_campaign_event_id",
        "outbox_messages",
        ["event_id"],
        postgresql_ops={"event_id": "varchar_pattern_ops"},
        postgresql_where=sa.text("event_kind = 'campaign'"),
        sqlite_where=sa.text("event_kind = 'campaign'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_campaign_event_id", table_name="outbox_messages")
    op.drop_index("ix_members_network_id_id", table_name="members")
    op.drop_index("ix_campaigns_status_scheduled_at", table_name="campaigns")
    op.drop_index("ix_campaigns_network_id_id", table_name="campaigns")
    op.drop_table("campaigns")
