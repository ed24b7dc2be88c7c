"""The admin API's idempotency records (issue 17, point 5; docs/api.md "Conventions").

One row per (scope, key): `scope` is the SHA-256 of the admin key (or operator token) that sent the request, so two
keys never see each other's answers; `network_id` is the key's network (none for the operator's network creation).
A row is claimed (`status_code` NULL) before the write runs, so a concurrent duplicate collides on the UNIQUE
constraint instead of running twice; it is completed with the answer, or deleted when the write was refused. The
daily `outbox_cleanup` job deletes rows older than the retention (`ADMIN_IDEMPOTENCY_RETENTION`, 24 hours).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

admin_idempotency_keys = Table(
    "admin_idempotency_keys",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=True),
    Column("scope", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # None: the first request is still running
    Column("response", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("scope", "key"),
    Index("ix_admin_idempotency_keys_created_at", "created_at"),
)
