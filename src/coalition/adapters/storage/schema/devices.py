"""Devices (issue 15): a machine that takes the card — vending, arcade, dispenser, timed table, turnstile, kiosk.

A device is an outlet of its own (so the permissions matrix, reports and settlement see it like any outlet) with its
own terminal key (`terminal_id`: rotated and revoked like any terminal's). Its row holds what the machine needs
beside: its kind, its price list and opening hours (JSON documents the domain validates: domain/devices.py), how
long a hold lasts, how much it may sell to one card while offline, when it is called silent, and its last heartbeat.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table, Text

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

DEVICE_KINDS = ("vending", "arcade", "dispenser", "timed_table", "turnstile", "kiosk")

devices = Table(
    "devices",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("outlet_id", Id, ForeignKey("outlets.id"), nullable=False, unique=True),
    Column("terminal_id", Id, ForeignKey("terminals.id"), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("price_list", Text, nullable=False, server_default="{}"),  # JSON: domain/devices.py PriceList
    Column("opening_hours", Text, nullable=True),  # JSON: domain/devices.py OpeningHours; NULL: always open
    Column("hold_ttl_seconds", Integer, nullable=False, server_default="300"),
    Column("offline_limit_minor", BigInteger, nullable=False, server_default="0"),
    Column("silent_after_seconds", Integer, nullable=False, server_default="900"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("last_heartbeat_at", Timestamp, nullable=True),
    Column("last_status", Text, nullable=True),  # JSON the device reported with its last heartbeat (bounded)
    Column("last_error", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint("kind IN ('vending', 'arcade', 'dispenser', 'timed_table', 'turnstile', 'kiosk')", name="kind"),
    CheckConstraint("hold_ttl_seconds > 0", name="hold_ttl_positive"),
    CheckConstraint("offline_limit_minor >= 0", name="offline_limit_not_negative"),
    CheckConstraint("silent_after_seconds > 0", name="silent_after_positive"),
)
