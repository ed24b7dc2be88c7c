"""Customer messages (issue 16; docs/messages.md): a network's own templates (the built-in ones are in code), the
members' opt-outs of one kind on one channel, and the server's secrets (the unsubscribe links' key when no setting
gives one)."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

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

# A network's customer messages (migration 0044): which kind goes on which channel (JSON: {"thank_you": ["email"]},
# every kind off when absent), quiet hours ("HH:MM", both NULL = none), the cap per member and channel per 24 h, the
# balance threshold (NULL = none) and how many days before points expire they are announced.
message_settings = Table(
    "message_settings",
    metadata,
    Column("network_id", Id, ForeignKey("networks.id"), primary_key=True),
    Column("enabled", Text, nullable=False),
    Column("quiet_start", String(5), nullable=True),
    Column("quiet_end", String(5), nullable=True),
    Column("cap_per_day", Integer, nullable=False),
    Column("balance_threshold", Integer, nullable=True),
    Column("expiring_days_before", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("cap_per_day BETWEEN 1 AND 100", name="cap_per_day"),
    CheckConstraint("balance_threshold IS NULL OR balance_threshold > 0", name="balance_threshold"),
    CheckConstraint("expiring_days_before BETWEEN 1 AND 90", name="expiring_days_before"),
)

# A member's balance-threshold state (domain.messages.threshold_crossing): armed = the next upward crossing fires.
member_message_state = Table(
    "member_message_state",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("threshold_armed", Boolean, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)
