"""A page of one account's lines (a member's statement, a wallet's history; issue 17, point 5): the newest `limit`
ledger transactions in a `LineWindow`, read newest first by id (keyset: `t.id < before`), with the balance after
each counted from one sum of the account's postings up to the page's newest, so a page costs two reads however
long the account's history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from coalition.adapters.storage.driver import Db
from coalition.application.pos_ports.lines import LineWindow

T = TypeVar("T")


def _where(window: LineWindow, first: int) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    arguments: list[Any] = []
    for clause, value in (("t.id < ", window.before_tx_id), ("t.recorded_at >= ", window.since)):
        if value is not None:
            clauses.append(f" AND {clause}${first + len(arguments)}")
            arguments.append(value)
    if window.until is not None:
        clauses.append(f" AND t.recorded_at < ${first + len(arguments)}")
        arguments.append(window.until)
    return "".join(clauses), arguments


async def account_lines(
    db: Db,
    account_id: int,
    limit: int,
    window: LineWindow,
    columns: str,
    grouped: str,
    line: Callable[[Any, int], T],
) -> list[T]:
    """`line(row, balance_after)` for each of the page's rows, oldest first (every row when `limit` is 0).
    `columns` are selected beside `t.id` and `SUM(p.amount) AS amount`, grouped by `t.id` and `grouped` (the
    columns that are not aggregates)."""
    where, arguments = _where(window, 2)
    rows = await db.fetch(
        f"SELECT t.id, {columns}, SUM(p.amount) AS amount "
        "FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id LEFT JOIN outlets o ON o.id = t.outlet_id "
        f"WHERE p.account_id = $1{where} GROUP BY t.id, {grouped} ORDER BY t.id DESC"
        + (f" LIMIT {int(limit)}" if limit > 0 else ""),
        account_id,
        *arguments,
    )
    if not rows:
        return []
    balance = int(
        await db.fetchval(
            "SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account_id = $1 AND tx_id <= $2",
            account_id,
            int(rows[0]["id"]),
        )
    )
    lines = []
    for row in rows:  # newest first: each line's balance after it, then the balance before it
        lines.append(line(row, balance))
        balance -= int(row["amount"])
    lines.reverse()
    return lines
