"""Members, their cards and identifiers, and their visits to a closed venue."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

members = Table(
    "members",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # personal | anonymous
    Column("name", String(200), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("email", String(254), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("notes", Text, nullable=True),
    Column("consent_data_processing", Boolean, nullable=False),
    Column("consent_newsletters", Boolean, nullable=False),
    Column("lifetime_spend_minor", BigInteger, nullable=False),  # opening spend + checks - refunds: the tiers read it
    Column("created_at", Timestamp, nullable=False),
    Column("tier", String(32), nullable=False, server_default=""),  # set by the administrator or a rule
    Column("segments", String(700), nullable=False, server_default=""),  # comma-separated labels, sorted
    # the lifetime spend brought in by the members file's `lifetime_spend` (0058); 0 for a member enrolled here
    Column("opening_spend_minor", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("kind IN ('personal', 'anonymous')", name="kind"),
    CheckConstraint("lifetime_spend_minor >= 0", name="lifetime_spend_non_negative"),
    CheckConstraint("opening_spend_minor >= 0", name="opening_spend_non_negative"),
)


cards = Table(
    "cards",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("number", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("issued_at", Timestamp, nullable=False),
    Column("activated_at", Timestamp, nullable=True),
    Column("state_changed_at", Timestamp, nullable=False),
    Column("replaced_by_card_id", Id, ForeignKey("cards.id"), nullable=True),
    Column("card_type", String(32), nullable=False, server_default="standard"),
    UniqueConstraint("network_id", "number"),
    CheckConstraint("state IN ('issued', 'active', 'blocked', 'lost', 'replaced')", name="state"),
    Index("ix_cards_member_id", "member_id"),  # a member's cards: their page, the members file's export (0045)
)


identifiers = Table(
    "identifiers",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("card_id", Id, ForeignKey("cards.id"), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("value", String(256), nullable=False),
    UniqueConstraint("network_id", "value"),
    CheckConstraint("kind IN ('card', 'barcode', 'magstripe', 'nfc', 'phone')", name="kind"),
)


visits = Table(
    "visits",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("entry_outlet_id", Id, ForeignKey("outlets.id"), nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("exit_outlet_id", Id, ForeignKey("outlets.id"), nullable=True),
    Column("ended_at", Timestamp, nullable=True),
    Column("points_reset", BigInteger, nullable=False, server_default="0"),
    Column("gifts_reset", Integer, nullable=False, server_default="0"),
    Column("reset_tx_id", Id, nullable=True),  # the points' reset; the gifts' own expiry is on each gift
    CheckConstraint("(ended_at IS NULL) = (exit_outlet_id IS NULL)", name="ended_at_exit"),
    CheckConstraint("points_reset >= 0 AND gifts_reset >= 0", name="resets_not_negative"),
    Index("ix_visits_member_id", "member_id"),
)
Index(  # one open visit per member
    "uq_visits_open_member",
    visits.c.member_id,
    unique=True,
    postgresql_where=visits.c.ended_at.is_(None),
    sqlite_where=visits.c.ended_at.is_(None),
)
