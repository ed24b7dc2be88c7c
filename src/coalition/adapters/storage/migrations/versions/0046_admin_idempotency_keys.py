"""The admin API's idempotency records (issue 17, point 5): `admin_idempotency_keys`, one row per admin key and
Idempotency-Key, claimed before the write runs (UNIQUE (scope, key): a concurrent duplicate does not run twice).

Revision ID: 0046
Revises: 0045
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_idempotency_keys",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("network_id", _ID, nullable=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_admin_idempotency_keys_network_id_networks"),
        sa.PrimaryKeyConstraint("id", name="pk_admin_idempotency_keys"),
        sa.UniqueConstraint("scope", "key", name="uq_admin_idempotency_keys_scope_key"),
    )
    op.create_index("ix_admin_idempotency_keys_created_at", "admin_idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_admin_idempotency_keys_created_at", table_name="admin_idempotency_keys")
    op.drop_table("admin_idempotency_keys")
