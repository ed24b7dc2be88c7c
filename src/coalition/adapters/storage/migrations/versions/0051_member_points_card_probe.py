"""PostgreSQL: the locked reads of a purchase (`coalition_member_points`, `coalition_member_points_paying`) join the
member's card by a probe of `pk_cards` per identifier found, as the unlocked read does (`pos_members.CARD_JOIN`).

Their queries run as generic plans (the pool sets `plan_cache_mode = force_generic_plan`), which guess ten
identifiers for `i.value = ANY(p_values)`; in a network of a few thousand cards such a plan hashes the whole of
`cards` for every call (docs/benchmarks.md, 2026-12-06 21:35: one sequential scan of 2,005 cards per purchase on
the unlocked read). These functions serve a purchase's retry after a lost race and every purchase written under the
member's lock (several statements: a tier change, gift cards, events listened to). The join becomes a LATERAL
subquery fenced with OFFSET 0; nothing else in the functions changes. SQLite has no such functions.

Revision ID: 0051
Revises: 0050
"""

from __future__ import annotations

from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

FUNCTIONS = (
    "coalition_member_points(bigint, text[])",
    "coalition_member_points_paying(bigint, text[], text, timestamptz)",
)
PLAIN = "LEFT JOIN cards c ON c.id = i.card_id"
PROBE = "LEFT JOIN LATERAL (SELECT c.id, c.number, c.state FROM cards c WHERE c.id = i.card_id OFFSET 0) c ON true"


def _rewrite(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for function in FUNCTIONS:
        definition = bind.exec_driver_sql(f"SELECT pg_get_functiondef('{function}'::regprocedure)").scalar_one()
        if definition.count(old) != 1:
            raise RuntimeError(f"{function}: expected one `{old}` in its definition")
        bind.exec_driver_sql(definition.replace(old, new))


def upgrade() -> None:
    _rewrite(PLAIN, PROBE)


def downgrade() -> None:
    _rewrite(PROBE, PLAIN)
