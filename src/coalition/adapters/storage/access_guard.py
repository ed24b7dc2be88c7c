"""A purchase's write refuses itself when its terminal was revoked or its cashier blocked since the till was
recognised (issue 12, hole 4).

The terminal key and the cashier come from a cache; the workers of one server drop it at once when access changes
(application.cache.AccessChanges), but a change made elsewhere — the command line, another host on the same
PostgreSQL — reaches no worker's memory. So the one statement every single purchase hangs on (the version-guarded
balance update) also requires the terminal active and the named cashier active: checked in the same statement, at
no extra round trip, atomically with the write. A write refused this way looks like a lost race; the purchase is
then retried under the member's lock, and `refuse_revoked` says why it still cannot be written.
"""

from __future__ import annotations

# PostgreSQL, inside the purchase statement (named parameters: driver.NamedStatement): the purchase's terminal,
# outlet and cashier's login (or NULL)
STILL_ALLOWED_PG = (
    "EXISTS (SELECT 1 FROM terminals WHERE id = :terminal_id::bigint AND active) "
    "AND (:cashier_login::text IS NULL OR EXISTS (SELECT 1 FROM cashiers WHERE outlet_id = :outlet_id::bigint "
    "AND login = :cashier_login::text AND active))"
)


def still_allowed_portable(terminal: int, outlet: int, cashier: int) -> str:
    """The same condition for the portable write, its parameters numbered `terminal`, `outlet`, `cashier`."""
    return (
        f"EXISTS (SELECT 1 FROM terminals WHERE id = ${terminal} AND active = TRUE) "
        f"AND (CAST(${cashier} AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM cashiers WHERE outlet_id = ${outlet} "
        f"AND login = CAST(${cashier} AS TEXT) AND active = TRUE))"
    )
