"""The schema, as SQLAlchemy Core tables. Alembic migrations create it on SQLite and PostgreSQL.

Ledger rows (`ledger_transactions`, `postings`) are append-only: triggers refuse UPDATE and DELETE on both engines,
and on PostgreSQL a deferred constraint trigger refuses a commit whose postings do not sum to zero per asset.
Only member-owned accounts keep a running balance (`member_balances`): rows few purchases share. Node and partner
balances are sums of postings, so no row is updated by every purchase.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=naming_convention)

# SQLite gives autoincrement only to INTEGER PRIMARY KEY; PostgreSQL gets 64-bit keys.
Id = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)


MAX_INTEGER_COLUMN = 2**31 - 1  # an Integer (not BigInteger) column, such as a rule set's version or a statement's
# number: a larger number names no row, and PostgreSQL refuses to compare it with one (an error, not "none found")


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC moment: SQLite hands timestamps back without their zone (always UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


networks = Table(
    "networks",
    metadata,
    _id(),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("admin_key_hash", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("settlement_fee_minor", BigInteger, nullable=False, server_default="0"),  # per partner transaction
    Column("settlement_fee_bp", Integer, nullable=False, server_default="0"),  # of the value granted
    Column("gift_breakage", String(16), nullable=False, server_default="kept"),  # kept | released
    Column("points_breakage", String(16), nullable=False, server_default="kept"),  # kept | returned | shared
    Column("points_breakage_share_bp", Integer, nullable=True),  # shared: the granting partner's share
    Column("admin_key_expires_at", Timestamp, nullable=True),  # None: the admin key does not expire
    # limits on one purchase (domain.limits; the defaults are DEFAULT_LIMITS' figures)
    Column("max_amount_minor", BigInteger, nullable=False, server_default=str(10**10)),
    Column("max_quantity_milli", BigInteger, nullable=False, server_default=str(10**8)),
    Column("max_lines_per_purchase", Integer, nullable=False, server_default="500"),
    Column("max_points_per_purchase", BigInteger, nullable=False, server_default=str(10**9)),
)

partners = Table(
    "partners",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("email", String(254), nullable=True),  # where settlement statements go
    Column("mail_language", String(8), nullable=True),  # the language of its daily reports (None: English)
    UniqueConstraint("network_id", "name"),
)

outlets = Table(
    "outlets",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("partner_id", "name"),
)

terminals = Table(
    "terminals",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("outlet_id", Id, ForeignKey("outlets.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("key_expires_at", Timestamp, nullable=True),  # None: the key does not expire
)

# A key replaced by a rotation, valid until its grace period ends: a terminal's (terminal_id) or the admin key's.
retired_keys = Table(
    "retired_keys",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("terminal_id", Id, ForeignKey("terminals.id"), nullable=True),  # None: the network's admin key
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=True),  # None: an admin key (its prefix is not kept)
    Column("valid_until", Timestamp, nullable=False),
    Column("retired_at", Timestamp, nullable=False),
    Column("rotation_key_hash", String(64), nullable=True),  # the Idempotency-Key of the rotation, hashed
)

cashiers = Table(
    "cashiers",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("outlet_id", Id, ForeignKey("outlets.id"), nullable=False),
    Column("login", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("outlet_id", "login"),
)

programs = Table(
    "programs",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False, unique=True),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("point_value_minor", BigInteger, nullable=False),
    Column("min_check_for_redeem_minor", BigInteger, nullable=False),
    Column("points_expire_days", Integer, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "code"),
    CheckConstraint("point_value_minor > 0", name="point_value_positive"),
)

program_tiers = Table(
    "program_tiers",
    metadata,
    Column("program_id", Id, ForeignKey("programs.id"), primary_key=True),
    Column("min_lifetime_spend_minor", BigInteger, primary_key=True),
    Column("accrual_bp", Integer, nullable=False),
    Column("fixed_points_per_check", BigInteger, nullable=False),
    Column("redeem_cap_bp", Integer, nullable=False),
    CheckConstraint("accrual_bp BETWEEN 0 AND 10000", name="accrual_range"),
    CheckConstraint("redeem_cap_bp BETWEEN 0 AND 10000", name="cap_range"),
)

members = Table(
    "members",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # personal | anonymous
    Column("name", String(200), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("email", String(254), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("notes", Text, nullable=True),
    Column("consent_data_processing", Boolean, nullable=False),
    Column("consent_newsletters", Boolean, nullable=False),
    Column("lifetime_spend_minor", BigInteger, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("tier", String(32), nullable=False, server_default=""),  # set by the administrator or a rule
    Column("segments", String(700), nullable=False, server_default=""),  # comma-separated labels, sorted
    CheckConstraint("kind IN ('personal', 'anonymous')", name="kind"),
    CheckConstraint("lifetime_spend_minor >= 0", name="lifetime_spend_non_negative"),
)

cards = Table(
    "cards",
    metadata,
    _id(),
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
)

identifiers = Table(
    "identifiers",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("card_id", Id, ForeignKey("cards.id"), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("value", String(256), nullable=False),
    UniqueConstraint("network_id", "value"),
    CheckConstraint("kind IN ('card', 'barcode', 'magstripe', 'nfc', 'phone')", name="kind"),
)

accounts = Table(
    "accounts",
    metadata,
    _id(),
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
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("outlet_id", Id, ForeignKey("outlets.id"), nullable=True),
    Column("reverses_tx_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("memo", String(200), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Index("ix_ledger_transactions_network_recorded", "network_id", "recorded_at"),
)

postings = Table(
    "postings",
    metadata,
    _id(),
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
    _id(),
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

# Rule sets (issue 3): one draft per network at most, edited in place; published versions are never changed. The
# version in force at a moment is the latest published one whose `effective_from` has come.
rule_sets = Table(
    "rule_sets",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # draft | published
    Column("body", Text, nullable=False),  # the rule set as JSON (docs/rules.md)
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("published_at", Timestamp, nullable=True),
    Column("effective_from", Timestamp, nullable=True),
    UniqueConstraint("network_id", "version"),
    CheckConstraint("status IN ('draft', 'published')", name="status"),
    CheckConstraint("status = 'draft' OR (published_at IS NOT NULL AND effective_from IS NOT NULL)", name="published"),
)
Index(
    "uq_rule_sets_one_draft",
    rule_sets.c.network_id,
    unique=True,
    postgresql_where=rule_sets.c.status == "draft",
    sqlite_where=rule_sets.c.status == "draft",
)
# SQLite only since migration 0009; PostgreSQL has a BRIN index on occurred_at instead (see that migration).
Index("ix_purchases_network_occurred", purchases.c.network_id, purchases.c.occurred_at, purchases.c.id)
# SQLite only; PostgreSQL has a BRIN index on recorded_at instead (migration 0024: reports go by recorded time).
Index("ix_purchases_network_recorded", purchases.c.network_id, purchases.c.recorded_at)


coupons = Table(
    "coupons",
    metadata,
    _id(),
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
)

coupon_uses = Table(
    "coupon_uses",
    metadata,
    Column("coupon_id", Id, ForeignKey("coupons.id"), primary_key=True),
    Column("purchase_id", String(36), primary_key=True),
    Column("used_at", Timestamp, nullable=False),
)


settlement_statements = Table(
    "settlement_statements",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, … per network
    Column("period_start", Timestamp, nullable=False),
    Column("period_end", Timestamp, nullable=False),  # exclusive; the next period starts here
    Column("currency", String(3), nullable=False),
    Column("node_net_minor", BigInteger, nullable=False),
    Column("closed_at", Timestamp, nullable=False),
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


gift_types = Table(
    "gift_types",
    metadata,
    _id(),
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


outlet_permissions = Table(
    "outlet_permissions",
    metadata,
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("outlet_id", Id, ForeignKey("outlets.id"), primary_key=True),
    Column("counter", String(48), primary_key=True),  # points | gift:<code> | wallet:<currency>
    Column("operation", String(16), primary_key=True),
    CheckConstraint("operation IN ('accrue', 'spend', 'grant', 'honour', 'top_up')", name="operation"),
    Index("ix_outlet_permissions_network_id", "network_id"),
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


console_users = Table(  # who signs in to /console: the network's administrators and the partners' owners
    "console_users",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=True),
    Column("login", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # administrator | owner
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "login"),
    CheckConstraint("role IN ('administrator', 'owner')", name="role_known"),
    CheckConstraint("(role = 'owner') = (partner_id IS NOT NULL)", name="owner_partner"),
)

web_sessions = Table(  # a browser's sign-in; the cookie holds a token, the row its SHA-256
    "web_sessions",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # administrator | owner | cashier | member
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("partner_id", Id, nullable=True),
    Column("outlet_id", Id, nullable=True),
    Column("terminal_id", Id, ForeignKey("terminals.id"), nullable=True),
    Column("cashier_id", Id, ForeignKey("cashiers.id"), nullable=True),
    Column("console_user_id", Id, ForeignKey("console_users.id"), nullable=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("display_name", String(200), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    CheckConstraint("role IN ('administrator', 'owner', 'cashier', 'member')", name="role_known"),
    Index("ix_web_sessions_cashier_id", "cashier_id"),
    Index("ix_web_sessions_console_user_id", "console_user_id"),
)

sign_in_counters = Table(  # sign-in attempts per scope (an account, an account at an address, an address)
    "sign_in_counters",
    metadata,
    Column("scope_hash", String(64), primary_key=True),  # SHA-256 of the scope: logins and addresses are not kept
    Column("window_started_at", Timestamp, nullable=False),
    Column("attempts", Integer, nullable=False),
)

sign_in_addresses = Table(  # an account's addresses with a recent successful sign-in: its usual tills
    "sign_in_addresses",
    metadata,
    Column("account_address_hash", String(64), primary_key=True),
    Column("signed_in_at", Timestamp, nullable=False),
)

member_pins = Table(  # the PIN a member set on /me (argon2id), to sign in with the card number and the PIN
    "member_pins",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("pin_hash", String(200), nullable=False),
    Column("set_at", Timestamp, nullable=False),
)

member_sign_in_codes = Table(  # one-time codes e-mailed to a member: kept hashed, short-lived, used once
    "member_sign_in_codes",
    metadata,
    _id(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("code_hash", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("used_at", Timestamp, nullable=True),
    Index("ix_member_sign_in_codes_member_created", "member_id", "created_at"),
)

daily_reports_sent = Table(  # the day's report e-mailed to a partner's owner: one row per partner and day
    "daily_reports_sent",
    metadata,
    Column("partner_id", Id, ForeignKey("partners.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("address", String(254), nullable=False),
    Column("sent_at", Timestamp, nullable=False),
)

audit_entries = Table(  # the audit log: append-only (triggers refuse UPDATE and DELETE on both engines), never pruned
    "audit_entries",
    metadata,
    _id(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Column("actor_kind", String(16), nullable=False),  # admin_key | operator | console_user | cli | registrant | system
    Column("actor_id", String(100), nullable=True),  # a console user's id, an admin key's fingerprint
    Column("actor_name", String(200), nullable=True),  # a login or name
    Column("actor_role", String(16), nullable=True),  # administrator | owner (console users)
    Column("address", String(100), nullable=True),  # where the request came from
    Column("request_id", String(100), nullable=True),
    Column("action", String(64), nullable=False),  # a stable dotted code: terminal.revoke, rules.publish
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(100), nullable=True),
    Column("partner_id", Id, nullable=True),  # the partner the entry is about, when there is one
    Column("before", Text, nullable=True),  # JSON of the changed fields, secrets redacted
    Column("after", Text, nullable=True),
    Index("ix_audit_entries_network_id_id", "network_id", "id"),
)
