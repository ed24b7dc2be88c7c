"""The admin API's idempotency records (issue 17, point 5; docs/api.md "Conventions").

One row per (scope, key_hash): `key_hash` is the SHA-256 of the Idempotency-Key, never the key (migration 0048);
`response` the answer sealed under a key derived from the raw Idempotency-Key (application/replay_sealing.py), so
the database alone reads neither the key nor the secrets an answer may show once. `scope` is the SHA-256 of the
admin key (or operator token) that sent the request, so two keys never see each other's answers; `network_id` is
the key's network (none for the operator's network creation).
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
    Column("key_hash", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # None: the first request is still running
    Column("response", Text, nullable=True),  # "v1:" + base64(nonce, AES-256-GCM ciphertext and tag)
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("scope", "key_hash"),
    Index("ix_admin_idempotency_keys_created_at", "created_at"),
)
