"""Web pages: console users (administrators and partner owners), browser sessions and failed logins.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=True),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_console_users_network_id_networks"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_console_users_partner_id_partners"),
        sa.UniqueConstraint("network_id", "login", name="uq_console_users_network_id_login"),
        sa.CheckConstraint("role IN ('administrator', 'owner')", name="ck_console_users_role_known"),
        # an administrator belongs to the network, an owner to one partner
        sa.CheckConstraint("(role = 'owner') = (partner_id IS NOT NULL)", name="ck_console_users_owner_partner"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=True),
        sa.Column("outlet_id", sa.BigInteger(), nullable=True),
        sa.Column("terminal_id", sa.BigInteger(), nullable=True),
        sa.Column("cashier_id", sa.BigInteger(), nullable=True),
        sa.Column("console_user_id", sa.BigInteger(), nullable=True),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_web_sessions_network_id_networks"),
        sa.ForeignKeyConstraint(["cashier_id"], ["cashiers.id"], name="fk_web_sessions_cashier_id_cashiers"),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name="fk_web_sessions_terminal_id_terminals"),
        sa.ForeignKeyConstraint(
            ["console_user_id"], ["console_users.id"], name="fk_web_sessions_console_user_id_console_users"
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_web_sessions_member_id_members"),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
        sa.CheckConstraint(
            "role IN ('administrator', 'owner', 'cashier', 'member')", name="ck_web_sessions_role_known"
        ),
    )
    op.create_index("ix_web_sessions_cashier_id", "web_sessions", ["cashier_id"])
    op.create_index("ix_web_sessions_console_user_id", "web_sessions", ["console_user_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("failed_at", _TS, nullable=False),
    )
    op.create_index("ix_login_failures_scope_failed_at", "login_failures", ["scope", "failed_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_scope_failed_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_web_sessions_console_user_id", table_name="web_sessions")
    op.drop_index("ix_web_sessions_cashier_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("console_users")
