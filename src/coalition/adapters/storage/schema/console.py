"""The web: console users and sessions, sign-in counters and usual addresses, members' PINs and one-time codes, the
daily reports sent, and the audit log."""

from __future__ import annotations

from sqlalchemy import (
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

console_users = Table(  # who signs in to /console: the network's administrators and the partners' owners
    "console_users",
    metadata,
    id_column(),
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
    id_column(),
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
    id_column(),
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
    id_column(),
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
