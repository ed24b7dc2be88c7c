"""On PostgreSQL, two of the ledger's guards cost less: the deferred sum-to-zero check of each ledger transaction,
and, in a batch, the check of its postings' references. What they check is unchanged.

- The sum-to-zero check (0002/0005) runs once per ledger transaction at commit. Its query grouped the transaction's
  postings by asset and aggregated the groups again: two aggregate nodes set up per firing, most of its cost for a
  purchase's four to eight postings. It now reads them once, ordered by asset, and sums them in the function.
  Measured in one backend (`bench`-style /proc accounting, 1,000 purchase-shaped transactions of ~5.3 postings,
  interleaved, medians of 7): 14.7 → 10.1 ms at commit; for single transactions unchanged within noise.
  The messages are those of before ("has N postings; it needs at least two", "does not balance: <asset> sums to
  <total>", the first unbalanced asset in order); the sums are numeric, as `sum()`'s were.
- The postings' reference check (0029: one pass over the statement's rows with a `NOT EXISTS` probe per reference)
  probes each distinct value once when the writer says the statement is a bulk one (`coalition.bulk_write` set to
  `on` for its database transaction: the batch path sets it). A batch's postings are ~5.3 per ledger transaction,
  so per row the same transaction and the node's accounts are probed over and over: 39.6 → 34.1 ms for a
  batch's 5,300 postings. The two forms check the same things (a probe per row or per distinct value), so the
  setting chooses how, never whether; small statements keep the per-row form, which sets up fewer nodes.

Revision ID: 0033
Revises: 0029
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

BALANCE_CHECK = """
CREATE OR REPLACE FUNCTION coalition_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE posting_count bigint := 0;
DECLARE current_asset text;
DECLARE total numeric := 0;
DECLARE unbalanced text;
DECLARE posting record;
BEGIN
  FOR posting IN SELECT asset, amount FROM postings WHERE tx_id = NEW.id ORDER BY asset LOOP
    IF posting_count > 0 AND posting.asset IS DISTINCT FROM current_asset THEN
      IF total <> 0 AND unbalanced IS NULL THEN
        unbalanced := current_asset || ' sums to ' || total;
      END IF;
      total := 0;
    END IF;
    current_asset := posting.asset;
    total := total + posting.amount;
    posting_count := posting_count + 1;
  END LOOP;
  IF total <> 0 AND unbalanced IS NULL THEN
    unbalanced := current_asset || ' sums to ' || total;
  END IF;
  IF posting_count < 2 THEN
    RAISE EXCEPTION 'ledger transaction % has % postings; it needs at least two', NEW.id, posting_count
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'ledger transaction % does not balance: %', NEW.id, unbalanced
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def _migration(file_name: str, module_name: str) -> ModuleType:
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _missing_value(reference: Any) -> str:
    """A distinct value of the new rows' reference that points nowhere (0029's `_missing`, once per value)."""
    columns = ", ".join(reference.columns)
    present = " AND ".join(f"{c} IS NOT NULL" for c in reference.columns)
    on = " AND ".join(f"r.{k} = n.{c}" for c, k in zip(reference.columns, reference.key, strict=True))
    if reference.table == "ledger_transactions":
        on += " AND r.xmin = pg_current_xact_id()::xid"
    return (
        f"EXISTS (SELECT FROM (SELECT DISTINCT {columns} FROM new_rows WHERE {present}) n "
        f"WHERE NOT EXISTS (SELECT FROM {reference.table} r WHERE {on} OFFSET 0))"
    )


def _postings_check() -> str:
    earlier = _migration("0029_cheaper_reference_checks.py", "coalition_migration_0029")
    lookups, references = earlier._references()
    table_references = references["postings"]
    problems = "\n      UNION ALL ".join(lookups._problem_query("postings", r) for r in table_references)
    per_row = "\n        OR ".join(earlier._missing("postings", r) for r in table_references)
    per_value = "\n      OR ".join(_missing_value(r) for r in table_references)
    return f"""
CREATE OR REPLACE FUNCTION coalition_postings_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE refused text;
DECLARE missing boolean;
BEGIN
  IF current_setting('coalition.bulk_write', true) = 'on' THEN
    missing := {per_value};
  ELSE
    missing := EXISTS (SELECT FROM new_rows n WHERE {per_row});
  END IF;
  IF missing THEN
    SELECT problem INTO refused FROM (
      {problems}
    ) problems(problem) LIMIT 1;
    RAISE EXCEPTION 'insert into postings refused: %', refused USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BALANCE_CHECK + _postings_check())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    earlier = _migration("0029_cheaper_reference_checks.py", "coalition_migration_0029")
    lookups, references = earlier._references()
    first = _migration("0005_references_checked_per_statement.py", "coalition_migration_0005")
    op.execute(first._ONE_QUERY_BALANCE_CHECK + earlier._check_function("postings", references["postings"], lookups))
