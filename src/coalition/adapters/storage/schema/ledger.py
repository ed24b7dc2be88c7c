"""The ledger: accounts, member balances (the only running balances), append-only transactions and postings,
lots of points and what each transaction took from them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

accounts = Table(
    "accounts",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("owner_kind", String(16), nullable=False),
    Column("owner_id", Id, nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("asset", String(80), nullable=False),
    UniqueConstraint("network_id", "owner_kind", "owner_id", "purpose", "asset"),
    UniqueConstraint("id", "asset", name="uq_accounts_id_asset"),
)


member_balances = Table(
    "member_balances",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("balance", BigInteger, nullable=False),
    # Bumped by every change of the balance or the lots: a purchase may write without a lock when it is unchanged.
    Column("version", BigInteger, nullable=False, server_default="0"),
)


ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("outlet_id", Id, ForeignKey("outlets.id"), nullable=True),
    Column("reverses_tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("memo", String(200), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    # who took the money at the till, for a top-up or a gift card's sale (a purchase's cashier is on its row)
    Column("cashier_login", String(100), nullable=True),
    Index("ix_ledger_transactions_network_recorded", "network_id", "recorded_at"),
)


postings = Table(
    "postings",
    metadata,
    id_column(),
    Column("tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("account_id", Id, nullable=False),
    Column("asset", String(80), nullable=False),
    Column("amount", BigInteger, nullable=False),
    ForeignKeyConstraint(["account_id", "asset"], ["accounts.id", "accounts.asset"], name="fk_postings_account_asset"),
    CheckConstraint("amount <> 0", name="amount_nonzero"),
    Index("ix_postings_account_tx", "account_id", "tx_id"),
)


lots = Table(
    "lots",
    metadata,
    id_column(),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("expires_at", Timestamp, nullable=True),
    # the partner whose outlet granted the points and owes the node for them; NULL: the node (birthday bonuses)
    Column("granting_partner_id", Id, ForeignKey("partners.id"), nullable=True),
    # the visit whose end sweeps the lot's points (an end_of_visit accrual granted during an open visit)
    Column("ends_with_visit_id", String(36), nullable=True),
    CheckConstraint("points > 0", name="points_positive"),
    CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_range"),
    Index("ix_lots_account_open", "account_id", "remaining"),
)


lot_takes = Table(
    "lot_takes",
    metadata,
    Column("tx_id", Id, ForeignKey("ledger_transactions.id"), primary_key=True),
    Column("lot_id", Id, ForeignKey("lots.id"), primary_key=True),
    Column("points", BigInteger, nullable=False),
    CheckConstraint("points > 0", name="points_positive"),
)


# A member's prepaid wallet of one currency (issue 14). Its running balance lives here, beside its limits, so the
# purchase's one statement guards it: the CHECK refuses any write that would take it below −credit limit, however
# many payments race (member_balances keeps one row per member: points; its joins by member_id stay as they are).
wallets = Table(
    "wallets",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance_minor", BigInteger, nullable=False, server_default="0"),
    Column("credit_limit_minor", BigInteger, nullable=False, server_default="0"),
    Column("daily_spend_limit_minor", BigInteger, nullable=True),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("member_id", "currency"),
    CheckConstraint("credit_limit_minor >= 0", name="credit_limit_non_negative"),
    CheckConstraint("balance_minor + credit_limit_minor >= 0", name="within_credit_limit"),
    CheckConstraint("daily_spend_limit_minor IS NULL OR daily_spend_limit_minor > 0", name="daily_limit_positive"),
    CheckConstraint("status IN ('open', 'closed')", name="status"),
)
