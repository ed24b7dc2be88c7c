"""Every partner and every network's node has its PREPAID account (money in the network's currency) from the start,
so a purchase paid from a wallet reads no account: the outlet's partner's PREPAID account is cached with its other
accounts, and a cached id is always one committed here or when the partner was created (never one a purchase's own
transaction created and might roll back). The admin store creates them with each new network and partner.

- Data: the PREPAID account of each partner and each network's node that has none yet (both engines).
- PostgreSQL: `coalition_member_points_paying`, the locked read of a purchase's retry (`coalition_member_points`)
  that also returns the member's wallet of a currency and, under a daily limit only, what purchases took from it
  since a moment: the read after the lock, so the retry sees what the payment that beat it took.

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_PARTNERS = """
INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset)
SELECT p.network_id, 'partner', p.id, 'prepaid', 'money:' || n.currency
FROM partners p JOIN networks n ON n.id = p.network_id
WHERE NOT EXISTS (
  SELECT 1 FROM accounts a WHERE a.network_id = p.network_id AND a.owner_kind = 'partner' AND a.owner_id = p.id
    AND a.purpose = 'prepaid' AND a.asset = 'money:' || n.currency
)
"""

_NODES = """
INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset)
SELECT n.id, 'node', 0, 'prepaid', 'money:' || n.currency
FROM networks n
WHERE NOT EXISTS (
  SELECT 1 FROM accounts a WHERE a.network_id = n.id AND a.owner_kind = 'node' AND a.owner_id = 0
    AND a.purpose = 'prepaid' AND a.asset = 'money:' || n.currency
)
"""

_MEMBER_POINTS_PAYING = """
CREATE FUNCTION coalition_member_points_paying(p_network_id bigint, p_values text[], p_currency text,
                                               p_since timestamptz)
RETURNS TABLE (member_id bigint, kind varchar, account_id bigint, card_id bigint, number varchar, state varchar,
               value varchar, balance bigint, lifetime_spend_minor bigint, lot_id bigint, remaining bigint,
               expires_at timestamptz, granting_partner_id bigint, wallet_account_id bigint,
               wallet_balance_minor bigint, wallet_credit_limit_minor bigint, wallet_daily_spend_limit_minor bigint,
               wallet_status varchar, wallet_spent_minor bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM 1 FROM identifiers i JOIN member_balances b ON b.member_id = i.member_id
   WHERE i.network_id = p_network_id AND i.value = ANY(p_values) ORDER BY b.member_id FOR UPDATE OF b;
  RETURN QUERY
    SELECT m.id, m.kind, b.account_id, c.id, c.number, c.state, i.value, b.balance, m.lifetime_spend_minor,
           l.id, l.remaining, l.expires_at, l.granting_partner_id, w.account_id, w.balance_minor,
           w.credit_limit_minor, w.daily_spend_limit_minor, w.status,
           CASE WHEN w.daily_spend_limit_minor IS NULL THEN 0::bigint ELSE
             (SELECT COALESCE(SUM(-p.amount), 0)::bigint FROM postings p
                JOIN ledger_transactions t ON t.id = p.tx_id
               WHERE p.account_id = w.account_id AND p.amount < 0 AND t.kind = 'purchase'
                 AND t.recorded_at >= p_since)
           END
      FROM identifiers i
      JOIN members m ON m.id = i.member_id
      JOIN member_balances b ON b.member_id = m.id
      LEFT JOIN cards c ON c.id = i.card_id
      LEFT JOIN wallets w ON w.member_id = m.id AND w.currency = p_currency
      LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
     WHERE i.network_id = p_network_id AND i.value = ANY(p_values);
END $$;
"""


def upgrade() -> None:
    op.execute(_PARTNERS)
    op.execute(_NODES)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_MEMBER_POINTS_PAYING)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION coalition_member_points_paying(bigint, text[], text, timestamptz)")
    # The accounts stay (rows of the ledger are kept for good): the code of before finds them and uses them.
