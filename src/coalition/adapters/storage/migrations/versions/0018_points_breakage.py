"""Points breakage per network: lots know who granted them, and statements show the value released back (issue 4).

- `lots.granting_partner_id`: the partner whose outlet granted the lot's points (NULL: the node, for the bonuses a
  job grants). Existing lots take the partner of the outlet of the transaction that created them — a purchase's or
  a welcome bonus's outlet; birthday bonuses have no outlet and stay the node's. A lot a refund created for the
  points its purchase had spent takes the grantor of the lot the purchase took the most points from (new refunds
  split them exactly, by grantor). On PostgreSQL the reference is checked per statement like the lots' other
  references (migration 0005, with 0010's lookups), partners are kept for good, and a lot's grantor never changes;
  SQLite keeps a foreign key.
- `networks.points_breakage` (`kept`, the default, `returned` or `shared`) and `points_breakage_share_bp` (the
  granting partner's share under `shared`).
- `settlement_lines.breakage_minor`: the value of expired points the node posted back to the partner; the line's
  net includes it.
- PostgreSQL's `coalition_member_points` also returns each lot's grantor.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_BACKFILL_GRANTORS = (
    "UPDATE lots SET granting_partner_id = (SELECT o.partner_id FROM ledger_transactions t "
    "JOIN outlets o ON o.id = t.outlet_id WHERE t.id = lots.tx_id)"
)
_BACKFILL_REFUNDED_GRANTORS = (
    "UPDATE lots SET granting_partner_id = (SELECT spent.granting_partner_id FROM ledger_transactions t "
    "JOIN lot_takes k ON k.tx_id = t.reverses_tx_id JOIN lots spent ON spent.id = k.lot_id "
    "WHERE t.id = lots.tx_id ORDER BY k.points DESC, spent.id LIMIT 1) "
    "WHERE EXISTS (SELECT 1 FROM ledger_transactions t JOIN lot_takes k ON k.tx_id = t.reverses_tx_id "
    "WHERE t.id = lots.tx_id AND t.kind = 'refund')"
)

_MEMBER_POINTS = """
DROP FUNCTION coalition_member_points(bigint, text[]);
CREATE FUNCTION coalition_member_points(p_network_id bigint, p_values text[])
RETURNS TABLE (member_id bigint, kind varchar, account_id bigint, card_id bigint, number varchar, state varchar,
               value varchar, balance bigint, lifetime_spend_minor bigint, lot_id bigint, remaining bigint,
               expires_at timestamptz{grantor_column})
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM 1 FROM identifiers i JOIN member_balances b ON b.member_id = i.member_id
   WHERE i.network_id = p_network_id AND i.value = ANY(p_values) ORDER BY b.member_id FOR UPDATE OF b;
  RETURN QUERY
    SELECT m.id, m.kind, b.account_id, c.id, c.number, c.state, i.value, b.balance, m.lifetime_spend_minor,
           l.id, l.remaining, l.expires_at{grantor_value}
      FROM identifiers i
      JOIN members m ON m.id = i.member_id
      JOIN member_balances b ON b.member_id = m.id
      LEFT JOIN cards c ON c.id = i.card_id
      LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
     WHERE i.network_id = p_network_id AND i.value = ANY(p_values);
END $$;
"""

_GRANTOR_FIXED = (
    "CREATE TRIGGER lots_grantor_fixed BEFORE UPDATE OF granting_partner_id ON lots FOR EACH ROW "
    "WHEN (OLD.granting_partner_id IS DISTINCT FROM NEW.granting_partner_id) "
    "EXECUTE FUNCTION coalition_refuse_key_change();\n"
)


def _migration(file_name: str, module_name: str) -> ModuleType:
    """An earlier migration, for the references its triggers check and the functions that write them."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lots_references_check(with_grantor: bool) -> str:
    """The lots' per-statement reference check (0010's form), with or without the granting partner."""
    references_0005 = _migration("0005_references_checked_per_statement.py", "coalition_migration_0005")
    lookups_0010 = _migration("0010_checks_per_distinct_value.py", "coalition_migration_0010")
    references = references_0005.HOT_REFERENCES["lots"]
    if with_grantor:
        references = (*references, references_0005._ref("lots", "granting_partner_id", "partners"))
    partners_kept = references_0005._referenced_rows_kept("partners", ("id",)) if with_grantor else ""
    return str(lookups_0010._check_function("lots", references)) + partners_kept


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("networks", sa.Column("points_breakage", sa.String(16), nullable=False, server_default="kept"))
    op.add_column("networks", sa.Column("points_breakage_share_bp", sa.Integer(), nullable=True))
    if postgresql:
        op.add_column("lots", sa.Column("granting_partner_id", sa.BigInteger(), nullable=True))
    else:  # SQLite adds a column with a foreign key in place (a copy of the table would trip lot_takes' keys)
        op.execute("ALTER TABLE lots ADD COLUMN granting_partner_id INTEGER REFERENCES partners (id)")
    op.execute(_BACKFILL_GRANTORS)
    op.execute(_BACKFILL_REFUNDED_GRANTORS)
    with op.batch_alter_table("settlement_lines") as batch:
        batch.add_column(sa.Column("breakage_minor", sa.BigInteger(), nullable=False, server_default="0"))
        batch.drop_constraint("ck_settlement_lines_net", type_="check")
        batch.create_check_constraint(
            "ck_settlement_lines_net",
            "net_minor = honoured_minor - honoured_refunded_minor - granted_minor + granted_refunded_minor"
            " + breakage_minor - fees_minor",
        )
    if postgresql:
        op.execute(
            _lots_references_check(with_grantor=True)
            + _GRANTOR_FIXED
            + _MEMBER_POINTS.format(
                grantor_column=", granting_partner_id bigint", grantor_value=", l.granting_partner_id"
            )
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            _MEMBER_POINTS.format(grantor_column="", grantor_value="")
            + "DROP TRIGGER lots_grantor_fixed ON lots;\n"
            + "DROP TRIGGER partners_rows_kept ON partners;\n"
            + "DROP TRIGGER partners_not_truncated ON partners;\n"
            + "DROP TRIGGER partners_key_fixed ON partners;\n"
            + _lots_references_check(with_grantor=False)
        )
    with op.batch_alter_table("settlement_lines") as batch:
        batch.drop_constraint("ck_settlement_lines_net", type_="check")
        batch.create_check_constraint(
            "ck_settlement_lines_net",
            "net_minor = honoured_minor - honoured_refunded_minor - granted_minor + granted_refunded_minor"
            " - fees_minor",
        )
        batch.drop_column("breakage_minor")
    # in place on both engines: copying `networks` or `lots` on SQLite would trip the keys that refer to them
    op.execute("ALTER TABLE lots DROP COLUMN granting_partner_id")
    op.execute("ALTER TABLE networks DROP COLUMN points_breakage_share_bp")
    op.execute("ALTER TABLE networks DROP COLUMN points_breakage")
