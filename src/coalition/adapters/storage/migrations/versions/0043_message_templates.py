"""Customer messages (issue 16): `message_templates` (a network's own texts per kind, channel and language),
`message_opt_outs` (a member's unsubscribe from one kind on one channel) and `server_secrets` (the unsubscribe links'
key when COALITION_MESSAGE_SECRET is unset).

Revision ID: 0043
Revises: 0042 (the head on the messages branch; the outbox's 0040 and others are chained in at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_KINDS = "('thank_you', 'welcome', 'points_expiring', 'gift_granted', 'balance_threshold', 'birthday', 'campaign')"


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(f"kind IN {_KINDS}", name="ck_message_templates_kind"),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_message_templates_channel"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_message_templates_network_id_networks"),
        sa.PrimaryKeyConstraint("network_id", "kind", "channel", "language", name="pk_message_templates"),
    )
    op.create_table(
        "message_opt_outs",
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(f"kind IN {_KINDS}", name="ck_message_opt_outs_kind"),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_message_opt_outs_channel"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_message_opt_outs_member_id_members"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_message_opt_outs_network_id_networks"),
        sa.PrimaryKeyConstraint("member_id", "kind", "channel", name="pk_message_opt_outs"),
    )
    op.create_index("ix_message_opt_outs_network_id", "message_opt_outs", ["network_id"])
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_server_secrets"),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
    op.drop_index("ix_message_opt_outs_network_id", table_name="message_opt_outs")
    op.drop_table("message_opt_outs")
    op.drop_table("message_templates")
