"""File imports (issue 17, docs/files.md): one row per file taken into a network, by the digest of its bytes, with
the result it answered, so that the same file a second time changes nothing and answers the same."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

file_imports = Table(
    "file_imports",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("kind", String(32), nullable=False),  # what the file holds: members (purchases, price lists later)
    Column("digest", String(64), nullable=False),  # SHA-256 of the file's bytes, hex
    Column("filename", String(255), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("result", Text, nullable=False),  # the answer as JSON, replayed to the same file
    Column("imported_at", Timestamp, nullable=False),
    UniqueConstraint("network_id", "kind", "digest"),
)
