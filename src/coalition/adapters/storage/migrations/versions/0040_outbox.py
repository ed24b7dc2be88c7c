"""The outbox and webhooks (issue 16): `webhook_subscriptions`, `outbox_messages`, `outbox_attempts`.

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("event_kinds", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(80), nullable=False),
        sa.Column("previous_secret", sa.String(80), nullable=True),
        sa.Column("previous_secret_until", _TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paused_reason", sa.String(200), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_webhook_subscriptions_network_id_networks"),
        sa.CheckConstraint("status IN ('active', 'paused')", name="ck_webhook_subscriptions_status"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )
    op.create_index("ix_webhook_subscriptions_network_id", "webhook_subscriptions", ["network_id"])
    op.create_table(
        "outbox_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("event_kind", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("leased_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_outbox_messages_network_id_networks"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed', 'skipped')", name="ck_outbox_messages_status"),
        sa.UniqueConstraint("channel", "target", "event_id", name="uq_outbox_messages_channel_target_event_id"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
    )
    op.create_index("ix_outbox_messages_status_next_attempt_at", "outbox_messages", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_messages_target_id", "outbox_messages", ["target", "id"])
    op.create_table(
        "outbox_attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["outbox_messages.id"], name="fk_outbox_attempts_message_id_outbox_messages"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_attempts"),
    )
    op.create_index("ix_outbox_attempts_message_id", "outbox_attempts", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_attempts_message_id", table_name="outbox_attempts")
    op.drop_table("outbox_attempts")
    op.drop_index("ix_outbox_messages_target_id", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_status_next_attempt_at", table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_index("ix_webhook_subscriptions_network_id", table_name="webhook_subscriptions")
    op.drop_table("webhook_subscriptions")
