"""On PostgreSQL, the purchase path's references are looked up once per distinct value of a statement's new rows.

Migration 0005's triggers look up the referenced row of every new row. A batch's rows share most of their
references — its postings four to a ledger transaction and most of them on a few node accounts; its purchases one
network, outlet and terminal — so looking up each distinct value once does a fraction of the work. Measured on a
batch of 1,000 purchases (1,000 ledger transactions, 4,000 postings), one connection, 4 M postings stored: the
postings insert took ~45 ms with 0005's trigger, ~21 ms with this one and ~20 ms with no trigger at all; the
ledger transactions insert went from ~10 to ~6 ms. A single purchase is unchanged. The conditions are 0005's: no
reference to a missing row, and postings only on a ledger transaction of the same database transaction.

Tried and left out: checking the sum-to-zero of every ledger transaction of a database transaction in one query
at its first deferred firing. Telling the later firings apart from checks that fire before the ids are noted
(under `SET CONSTRAINTS ... IMMEDIATE`) took a setting written or searched per firing, which cost about what the
one-query-per-transaction check it replaced does (~15 against ~10-16 ms per 1,000 at commit).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _migration_0005() -> ModuleType:
    """0005 holds the list of references these triggers check and the functions a downgrade restores."""
    path = Path(__file__).with_name("0005_references_checked_per_statement.py")
    spec = importlib.util.spec_from_file_location("coalition_migration_0005", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SAME_TRANSACTION = "postings may join only a ledger transaction created in the same database transaction"


def _problem_query(table: str, reference: Any) -> str:
    """The rows of one reference that point nowhere, looked up once per distinct value of the new rows.

    LATERAL ... LIMIT 1 keeps each lookup an index probe whatever the planner guesses of the transition table."""
    columns = ", ".join(reference.columns)
    on = " AND ".join(f"r.{k} = n.{c}" for c, k in zip(reference.columns, reference.key, strict=True))
    present = " AND ".join(f"n.{c} IS NOT NULL" for c in reference.columns)
    missing = f"refers to a row that does not exist ({columns} -> {reference.table})"
    if table == "postings" and reference.table == "ledger_transactions":
        problem = f"CASE WHEN r.creator IS NULL THEN '{missing}' ELSE '{_SAME_TRANSACTION}' END"
        wrong = "(r.creator IS NULL OR r.creator <> pg_current_xact_id()::xid)"
    else:
        problem, wrong = f"'{missing}'", "r.creator IS NULL"
    return (
        f"SELECT {problem} FROM (SELECT DISTINCT {columns} FROM new_rows) n "
        f"LEFT JOIN LATERAL (SELECT r.xmin AS creator FROM {reference.table} r WHERE {on} LIMIT 1) r ON true "
        f"WHERE {present} AND {wrong}"
    )


def _check_function(table: str, references: tuple[Any, ...]) -> str:
    problems = "\n    UNION ALL ".join(_problem_query(table, reference) for reference in references)
    return f"""
CREATE OR REPLACE FUNCTION coalition_{table}_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE refused text;
BEGIN
  SELECT problem INTO refused FROM (
    {problems}
  ) problems(problem) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'insert into {table} refused: %', refused USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    earlier = _migration_0005()
    op.execute("".join(_check_function(table, refs) for table, refs in earlier.HOT_REFERENCES.items()))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    earlier = _migration_0005()
    statements = []
    for table, references in earlier.HOT_REFERENCES.items():
        statements.append(f"DROP TRIGGER {table}_references ON {table};\n")
        statements.append(f"DROP FUNCTION coalition_{table}_references();\n")
        statements.append(earlier._check_function(table, references))
    op.execute("".join(statements))
