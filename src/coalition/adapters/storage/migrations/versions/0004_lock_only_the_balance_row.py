"""A member's lock is their points row (`member_balances`) alone.

Locking the member row too, in a different order than the purchase's write (balance first, then lifetime spend),
let a batch and a single purchase of the same member deadlock. Every writer now locks or updates the balance row
first and touches the member row only while holding it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION coalition_member_points(p_network_id bigint, p_values text[])
RETURNS TABLE (member_id bigint, kind varchar, account_id bigint, card_id bigint, number varchar, state varchar,
               value varchar, balance bigint, lifetime_spend_minor bigint, lot_id bigint, remaining bigint,
               expires_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM 1 FROM identifiers i JOIN member_balances b ON b.member_id = i.member_id
   WHERE i.network_id = p_network_id AND i.value = ANY(p_values) ORDER BY b.member_id FOR UPDATE OF b;
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            _FUNCTION.replace(
                "ORDER BY b.member_id FOR UPDATE OF b", "ORDER BY b.member_id FOR UPDATE OF m, b"
            ).replace(
                "JOIN member_balances b ON b.member_id = i.member_id",
                "JOIN members m ON m.id = i.member_id JOIN member_balances b ON b.member_id = m.id",
            )
        )
