"""A device's offline sales (issue 15): the price lists it had over time, and the uses it uploads later.

`device_price_lists` keeps every price list a device had from the moment it took effect, so a use sold offline is
priced by the list in force when it happened, not by the one in force when it is uploaded. `device_offline_uses`
records each uploaded use once, by the device's own key for it: a re-upload answers the first result.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

device_price_lists = Table(
    "device_price_lists",
    metadata,
    Column("device_id", Id, ForeignKey("devices.id"), nullable=False),
    Column("effective_from", Timestamp, nullable=False),
    Column("price_list", Text, nullable=False),  # JSON, as devices.price_list
    PrimaryKeyConstraint("device_id", "effective_from"),
)

device_offline_uses = Table(
    "device_offline_uses",
    metadata,
    id_column(),
    Column("device_id", Id, ForeignKey("devices.id"), nullable=False),
    Column("key", String(64), nullable=False),  # the device's own key for the use
    Column("request_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # the use's price then
    Column("unpaid_minor", BigInteger, nullable=False),  # what the wallet could not pay: the partner bears it
    Column("minutes", Integer, nullable=True),
    Column("occurred_at", Timestamp, nullable=False),
    Column("result", Text, nullable=False),  # JSON: the use's first result, answered again on a re-upload
    Column("charge_tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),  # NULL: nothing was paid
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("device_id", "key"),
    CheckConstraint("status IN ('charged', 'short')", name="status"),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint("unpaid_minor >= 0 AND unpaid_minor <= amount_minor", name="unpaid_within_amount"),
    Index("ix_device_offline_uses_member_id", "member_id"),
)
