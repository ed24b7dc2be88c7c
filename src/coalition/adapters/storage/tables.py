"""The schema, as SQLAlchemy Core tables. Alembic migrations create it on SQLite and PostgreSQL.

Ledger rows (`ledger_transactions`, `postings`) are append-only: triggers refuse UPDATE and DELETE on both engines,
and on PostgreSQL a deferred constraint trigger refuses a commit whose postings do not sum to zero per asset.
Only member-owned accounts keep a running balance (`member_balances`): rows few purchases share. Node and partner
balances are sums of postings, so no row is updated by every purchase.

The tables are defined by area in `coalition.adapters.storage.schema` (network, members, ledger, purchases, console);
this module gathers them on the one `metadata`, so Alembic and every `tables as t` reader see the whole schema.
"""

from __future__ import annotations

from coalition.adapters.storage.schema.admin_idempotency import admin_idempotency_keys
from coalition.adapters.storage.schema.base import (
    MAX_INTEGER_COLUMN,
    Id,
    Timestamp,
    as_utc,
    metadata,
    naming_convention,
)
from coalition.adapters.storage.schema.campaigns import campaigns
from coalition.adapters.storage.schema.catalogue import product_categories, products
from coalition.adapters.storage.schema.console import (
    audit_entries,
    console_users,
    daily_reports_sent,
    member_pins,
    member_sign_in_codes,
    sign_in_addresses,
    sign_in_counters,
    web_sessions,
)
from coalition.adapters.storage.schema.device_holds import device_holds
from coalition.adapters.storage.schema.device_offline import device_offline_uses, device_price_lists
from coalition.adapters.storage.schema.devices import devices
from coalition.adapters.storage.schema.file_imports import file_imports
from coalition.adapters.storage.schema.gift_cards import gift_card_settings, gift_cards, member_gift_cards
from coalition.adapters.storage.schema.ledger import (
    accounts,
    ledger_transactions,
    lot_takes,
    lots,
    member_balances,
    postings,
    wallets,
)
from coalition.adapters.storage.schema.members import (
    cards,
    identifiers,
    members,
    visits,
)
from coalition.adapters.storage.schema.messages import (
    member_message_state,
    message_opt_outs,
    message_settings,
    message_templates,
    server_secrets,
)
from coalition.adapters.storage.schema.network import (
    cashiers,
    networks,
    outlet_permissions,
    outlets,
    partners,
    program_tiers,
    programs,
    retired_keys,
    rule_sets,
    terminals,
)
from coalition.adapters.storage.schema.outbox import outbox_attempts, outbox_messages, webhook_subscriptions
from coalition.adapters.storage.schema.purchases import (
    coupon_uses,
    coupons,
    gift_type_partners,
    gift_types,
    gifts,
    idempotency_keys,
    purchase_lines,
    purchases,
    refund_lines,
    refunds,
    settlement_lines,
    settlement_money_lines,
    settlement_statements,
)
from coalition.adapters.storage.schema.schedules import job_runs, job_schedules

__all__ = [
    "MAX_INTEGER_COLUMN",
    "Id",
    "Timestamp",
    "accounts",
    "admin_idempotency_keys",
    "as_utc",
    "audit_entries",
    "campaigns",
    "cards",
    "cashiers",
    "console_users",
    "coupon_uses",
    "coupons",
    "daily_reports_sent",
    "device_holds",
    "device_offline_uses",
    "device_price_lists",
    "devices",
    "file_imports",
    "gift_card_settings",
    "gift_cards",
    "gift_type_partners",
    "gift_types",
    "gifts",
    "idempotency_keys",
    "identifiers",
    "job_runs",
    "job_schedules",
    "ledger_transactions",
    "lot_takes",
    "lots",
    "member_balances",
    "member_gift_cards",
    "member_message_state",
    "member_pins",
    "member_sign_in_codes",
    "members",
    "message_opt_outs",
    "message_settings",
    "message_templates",
    "metadata",
    "naming_convention",
    "networks",
    "outbox_attempts",
    "outbox_messages",
    "outlet_permissions",
    "outlets",
    "partners",
    "postings",
    "product_categories",
    "products",
    "program_tiers",
    "programs",
    "purchase_lines",
    "purchases",
    "refund_lines",
    "refunds",
    "retired_keys",
    "rule_sets",
    "server_secrets",
    "settlement_lines",
    "settlement_money_lines",
    "settlement_statements",
    "sign_in_addresses",
    "sign_in_counters",
    "terminals",
    "visits",
    "wallets",
    "web_sessions",
    "webhook_subscriptions",
]
