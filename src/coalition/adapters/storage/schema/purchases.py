"""Purchases and their lines, refunds, the terminals' idempotency records, coupons and their uses, gifts, and the
settlement statements that close a period of them."""

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
    Text,
    UniqueConstraint,
)

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

purchases = Table(
    "purchases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("outlet_id", Id, ForeignKey("outlets.id"), nullable=False),
    Column("terminal_id", Id, ForeignKey("terminals.id"), nullable=True),
    Column("cashier_login", String(100), nullable=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("card_id", Id, ForeignKey("cards.id"), nullable=True),
    Column("receipt", String(100), nullable=False),
    Column("check_minor", BigInteger, nullable=False),
    Column("points_redeemed", BigInteger, nullable=False),
    Column("amount_due_minor", BigInteger, nullable=False),
    Column("points_earned", BigInteger, nullable=False),
    Column("rule_set_version", Integer, nullable=True),  # the rule set that priced it (none: the bonus program)
    Column("applied_rules", Text, nullable=True),  # codes of the rules that applied, comma-separated
    Column("tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("occurred_at", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    UniqueConstraint("outlet_id", "receipt"),
    CheckConstraint("check_minor > 0", name="check_positive"),
    CheckConstraint("amount_due_minor >= 0 AND points_redeemed >= 0 AND points_earned >= 0", name="non_negative"),
)
Index("ix_purchases_network_occurred", purchases.c.network_id, purchases.c.occurred_at, purchases.c.id)
# SQLite only; PostgreSQL has a BRIN index on recorded_at instead (migration 0024: reports go by recorded time).
Index("ix_purchases_network_recorded", purchases.c.network_id, purchases.c.recorded_at)


purchase_lines = Table(
    "purchase_lines",
    metadata,
    Column("purchase_id", String(36), ForeignKey("purchases.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(100), nullable=False),
    Column("category", String(100), nullable=True),
    Column("quantity_milli", BigInteger, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
)


refunds = Table(
    "refunds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("purchase_id", String(36), ForeignKey("purchases.id"), nullable=False, index=True),
    Column("terminal_id", Id, ForeignKey("terminals.id"), nullable=True),
    Column("cashier_login", String(100), nullable=True),  # who gave the money back (None: not named)
    Column("refund_minor", BigInteger, nullable=False),
    Column("money_back_minor", BigInteger, nullable=False),
    Column("points_clawed_back", BigInteger, nullable=False),
    Column("points_returned", BigInteger, nullable=False),
    Column("tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("recorded_at", Timestamp, nullable=False),
    CheckConstraint("refund_minor > 0", name="refund_positive"),
)
# SQLite only; PostgreSQL has a BRIN index on recorded_at instead (migration 0042: the daily report reads a day's).
Index("ix_refunds_recorded", refunds.c.recorded_at)


refund_lines = Table(
    "refund_lines",
    metadata,
    Column("refund_id", String(36), ForeignKey("refunds.id"), primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("quantity_milli", BigInteger, nullable=False),
)


idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("terminal_id", Id, ForeignKey("terminals.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)


coupons = Table(
    "coupons",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("code", String(64), nullable=False),  # upper case
    Column("campaign", String(64), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True),  # None: anyone may present it
    Column("valid_from", Timestamp, nullable=False),
    Column("valid_until", Timestamp, nullable=False),  # exclusive
    Column("max_uses", Integer, nullable=False),
    Column("uses", Integer, nullable=False, server_default="0"),
    Column("issued_by_purchase_id", String(36), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "code"),
    CheckConstraint("max_uses >= 1", name="max_uses_positive"),
    CheckConstraint("uses >= 0 AND uses <= max_uses", name="uses_within_max"),
    CheckConstraint("valid_until > valid_from", name="period"),
    Index("ix_coupons_network_id_campaign", "network_id", "campaign"),
    Index("ix_coupons_member_id_id", "member_id", "id"),  # a member's coupons: the list's filter, the period close
)


coupon_uses = Table(
    "coupon_uses",
    metadata,
    Column("coupon_id", Id, ForeignKey("coupons.id"), primary_key=True),
    Column("purchase_id", String(36), primary_key=True),
    Column("used_at", Timestamp, nullable=False),
)


gift_types = Table(
    "gift_types",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("price_minor", BigInteger, nullable=False),  # the agreed settlement price
    Column("valid_days", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "code"),
    CheckConstraint("price_minor > 0", name="price_positive"),
)


gift_type_partners = Table(
    "gift_type_partners",
    metadata,
    Column("gift_type_id", Id, ForeignKey("gift_types.id"), primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), primary_key=True),
)


gifts = Table(
    "gifts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("gift_type_id", Id, ForeignKey("gift_types.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("outlets", Text, nullable=False),  # comma-separated names; '' = the gift type's partners' outlets
    Column("granted_outlet_id", Id, nullable=False),
    Column("grant_tx_id", Id, nullable=False),
    Column("purchase_id", String(36), nullable=True),
    Column("granted_at", Timestamp, nullable=False),
    Column("valid_until", Timestamp, nullable=False),
    Column("state", String(16), nullable=False),
    Column("honoured_outlet_id", Id, nullable=True),
    Column("honour_tx_id", Id, nullable=True),
    Column("honoured_at", Timestamp, nullable=True),
    Column("expired_at", Timestamp, nullable=True),
    Column("release_tx_id", Id, nullable=True),  # the grant's reversal, when the network releases expired gifts
    CheckConstraint("state IN ('granted', 'honoured', 'expired')", name="state"),
    CheckConstraint(
        "(state = 'honoured') = (honour_tx_id IS NOT NULL AND honoured_outlet_id IS NOT NULL)",
        name="honoured_with_transaction",
    ),
    Index("ix_gifts_member_id", "member_id"),
)


MONEY_NET_SQL = (
    "net_minor = wallet_accepted_minor - wallet_refunded_minor + gift_cards_accepted_minor"
    " - gift_cards_refunded_minor - top_ups_minor + top_ups_refunded_minor - gift_cards_sold_minor"
    " + gift_cards_sold_refunded_minor + breakage_minor"
)


settlement_statements = Table(
    "settlement_statements",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, … per network
    Column("period_start", Timestamp, nullable=False),
    Column("period_end", Timestamp, nullable=False),  # exclusive; the next period starts here
    Column("currency", String(3), nullable=False),
    Column("node_net_minor", BigInteger, nullable=False),  # points and gifts, fees included (not prepaid money)
    Column("closed_at", Timestamp, nullable=False),
    # the node's prepaid money of the period (issue 14): the change in wallets and gift cards, breakage it kept,
    # gift cards it funded itself; the sum is minus the partners' money lines
    Column("node_wallets_minor", BigInteger, nullable=False, server_default="0"),
    Column("node_gift_cards_minor", BigInteger, nullable=False, server_default="0"),
    Column("node_breakage_kept_minor", BigInteger, nullable=False, server_default="0"),
    Column("node_funded_minor", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("network_id", "number"),
    UniqueConstraint("network_id", "period_start"),
    CheckConstraint("period_end > period_start", name="period"),
)


settlement_lines = Table(
    "settlement_lines",
    metadata,
    Column("statement_id", Id, ForeignKey("settlement_statements.id"), primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), primary_key=True),
    Column("partner_name", String(200), nullable=False),
    Column("granted_minor", BigInteger, nullable=False),
    Column("granted_refunded_minor", BigInteger, nullable=False),
    Column("honoured_minor", BigInteger, nullable=False),
    Column("honoured_refunded_minor", BigInteger, nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("transactions", Integer, nullable=False),
    Column("fees_minor", BigInteger, nullable=False),
    # value of expired points the node released back to the partner (the network's points breakage policy)
    Column("breakage_minor", BigInteger, nullable=False, server_default="0"),
    CheckConstraint(
        "net_minor = honoured_minor - honoured_refunded_minor - granted_minor + granted_refunded_minor"
        " + breakage_minor - fees_minor",
        name="net",
    ),
)


# A partner's prepaid money on a closed statement (issue 14), apart from its points line; none: no money moved.
settlement_money_lines = Table(
    "settlement_money_lines",
    metadata,
    Column("statement_id", Id, ForeignKey("settlement_statements.id"), primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), primary_key=True),
    Column("top_ups_minor", BigInteger, nullable=False),
    Column("top_ups_refunded_minor", BigInteger, nullable=False),
    Column("gift_cards_sold_minor", BigInteger, nullable=False),
    Column("gift_cards_sold_refunded_minor", BigInteger, nullable=False),
    Column("wallet_accepted_minor", BigInteger, nullable=False),
    Column("wallet_refunded_minor", BigInteger, nullable=False),
    Column("gift_cards_accepted_minor", BigInteger, nullable=False),
    Column("gift_cards_refunded_minor", BigInteger, nullable=False),
    Column("breakage_minor", BigInteger, nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("transactions", Integer, nullable=False),
    CheckConstraint(MONEY_NET_SQL, name="net"),
)
