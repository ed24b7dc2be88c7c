"""Gift cards (certificates, issue 14): one row per card with its running balance, and the network's gift-card
breakage policy.

The balance lives on the card's row (`balance_minor`), beside the card's ledger account (`account_id`): every posting
to that account changes it in the same transaction, and a debit is one guarded statement (`WHERE balance_minor >=
:g`), so concurrent spends never take a card below zero; `coalition verify` checks that it equals the postings.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

gift_cards = Table(
    "gift_cards",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("number", String(32), nullable=False),
    Column("pin_hash", String(200), nullable=True),  # argon2id; NULL: no PIN
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=True, unique=True),  # set as the card is created
    Column("currency", String(3), nullable=False),
    Column("initial_minor", BigInteger, nullable=False),
    Column("balance_minor", BigInteger, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("valid_from", Timestamp, nullable=False),
    Column("valid_until", Timestamp, nullable=False),  # exclusive
    Column("seller_partner_id", Id, ForeignKey("partners.id"), nullable=True),  # NULL: the administrator issued it
    Column("seller_outlet_id", Id, ForeignKey("outlets.id"), nullable=True),
    Column("sale_tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("expiry_tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("failed_pin_attempts", Integer, nullable=False, server_default="0"),
    Column("pin_locked_until", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "number"),
    CheckConstraint("initial_minor > 0", name="initial_positive"),
    CheckConstraint("balance_minor >= 0", name="balance_not_negative"),
    CheckConstraint("status IN ('active', 'blocked', 'expired', 'spent')", name="status"),
    CheckConstraint("valid_until > valid_from", name="validity"),
    CheckConstraint("failed_pin_attempts >= 0", name="failed_pin_attempts"),
)


# the cards a member added to their page (/me): a link only, the card stays a bearer instrument
member_gift_cards = Table(
    "member_gift_cards",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("gift_card_id", Id, ForeignKey("gift_cards.id"), primary_key=True),
    Column("added_at", Timestamp, nullable=False),
    Index("ix_member_gift_cards_gift_card_id", "gift_card_id"),
)


gift_card_settings = Table(
    "gift_card_settings",
    metadata,
    Column("network_id", Id, ForeignKey("networks.id"), primary_key=True),
    # what happens to an expired card's balance: kept (node) | returned (seller) | shared (share_bp to the seller)
    Column("breakage", String(16), nullable=False, server_default="kept"),
    Column("breakage_share_bp", Integer, nullable=True),
)
