"""Device holds (issue 15): money of a member's wallet a device holds until it captures some of it or lets it go.

One row per hold (a one-shot charge is a hold captured at once; a timed session is a hold of its longest run). The
money itself is in the ledger: the hold's transaction moved it to the node's HELD_MONEY account, its closing one
(capture, void or expiry) moved it on. `coalition verify` checks HELD_MONEY equals the open holds.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table

from coalition.adapters.storage.schema.base import Id, Timestamp, metadata

device_holds = Table(
    "device_holds",
    metadata,
    Column("id", String(36), primary_key=True),  # a UUID: the device names it back on capture or void
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("device_id", Id, ForeignKey("devices.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("captured_minor", BigInteger, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("product", String(32), nullable=True),
    Column("per_minute_minor", BigInteger, nullable=True),  # a session's price per minute
    Column("max_minutes", Integer, nullable=True),  # a session's longest run
    Column("started_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("closed_at", Timestamp, nullable=True),
    Column("hold_tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("close_tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint("captured_minor >= 0 AND captured_minor <= amount_minor", name="captured_within_amount"),
    CheckConstraint("status IN ('held', 'captured', 'voided', 'expired')", name="status"),
    CheckConstraint("kind IN ('charge', 'session')", name="kind"),
    Index("ix_device_holds_status_expires_at", "status", "expires_at"),
    Index("ix_device_holds_member_id_status", "member_id", "status"),
    Index("ix_device_holds_device_id", "device_id"),
)
