"""Settlement statements: a closed period's result per partner, kept unchanged for good (issue 4).

A network's periods follow one another without gaps: each statement starts where the previous one ended, and the
unique (network, start) and (network, number) keys make two closes of the same period produce one statement.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # the network's settlement fees (none by default): per partner transaction, and a share of the value granted
    op.add_column("networks", sa.Column("settlement_fee_minor", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("networks", sa.Column("settlement_fee_bp", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "settlement_statements",
        sa.Column("id", _ID, autoincrement=True),
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_start", _TS, nullable=False),
        sa.Column("period_end", _TS, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("node_net_minor", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_settlement_statements"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_settlement_statements_network_id_networks"),
        sa.UniqueConstraint("network_id", "number", name="uq_settlement_statements_network_id_number"),
        sa.UniqueConstraint("network_id", "period_start", name="uq_settlement_statements_network_id_period_start"),
        sa.CheckConstraint("period_end > period_start", name="ck_settlement_statements_period"),
    )
    op.create_table(
        "settlement_lines",
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_name", sa.String(200), nullable=False),
        sa.Column("granted_minor", sa.BigInteger(), nullable=False),
        sa.Column("granted_refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("honoured_minor", sa.BigInteger(), nullable=False),
        sa.Column("honoured_refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("fees_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("statement_id", "partner_id", name="pk_settlement_lines"),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["settlement_statements.id"],
            name="fk_settlement_lines_statement_id_settlement_statements",
        ),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_settlement_lines_partner_id_partners"),
        sa.CheckConstraint(
            "net_minor = honoured_minor - honoured_refunded_minor - granted_minor + granted_refunded_minor"
            " - fees_minor",
            name="ck_settlement_lines_net",
        ),
    )
    if op.get_bind().dialect.name == "postgresql":  # a closed statement is never edited: corrections go forward
        op.execute(
            "CREATE TRIGGER settlement_statements_unchanged BEFORE UPDATE OR DELETE ON settlement_statements "
            "FOR EACH ROW EXECUTE FUNCTION coalition_refuse_change();\n"
            "CREATE TRIGGER settlement_lines_unchanged BEFORE UPDATE OR DELETE ON settlement_lines "
            "FOR EACH ROW EXECUTE FUNCTION coalition_refuse_change();"
        )


def downgrade() -> None:
    op.drop_table("settlement_lines")
    op.drop_table("settlement_statements")
    with op.batch_alter_table("networks") as batch:
        batch.drop_column("settlement_fee_bp")
        batch.drop_column("settlement_fee_minor")
