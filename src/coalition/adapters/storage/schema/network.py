"""The network's reference data: networks, partners and their outlets, terminals and their keys, cashiers, the
bonus program and its tiers, the permissions matrix, rule sets."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

networks = Table(
    "networks",
    metadata,
    id_column(),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    # ISO 3166 alpha-2 (0049): phones typed without a country code are read as this country's; None: the currency's
    # country (domain.identifiers.phone_region: RUB → RU), else they need their country code
    Column("country", String(2), nullable=True),
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
    # the hosted service's plan (domain.plans): its code, the trial's end, when the operator suspended the network
    Column("plan", String(16), nullable=False, server_default="custom"),
    Column("trial_ends_at", Timestamp, nullable=True),
    Column("suspended_at", Timestamp, nullable=True),
    # a card issued at a till needs a first purchase of at least this much (0: no minimum; docs/program-editor.md)
    Column("card_min_first_purchase_minor", BigInteger, nullable=False, server_default="0"),
    # customers may join by the counter's QR code (/join/<code>); off until the administrator turns it on
    Column("self_signup_enabled", Boolean, nullable=False, server_default=false()),
)


partners = Table(
    "partners",
    metadata,
    id_column(),
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
    id_column(),
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
    id_column(),
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
    id_column(),
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
    id_column(),
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
    id_column(),
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


# Rule sets (issue 3): one draft per network at most, edited in place; published versions are never changed. The
# version in force at a moment is the latest published one whose `effective_from` has come.
rule_sets = Table(
    "rule_sets",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # draft | published
    Column("body", Text, nullable=False),  # the rule set as JSON (docs/rules.md)
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("published_at", Timestamp, nullable=True),
    Column("effective_from", Timestamp, nullable=True),
    # the program editor's form that wrote this version, as JSON (application/program_editor.py); None: YAML
    Column("editor_form", Text, nullable=True),
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
