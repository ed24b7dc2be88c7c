"""The outbox and webhook subscriptions (issue 16).

`outbox_messages` is written in the transaction of the event it tells about, one row per event and target (UNIQUE:
the same event is never queued twice for one target); workers claim due rows with a lease (`lease_until`,
`leased_by`), so a killed worker's claim ends by itself. `outbox_attempts` keeps every try with its outcome.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("description", String(200), nullable=True),
    Column("contact_email", String(254), nullable=True),  # told when the subscription is paused for its failures
    Column("event_kinds", String(500), nullable=False),  # space-separated, from domain.webhooks.EVENT_KINDS
    Column("secret", String(80), nullable=False),
    Column("previous_secret", String(80), nullable=True),  # signs beside the new one until previous_secret_until
    Column("previous_secret_until", Timestamp, nullable=True),
    Column("status", String(16), nullable=False),
    Column("paused_reason", String(200), nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),  # failed messages in a row
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("status IN ('active', 'paused')", name="status"),
    Index("ix_webhook_subscriptions_network_id", "network_id"),
)

outbox_messages = Table(
    "outbox_messages",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("event_kind", String(64), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("target", String(64), nullable=False),  # a webhook's subscription id
    Column("payload", Text, nullable=False),  # JSON, at most domain.outbox.MAX_PAYLOAD_BYTES
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("lease_until", Timestamp, nullable=True),
    Column("leased_by", String(64), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    Column("last_error", String(500), nullable=True),
    CheckConstraint("status IN ('pending', 'delivered', 'failed', 'skipped')", name="status"),
    UniqueConstraint("channel", "target", "event_id"),
    Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_outbox_messages_target_id", "target", "id"),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    id_column(),
    Column("message_id", Id, ForeignKey("outbox_messages.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Index("ix_outbox_attempts_message_id", "message_id"),
)
