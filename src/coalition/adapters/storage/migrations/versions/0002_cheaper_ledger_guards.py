"""Cheaper ledger guards on PostgreSQL, and a one-round-trip locked read of a member's points.

The sum-to-zero check moves from one deferred trigger per posting to one per ledger transaction (a purchase has four
postings; a batch of 1,000 purchases had 4,000 checks at commit). So that no posting can join a transaction after
its check was queued, a statement-level trigger refuses postings whose transaction was not created by the current
database transaction.

`coalition_member_points` locks a member and then reads their balance and lots in a second statement: under READ
COMMITTED that statement takes a new snapshot, so it sees the lots a concurrent purchase committed while we waited.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UPGRADE = """
DROP TRIGGER IF EXISTS postings_balanced ON postings;
DROP FUNCTION IF EXISTS coalition_check_balanced();

CREATE FUNCTION coalition_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION coalition_check_transaction_balanced();

CREATE FUNCTION coalition_postings_join_new_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE late_tx bigint;
BEGIN
  SELECT t.id INTO late_tx FROM new_postings p JOIN ledger_transactions t ON t.id = p.tx_id
   WHERE t.xmin <> pg_current_xact_id()::xid LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'postings may join only a ledger transaction created in the same database transaction (tx %)',
      late_tx USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER postings_join_new_transactions AFTER INSERT ON postings
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT
  EXECUTE FUNCTION coalition_postings_join_new_transactions();

CREATE FUNCTION coalition_member_points(p_network_id bigint, p_values text[])
RETURNS TABLE (member_id bigint, kind varchar, account_id bigint, card_id bigint, number varchar, state varchar,
               value varchar, balance bigint, lifetime_spend_minor bigint, lot_id bigint, remaining bigint,
               expires_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM 1 FROM identifiers i JOIN members m ON m.id = i.member_id JOIN member_balances b ON b.member_id = m.id
   WHERE i.network_id = p_network_id AND i.value = ANY(p_values) ORDER BY m.id FOR UPDATE OF m, b;
  RETURN QUERY
    SELECT m.id, m.kind, b.account_id, c.id, c.number, c.state, i.value, b.balance, m.lifetime_spend_minor,
           l.id, l.remaining, l.expires_at
      FROM identifiers i
      JOIN members m ON m.id = i.member_id
      JOIN member_balances b ON b.member_id = m.id
      LEFT JOIN cards c ON c.id = i.card_id
      LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
     WHERE i.network_id = p_network_id AND i.value = ANY(p_values);
END $$;
"""

_DOWNGRADE = """
DROP FUNCTION IF EXISTS coalition_member_points(bigint, text[]);
DROP TRIGGER IF EXISTS postings_join_new_transactions ON postings;
DROP FUNCTION IF EXISTS coalition_postings_join_new_transactions();
DROP TRIGGER IF EXISTS ledger_transactions_balanced ON ledger_transactions;
DROP FUNCTION IF EXISTS coalition_check_transaction_balanced();

CREATE FUNCTION coalition_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE unbalanced record;
BEGIN
  SELECT asset, sum(amount) AS total INTO unbalanced
    FROM postings WHERE tx_id = NEW.tx_id GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not balance: % sums to %', NEW.tx_id, unbalanced.asset, unbalanced.total
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION coalition_check_balanced();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_DOWNGRADE)
