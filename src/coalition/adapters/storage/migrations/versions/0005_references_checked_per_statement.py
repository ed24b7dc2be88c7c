"""On PostgreSQL, the purchase path's references are checked once per statement instead of by row-level foreign keys.

A foreign key checks each new row with its own lookup and takes a KEY SHARE lock on the row it references. On the
purchase path many of those are rows every purchase shares — the network, the outlet, the terminal, the settlement
node's accounts — so every purchase wrote a lock into the same few tuples (MultiXacts under concurrency), and a
batch of 1,000 purchases ran ~15,000 single-row lookups. Here each table of the purchase path gets one
statement-level trigger that checks all of a statement's new rows with one join and locks nothing; the postings
trigger also takes over migration 0002's check that postings join only a ledger transaction of the same database
transaction. Measured (docs/benchmarks.md): the batch path went from ~8,200 to ~9,700-10,400 purchases/s; replacing
the postings' foreign keys alone gave ~8,200. A single purchase now runs six more trigger functions, within the
noise of its benchmark.

That is as strong as the foreign keys it replaces only if a referenced row can never disappear or change its key,
so the referenced tables refuse DELETE, TRUNCATE and a change of their key columns (nothing in Coalition deletes
them: outlets, terminals and cards are deactivated or blocked, never removed), and the referencing tables refuse a
change of a reference column. SQLite keeps its foreign keys.

The sum-to-zero check at commit runs one query per ledger transaction instead of two.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import NamedTuple

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


class Reference(NamedTuple):  # not a dataclass: Alembic loads this module outside sys.modules
    columns: tuple[str, ...]
    table: str
    key: tuple[str, ...]
    constraint: str  # the foreign key this reference replaces


def _ref(table: str, column: str, target: str, key: str = "id") -> Reference:
    return Reference((column,), target, (key,), f"fk_{table}_{column}_{target}")


# table written on the purchase path -> the references its statement trigger checks
HOT_REFERENCES: dict[str, tuple[Reference, ...]] = {
    "ledger_transactions": (
        _ref("ledger_transactions", "network_id", "networks"),
        _ref("ledger_transactions", "outlet_id", "outlets"),
        _ref("ledger_transactions", "reverses_tx_id", "ledger_transactions"),
    ),
    "postings": (
        _ref("postings", "tx_id", "ledger_transactions"),
        Reference(("account_id", "asset"), "accounts", ("id", "asset"), "fk_postings_account_asset"),
    ),
    "lots": (_ref("lots", "account_id", "accounts"), _ref("lots", "tx_id", "ledger_transactions")),
    "lot_takes": (_ref("lot_takes", "tx_id", "ledger_transactions"), _ref("lot_takes", "lot_id", "lots")),
    "purchases": (
        _ref("purchases", "network_id", "networks"),
        _ref("purchases", "outlet_id", "outlets"),
        _ref("purchases", "terminal_id", "terminals"),
        _ref("purchases", "member_id", "members"),
        _ref("purchases", "card_id", "cards"),
        _ref("purchases", "tx_id", "ledger_transactions"),
    ),
    "purchase_lines": (_ref("purchase_lines", "purchase_id", "purchases"),),
    "idempotency_keys": (_ref("idempotency_keys", "terminal_id", "terminals"),),
}


def _referenced_keys() -> dict[str, tuple[str, ...]]:
    keys: dict[str, set[str]] = {}
    for references in HOT_REFERENCES.values():
        for reference in references:
            keys.setdefault(reference.table, set()).update(reference.key)
    return {table: tuple(sorted(columns)) for table, columns in sorted(keys.items())}


def _check_function(table: str, references: tuple[Reference, ...]) -> str:
    # LATERAL ... LIMIT 1 keeps each lookup an index probe: a plain join may be planned (once, for the trigger's
    # life in a session) as a hash join that reads the whole referenced table on every statement.
    joins, conditions = [], []
    for number, reference in enumerate(references):
        alias = f"r{number}"
        on = " AND ".join(f"r.{k} = n.{c}" for c, k in zip(reference.columns, reference.key, strict=True))
        joins.append(
            f"LEFT JOIN LATERAL (SELECT r.xmin AS creator FROM {reference.table} r WHERE {on} LIMIT 1) {alias} ON true"
        )
        present = " AND ".join(f"n.{c} IS NOT NULL" for c in reference.columns)
        conditions.append(
            (
                f"{present} AND {alias}.creator IS NULL",
                f"refers to a row that does not exist ({', '.join(reference.columns)} -> {reference.table})",
            )
        )
    if table == "postings":  # replaces migration 0002's postings_join_new_transactions in the same pass
        conditions.append(
            (
                "r0.creator <> pg_current_xact_id()::xid",
                "postings may join only a ledger transaction created in the same database transaction",
            )
        )
    cases = " ".join(f"WHEN {condition} THEN '{message}'" for condition, message in conditions)
    return f"""
CREATE FUNCTION coalition_{table}_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE refused text;
BEGIN
  SELECT CASE {cases} END INTO refused
    FROM new_rows n {" ".join(joins)}
   WHERE {" OR ".join(f"({condition})" for condition, _ in conditions)} LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'insert into {table} refused: %', refused USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER {table}_references AFTER INSERT ON {table}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION coalition_{table}_references();
"""


def _reference_columns_fixed(table: str, references: tuple[Reference, ...]) -> str:
    columns = sorted({c for reference in references for c in reference.columns})
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return (
        f"CREATE TRIGGER {table}_references_fixed BEFORE UPDATE OF {', '.join(columns)} ON {table} "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION coalition_refuse_key_change();\n"
    )


def _referenced_rows_kept(table: str, key: tuple[str, ...]) -> str:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in key)
    return f"""
CREATE TRIGGER {table}_rows_kept BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION coalition_refuse_removal();
CREATE TRIGGER {table}_not_truncated BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION coalition_refuse_removal();
CREATE TRIGGER {table}_key_fixed BEFORE UPDATE OF {", ".join(key)} ON {table}
  FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION coalition_refuse_key_change();
"""


# The per-transaction sum-to-zero check of migration 0002 in one query instead of two: it runs once per ledger
# transaction at commit, so on a batch it is a tenth of PostgreSQL's work per purchase.
_ONE_QUERY_BALANCE_CHECK = """
CREATE OR REPLACE FUNCTION coalition_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE posting_count bigint;
DECLARE unbalanced text;
BEGIN
  SELECT sum(n), min(asset || ' sums to ' || total) FILTER (WHERE total <> 0) INTO posting_count, unbalanced
    FROM (SELECT asset, count(*) AS n, sum(amount) AS total FROM postings WHERE tx_id = NEW.id GROUP BY asset) s;
  IF coalesce(posting_count, 0) < 2 THEN
    RAISE EXCEPTION 'ledger transaction % has % postings; it needs at least two', NEW.id, coalesce(posting_count, 0)
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'ledger transaction % does not balance: %', NEW.id, unbalanced
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;
"""

_TWO_QUERY_BALANCE_CHECK = """
CREATE OR REPLACE FUNCTION coalition_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE unbalanced record;
DECLARE posting_count bigint;
BEGIN
  SELECT count(*) INTO posting_count FROM postings WHERE tx_id = NEW.id;
  IF posting_count < 2 THEN
    RAISE EXCEPTION 'ledger transaction % has % postings; it needs at least two', NEW.id, posting_count
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  SELECT asset, sum(amount) AS total INTO unbalanced
    FROM postings WHERE tx_id = NEW.id GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not balance: % sums to %', NEW.id, unbalanced.asset, unbalanced.total
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;
"""

_GUARD_FUNCTIONS = """
CREATE FUNCTION coalition_refuse_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % refused: ledger and purchase rows refer to its rows, which are kept for good',
    TG_OP, TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
END $$;
CREATE FUNCTION coalition_refuse_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'changing a key or reference column of % refused', TG_TABLE_NAME
    USING ERRCODE = 'foreign_key_violation';
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = [
        _ONE_QUERY_BALANCE_CHECK,
        _GUARD_FUNCTIONS,
        "DROP TRIGGER postings_join_new_transactions ON postings;\n",
    ]
    for table, key in _referenced_keys().items():
        statements.append(_referenced_rows_kept(table, key))
    for table, references in HOT_REFERENCES.items():
        statements.extend(f"ALTER TABLE {table} DROP CONSTRAINT {r.constraint};\n" for r in references)
        statements.append(_check_function(table, references))
        statements.append(_reference_columns_fixed(table, references))
    op.execute("".join(statements))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = []
    for table, references in HOT_REFERENCES.items():
        statements.append(f"DROP TRIGGER {table}_references_fixed ON {table};\n")
        statements.append(f"DROP TRIGGER {table}_references ON {table};\n")
        statements.append(f"DROP FUNCTION coalition_{table}_references();\n")
        for r in references:
            statements.append(
                f"ALTER TABLE {table} ADD CONSTRAINT {r.constraint} FOREIGN KEY ({', '.join(r.columns)}) "
                f"REFERENCES {r.table} ({', '.join(r.key)});\n"
            )
    for table in _referenced_keys():
        for trigger in ("rows_kept", "not_truncated", "key_fixed"):
            statements.append(f"DROP TRIGGER {table}_{trigger} ON {table};\n")
    statements.append(
        "CREATE TRIGGER postings_join_new_transactions AFTER INSERT ON postings "
        "REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT "
        "EXECUTE FUNCTION coalition_postings_join_new_transactions();\n"
    )
    statements.append(_TWO_QUERY_BALANCE_CHECK)
    statements.append("DROP FUNCTION coalition_refuse_key_change();\nDROP FUNCTION coalition_refuse_removal();\n")
    op.execute("".join(statements))
