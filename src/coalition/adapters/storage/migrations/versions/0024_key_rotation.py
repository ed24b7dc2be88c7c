"""Keys that rotate and expire: an optional expiry for the admin key and for terminal keys, and the keys a rotation
replaced, each valid until its grace period ends (stored, like every key, only as a SHA-256 hash).

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("networks", sa.Column("admin_key_expires_at", _TS, nullable=True))  # None: never
    op.add_column("terminals", sa.Column("key_expires_at", _TS, nullable=True))  # None: never
    op.create_table(
        "retired_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("terminal_id", _ID, nullable=True),  # None: the network's admin key
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=True),
        sa.Column("valid_until", _TS, nullable=False),
        sa.Column("retired_at", _TS, nullable=False),
        sa.Column("rotation_key_hash", sa.String(64), nullable=True),  # the rotation's Idempotency-Key, hashed
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_retired_keys_network_id_networks"),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name="fk_retired_keys_terminal_id_terminals"),
        sa.UniqueConstraint("key_hash", name="uq_retired_keys_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("retired_keys")
    # in place on both engines: copying a table on SQLite would trip the keys that refer to it
    op.execute("ALTER TABLE terminals DROP COLUMN key_expires_at")
    op.execute("ALTER TABLE networks DROP COLUMN admin_key_expires_at")
