"""Customer messages (issue 16; docs/messages.md): a network's own templates (the built-in ones are in code), the
members' opt-outs of one kind on one channel, and the server's secrets (the unsubscribe links' key when no setting
gives one)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text

from coalition.adapters.storage.schema.base import Id, Timestamp, metadata

KINDS_SQL = "('thank_you', 'welcome', 'points_expiring', 'gift_granted', 'balance_threshold', 'birthday', 'campaign')"

message_templates = Table(
    "message_templates",
    metadata,
    Column("network_id", Id, ForeignKey("networks.id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint(f"kind IN {KINDS_SQL}", name="kind"),
    CheckConstraint("channel IN ('email', 'sms')", name="channel"),
)

message_opt_outs = Table(
    "message_opt_outs",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint(f"kind IN {KINDS_SQL}", name="kind"),
    CheckConstraint("channel IN ('email', 'sms')", name="channel"),
    Index("ix_message_opt_outs_network_id", "network_id"),
)

server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)
