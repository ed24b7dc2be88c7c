"""The admin API's idempotency records keep no secret in clear: `key` (the raw Idempotency-Key) becomes `key_hash`
(its SHA-256), and every stored answer is sealed under a key derived from the raw Idempotency-Key
(application/replay_sealing.py). Records already there are converted in place, so a retry across the upgrade still
replays its answer and no live credential stays readable.

Revision ID: 0048
Revises: 0047
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coalition.application.replay_sealing import idempotency_key_digest, seal

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

_TABLE = "admin_idempotency_keys"


def upgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("key_hash", sa.String(64), nullable=True))
    connection = op.get_bind()
    records = sa.table(
        _TABLE,
        sa.column("id", sa.BigInteger()),
        sa.column("scope", sa.String()),
        sa.column("key", sa.String()),
        sa.column("key_hash", sa.String()),
        sa.column("request_hash", sa.String()),
        sa.column("response", sa.Text()),
    )
    rows = connection.execute(
        sa.select(records.c.id, records.c.scope, records.c.key, records.c.request_hash, records.c.response)
    ).all()
    for row in rows:
        sealed = (
            None
            if row.response is None
            else seal(row.response, idempotency_key=row.key, scope=row.scope, request_hash=row.request_hash)
        )
        connection.execute(
            records.update()
            .where(records.c.id == row.id)
            .values(key_hash=idempotency_key_digest(row.key), response=sealed)
        )
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_constraint("uq_admin_idempotency_keys_scope_key", type_="unique")
        batch.drop_column("key")
        batch.alter_column("key_hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_admin_idempotency_keys_scope_key_hash", ["scope", "key_hash"])


def downgrade() -> None:
    # The raw keys are gone: the records (a 24-hour cache of answers) are dropped with them.
    op.execute(sa.text(f"DELETE FROM {_TABLE}"))
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_constraint("uq_admin_idempotency_keys_scope_key_hash", type_="unique")
        batch.drop_column("key_hash")
        batch.add_column(sa.Column("key", sa.String(200), nullable=False))
        batch.create_unique_constraint("uq_admin_idempotency_keys_scope_key", ["scope", "key"])
