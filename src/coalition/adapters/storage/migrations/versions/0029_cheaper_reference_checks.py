"""On PostgreSQL, the purchase path's references are checked more cheaply: two tables get real foreign keys, the
other five a per-statement check that PostgreSQL sets up in a fraction of the time.

Profiled with `perf` on PostgreSQL's backends under single purchases (16 at once): the seven per-statement checks
of migrations 0005/0010 took ~30 % of the backends' CPU (~0.25 ms a purchase), nearly all of it in setting up their
queries (a LATERAL lookup, a DISTINCT and a LIMIT per reference, joined by UNION ALL), not in running them. Measured
per INSERT in a loop inside one backend (`bench/cpu.py`-style /proc accounting), three references each:

| check | no row | one row | per row of a 1,000-row statement |
|---|---:|---:|---:|
| none | 0.5 µs | 2.5 µs | 0.7–1.0 µs |
| foreign keys (row-level, KEY SHARE lock on the referenced row) | 1.5 µs | 10.5 µs | 8.7 µs |
| CHECK calling a PL/pgSQL lookup / a BEFORE ROW trigger | – | 9–12 / 8.5 µs | 6.0–6.7 µs |
| per statement, 0010's form | 9 µs | 14 µs | 2.0–2.3 µs |
| per statement, one scan of the new rows with a NOT EXISTS per reference (here) | 5 µs | 10 µs | 2.7 µs |

So:
- `purchase_lines` and `lot_takes` get real foreign keys: their rows refer only to rows of the same purchase or of
  its member (the purchase, its ledger transaction, the member's lots), which no other purchase locks, and most
  purchases write none of them — a foreign key costs nothing then, a statement trigger still runs.
- The other five tables keep one check per statement, rewritten: one pass over the statement's new rows with a
  `NOT EXISTS` index probe per reference (`OFFSET 0` keeps each an index probe: without it PostgreSQL may hash the
  whole referenced table once the plan was made for a large statement; it may still hash the small tables of
  reference data — networks, outlets, terminals, partners — which a batch's rows share). Only when a row fails
  does the check run 0010's detailed query, to say which reference is missing. These tables refer to rows every
  purchase shares (the network, outlet, terminal, the node's and partners' accounts, the granting partner): a
  foreign key would lock those rows for every purchase (MultiXacts under concurrency; measured in migration 0005 at
  ~15 % of the batch path).
- What is checked is unchanged: no reference to a missing row, and postings only on a ledger transaction created
  in the same database transaction (so the deferred sum-to-zero check, kept, sees all of them). Referenced rows
  still cannot be deleted or re-keyed (0005's triggers).

Measured on the purchase path (docs/benchmarks.md, 2026-12-06): the checks' share of PostgreSQL's CPU under single
purchases fell from ~30 % to ~22 %, and the backends' CPU per purchase by ~13 % (0.71 to 0.62 ms); batches of 1,000
are unchanged (~0.07 ms a purchase).

SQLite keeps its foreign keys.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# tables whose references move to real foreign keys (their 0005 reference names are kept for the constraints)
FOREIGN_KEY_TABLES = ("purchase_lines", "lot_takes")
# small tables of reference data, which a large statement may hash whole instead of probing once per row
REFERENCE_DATA = frozenset({"networks", "outlets", "terminals", "partners"})


def _migration(file_name: str, module_name: str) -> ModuleType:
    """An earlier migration, for the list of references and the detailed check this one keeps for error messages."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _references() -> tuple[ModuleType, dict[str, tuple[Any, ...]]]:
    """0010's module, and the references checked today (0005's list with 0018's granting partner)."""
    earlier = _migration("0005_references_checked_per_statement.py", "coalition_migration_0005")
    lookups = _migration("0010_checks_per_distinct_value.py", "coalition_migration_0010")
    references = dict(earlier.HOT_REFERENCES)
    references["lots"] = (*references["lots"], earlier._ref("lots", "granting_partner_id", "partners"))
    return lookups, references


def _missing(table: str, reference: Any) -> str:
    """A new row `n` whose reference points nowhere (or, for postings, at another database transaction's entry)."""
    present = " AND ".join(f"n.{c} IS NOT NULL" for c in reference.columns)
    on = " AND ".join(f"r.{k} = n.{c}" for c, k in zip(reference.columns, reference.key, strict=True))
    if table == "postings" and reference.table == "ledger_transactions":
        on += " AND r.xmin = pg_current_xact_id()::xid"
    fence = "" if reference.table in REFERENCE_DATA else " OFFSET 0"
    return f"({present} AND NOT EXISTS (SELECT FROM {reference.table} r WHERE {on}{fence}))"


def _check_function(table: str, references: tuple[Any, ...], lookups: ModuleType) -> str:
    problems = "\n      UNION ALL ".join(lookups._problem_query(table, reference) for reference in references)
    missing = "\n        OR ".join(_missing(table, reference) for reference in references)
    return f"""
CREATE OR REPLACE FUNCTION coalition_{table}_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE refused text;
BEGIN
  IF EXISTS (SELECT FROM new_rows n WHERE {missing}) THEN
    SELECT problem INTO refused FROM (
      {problems}
    ) problems(problem) LIMIT 1;
    RAISE EXCEPTION 'insert into {table} refused: %', refused USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def _foreign_key(table: str, reference: Any) -> str:
    # NOT VALID, then VALIDATE: the existing rows are checked without blocking writes to the referenced table
    return (
        f"ALTER TABLE {table} ADD CONSTRAINT {reference.constraint} FOREIGN KEY ({', '.join(reference.columns)}) "
        f"REFERENCES {reference.table} ({', '.join(reference.key)}) NOT VALID;\n"
        f"ALTER TABLE {table} VALIDATE CONSTRAINT {reference.constraint};\n"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    lookups, references = _references()
    statements = []
    for table, table_references in references.items():
        if table in FOREIGN_KEY_TABLES:
            statements.append(f"DROP TRIGGER {table}_references ON {table};\n")
            statements.append(f"DROP FUNCTION coalition_{table}_references();\n")
            statements.extend(_foreign_key(table, reference) for reference in table_references)
        else:
            statements.append(_check_function(table, table_references, lookups))
    op.execute("".join(statements))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    lookups, references = _references()
    statements = []
    for table, table_references in references.items():
        statements.append(str(lookups._check_function(table, table_references)))
        if table in FOREIGN_KEY_TABLES:
            statements.extend(f"ALTER TABLE {table} DROP CONSTRAINT {r.constraint};\n" for r in table_references)
            statements.append(
                f"CREATE TRIGGER {table}_references AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION coalition_{table}_references();\n"
            )
    op.execute("".join(statements))
