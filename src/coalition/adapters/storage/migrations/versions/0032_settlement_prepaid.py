"""Settlement of prepaid money (issue 14): a statement shows money apart from points and gifts.

- `settlement_money_lines`: a partner's prepaid money of a closed statement (top-ups and gift cards sold, wallet and
  gift-card money accepted, the refunds of each, gift-card breakage returned to it) and its net; a partner through
  whose outlets no money moved has none. On PostgreSQL, like the other statement tables, never changed once written.
- `settlement_statements.node_wallets_minor`, `node_gift_cards_minor`, `node_breakage_kept_minor`,
  `node_funded_minor`: what the node's money position is made of. `node_net_minor` stays the points-and-gifts part,
  so the statements closed before are read exactly as they were.

Revision ID: 0032
Revises: 0029 (the wallets' 0030 and the gift cards' 0031 come first at merge: re-point this to 0031)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

_NODE_COLUMNS = ("node_wallets_minor", "node_gift_cards_minor", "node_breakage_kept_minor", "node_funded_minor")
_AMOUNTS = (
    "top_ups_minor",
    "top_ups_refunded_minor",
    "gift_cards_sold_minor",
    "gift_cards_sold_refunded_minor",
    "wallet_accepted_minor",
    "wallet_refunded_minor",
    "gift_cards_accepted_minor",
    "gift_cards_refunded_minor",
    "breakage_minor",
    "net_minor",
)
_NET = (
    "net_minor = wallet_accepted_minor - wallet_refunded_minor + gift_cards_accepted_minor"
    " - gift_cards_refunded_minor - top_ups_minor + top_ups_refunded_minor - gift_cards_sold_minor"
    " + gift_cards_sold_refunded_minor + breakage_minor"
)


def upgrade() -> None:
    for column in _NODE_COLUMNS:  # in place on both engines (a constant default): old statements read 0
        op.add_column("settlement_statements", sa.Column(column, sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "settlement_money_lines",
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _AMOUNTS),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("statement_id", "partner_id", name="pk_settlement_money_lines"),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["settlement_statements.id"],
            name="fk_settlement_money_lines_statement_id_settlement_statements",
        ),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_settlement_money_lines_partner_id_partners"),
        sa.CheckConstraint(_NET, name="ck_settlement_money_lines_net"),
    )
    if op.get_bind().dialect.name == "postgresql":  # a closed statement is never edited: corrections go forward
        op.execute(
            "CREATE TRIGGER settlement_money_lines_unchanged BEFORE UPDATE OR DELETE ON settlement_money_lines "
            "FOR EACH ROW EXECUTE FUNCTION coalition_refuse_change();"
        )


def downgrade() -> None:
    op.drop_table("settlement_money_lines")
    for column in reversed(_NODE_COLUMNS):
        op.execute(f"ALTER TABLE settlement_statements DROP COLUMN {column}")
