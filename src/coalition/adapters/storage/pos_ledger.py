"""The POS unit of work's ledger and lots: a member's points (locked first, then read), posting transactions,
taking from and adding lots, and the ledger's reads for jobs and visits."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from coalition.adapters.storage.access_guard import still_allowed_portable
from coalition.adapters.storage.pos_members import CARD_JOIN, SqlMembers, member_of
from coalition.adapters.storage.pos_wallets import paying_wallet, read_paying_wallet, wallet_columns
from coalition.application.ports import (
    MemberRef,
    PayingWallet,
)
from coalition.domain.ledger import (
    Posting,
    Transaction,
    TransactionKind,
)
from coalition.domain.lots import Lot, LotTake
from coalition.domain.purchase import MemberPoints, NewLot

_MEMBER_POINTS = """
SELECT b.account_id, b.balance, m.lifetime_spend_minor, l.id AS lot_id, l.remaining, l.expires_at,
       l.granting_partner_id
FROM member_balances b
JOIN members m ON m.id = b.member_id
LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
WHERE b.account_id = $1
"""


_PEEK_MEMBER_POINTS = """
SELECT m.id AS member_id, m.kind, b.account_id, c.id AS card_id, c.number, c.state, i.value,
       b.balance, b.version, m.lifetime_spend_minor, l.id AS lot_id, l.remaining, l.expires_at, l.granting_partner_id
FROM identifiers i
JOIN members m ON m.id = i.member_id
JOIN member_balances b ON b.member_id = m.id
{card_join}
LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
WHERE i.network_id = $1 AND {value_matches}
"""


# The peek of a purchase paid from a wallet: the same rows with the member's wallet of a currency beside them
_PEEK_MEMBER_POINTS_PAYING = f"""
SELECT m.id AS member_id, m.kind, b.account_id, c.id AS card_id, c.number, c.state, i.value,
       b.balance, b.version, m.lifetime_spend_minor, l.id AS lot_id, l.remaining, l.expires_at, l.granting_partner_id,
       {wallet_columns("$3")}
FROM identifiers i
JOIN members m ON m.id = i.member_id
JOIN member_balances b ON b.member_id = m.id
{{card_join}}
LEFT JOIN wallets w ON w.member_id = m.id AND w.currency = $2
LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
WHERE i.network_id = $1 AND {{value_matches}}
"""


_INSERT_POSTING = "INSERT INTO postings (tx_id, account_id, asset, amount) VALUES ($1, $2, $3, $4)"

# Takes lower `remaining`, top-ups raise both. No guard on purpose: an overdrawn lot must fail loudly on the CHECK
# (remaining >= 0), never be skipped.
_CHANGE_LOT = "UPDATE lots SET points = points + $2, remaining = remaining + $3 WHERE id = $1"
_RECORD_TAKE = "INSERT INTO lot_takes (tx_id, lot_id, points) VALUES ($1, $2, $3)"


@functools.lru_cache(maxsize=64)
def _peek_member_points_sql(backend: str, value_matches: str) -> str:
    """The member's read as sent: the same few texts on every purchase (PostgreSQL's is one, its candidates an
    array), formatted once each."""
    return _PEEK_MEMBER_POINTS.format(value_matches=value_matches, card_join=CARD_JOIN[backend])


class SqlLedger(SqlMembers):
    """The `LedgerPort` in SQL; it finds members as `SqlMembers` does before it reads their points."""

    async def member_points(self, member: MemberRef) -> MemberPoints:
        """Balance, lifetime spend and open lots in one round trip (one row per open lot, or one row)."""
        return self.points_from_rows(await self.db.fetch(_MEMBER_POINTS, member.points_account_id))

    async def find_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints] | None:
        """Lock first, then read the points: under READ COMMITTED only a statement that starts after the lock is
        granted sees the lots a concurrent purchase of the same member has just committed. On PostgreSQL a function
        (migration 0002) runs both statements in one round trip."""
        if self.db.backend != "postgresql":
            member = await self.find_member(network_id, candidates, lock=True)
            return None if member is None else (member, await self.member_points(member))
        rows = await self.db.fetch(
            "SELECT * FROM coalition_member_points($1, $2::text[])", network_id, list(candidates)
        )
        if not rows:
            return None
        best_value = min((row["value"] for row in rows), key=list(candidates).index)
        mine = [row for row in rows if row["value"] == best_value]
        return member_of(mine[0]), self.points_from_rows(mine)

    async def peek_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints, int] | None:
        """The member, their points and the points' version in one consistent read, without a lock."""
        db = self.db
        value_matches, arguments = db.any_of("i.value", 2, candidates)
        rows = await db.fetch(_peek_member_points_sql(db.backend, value_matches), network_id, *arguments)
        if not rows:
            return None
        # most reads find one member by one identifier (one row per open lot): no candidate to rank
        value = rows[0]["value"]
        mine = rows if all(row["value"] == value for row in rows) else self._best(rows, candidates)
        return member_of(mine[0]), self.points_from_rows(mine), int(mine[0]["version"])

    async def peek_member_points_paying(
        self, network_id: int, candidates: Sequence[str], currency: str, since: datetime
    ) -> tuple[MemberRef, MemberPoints, int, PayingWallet] | None:
        value_matches, arguments = self.db.any_of("i.value", 4, candidates)
        rows = await self.db.fetch(
            _PEEK_MEMBER_POINTS_PAYING.format(value_matches=value_matches, card_join=CARD_JOIN[self.db.backend]),
            network_id,
            currency,
            since,
            *arguments,
        )
        if not rows:
            return None
        mine = self._best(rows, candidates)
        member = member_of(mine[0])
        return (
            member,
            self.points_from_rows(mine),
            int(mine[0]["version"]),
            paying_wallet(mine[0], member.member_id, currency),
        )

    async def find_member_points_paying(
        self, network_id: int, candidates: Sequence[str], currency: str, since: datetime
    ) -> tuple[MemberRef, MemberPoints, PayingWallet] | None:
        if self.db.backend != "postgresql":
            found = await self.find_member_points(network_id, candidates)
            if found is None:
                return None
            member, points = found
            return member, points, await read_paying_wallet(self.db, member.member_id, currency, since)
        rows = await self.db.fetch(
            "SELECT * FROM coalition_member_points_paying($1, $2::text[], $3, $4)",
            network_id,
            list(candidates),
            currency,
            since,
        )
        if not rows:
            return None
        mine = self._best(rows, candidates)
        member = member_of(mine[0])
        return member, self.points_from_rows(mine), paying_wallet(mine[0], member.member_id, currency)

    @staticmethod
    def _best(rows: Sequence[Any], candidates: Sequence[str]) -> list[Any]:
        """The rows of the member the first matching candidate identifies."""
        best_value = min((row["value"] for row in rows), key=list(candidates).index)
        return [row for row in rows if row["value"] == best_value]

    async def lock_members_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> list[tuple[str, MemberRef, MemberPoints]]:
        members = await self._matching_members(network_id, candidates, lock=True)
        points = await self._points_of_accounts(sorted({member.points_account_id for _, member in members}))
        return [(value, member, points[member.points_account_id]) for value, member in members]

    async def _points_of_accounts(self, account_ids: Sequence[int]) -> dict[int, MemberPoints]:
        """Balances and open lots of many accounts, read after their members were locked."""
        rows_by_account: dict[int, list[Any]] = {}
        for chunk in self._chunks(account_ids):
            account_matches, arguments = self.db.any_of("b.account_id", 1, chunk, sql_type="bigint")
            sql = _MEMBER_POINTS.replace("b.account_id = $1", account_matches)
            for row in await self.db.fetch(sql, *arguments):
                rows_by_account.setdefault(row["account_id"], []).append(row)
        return {account_id: self.points_from_rows(rows) for account_id, rows in rows_by_account.items()}

    def points_from_rows(self, rows: Sequence[Any]) -> MemberPoints:
        head = rows[0]
        lots = tuple(
            Lot(r["lot_id"], r["remaining"], self.db.timestamp(r["expires_at"]), r["granting_partner_id"])
            for r in rows
            if r["lot_id"] is not None
        )
        return MemberPoints(head["balance"], head["lifetime_spend_minor"], lots)

    async def set_member_points(
        self,
        member_id: int,
        account_id: int,
        balance: int,
        lifetime_spend_minor: int,
        *,
        expected_version: int | None = None,
        allowed: tuple[int, int, str | None] | None = None,
    ) -> bool:
        """Set the balance and bump its version (only if it is still `expected_version`, when given, and only if
        the `allowed` (terminal, outlet, cashier) may still act, when given: see access_guard)."""
        guard = f"AND {still_allowed_portable(4, 5, 6)} " if allowed is not None else ""
        changed = await self.db.fetchval(
            "UPDATE member_balances SET balance = $2, version = version + 1 "
            f"WHERE account_id = $1 AND (CAST($3 AS BIGINT) IS NULL OR version = CAST($3 AS BIGINT)) {guard}"
            "RETURNING account_id",
            account_id,
            balance,
            expected_version,
            *(allowed or ()),
        )
        if changed is None:
            return False
        await self.db.execute(
            "UPDATE members SET lifetime_spend_minor = $2 WHERE id = $1", member_id, lifetime_spend_minor
        )
        return True

    async def post(
        self,
        network_id: int,
        tx: Transaction,
        outlet_id: int | None,
        occurred_at: datetime,
        now: datetime,
        *,
        cashier_login: str | None = None,
    ) -> int:
        tx_id = await self.db.fetchval(
            "INSERT INTO ledger_transactions (network_id, kind, outlet_id, reverses_tx_id, memo, occurred_at, "
            "recorded_at, cashier_login) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            network_id,
            tx.kind.value,
            outlet_id,
            tx.reverses_tx_id,
            tx.memo,
            occurred_at,
            now,
            cashier_login,
        )
        await self.db.executemany(_INSERT_POSTING, [(tx_id, p.account_id, p.asset, p.amount) for p in tx.postings])
        return int(tx_id)

    async def apply_lots(
        self, tx_id: int, account_id: int, takes: Sequence[LotTake], new_lots: Sequence[NewLot]
    ) -> None:
        if takes:
            await self.db.executemany(_CHANGE_LOT, [(take.lot_id, 0, -take.points) for take in takes])
            await self.db.executemany(_RECORD_TAKE, [(tx_id, take.lot_id, take.points) for take in takes])
        for new_lot in new_lots:
            if new_lot.top_up_lot_id is not None:
                await self.db.execute(_CHANGE_LOT, new_lot.top_up_lot_id, new_lot.points, new_lot.points)
                continue
            await self.db.execute(
                "INSERT INTO lots (account_id, tx_id, points, remaining, expires_at, granting_partner_id, "
                "ends_with_visit_id) VALUES ($1, $2, $3, $3, $4, $5, $6)",
                account_id,
                tx_id,
                new_lot.points,
                new_lot.expires_at,
                new_lot.granting_partner_id,
                new_lot.ends_with_visit_id,
            )

    async def transaction(self, tx_id: int) -> Transaction:
        head = await self.db.fetchrow("SELECT kind, reverses_tx_id, memo FROM ledger_transactions WHERE id = $1", tx_id)
        if head is None:
            raise LookupError(f"ledger transaction {tx_id} does not exist")
        rows = await self.db.fetch("SELECT account_id, asset, amount FROM postings WHERE tx_id = $1 ORDER BY id", tx_id)
        postings = tuple(Posting(int(r["account_id"]), r["asset"], int(r["amount"])) for r in rows)
        return Transaction(TransactionKind(head["kind"]), postings, head["reverses_tx_id"], head["memo"])

    async def has_bonus(self, account_id: int, memo: str) -> bool:
        row = await self.db.fetchrow(
            "SELECT 1 FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id "
            "WHERE p.account_id = $1 AND t.kind = 'bonus' AND t.memo = $2 LIMIT 1",
            account_id,
            memo,
        )
        return row is not None

    async def points_added_since(self, account_id: int, since: datetime) -> int:
        found = await self.db.fetchval(
            "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id "
            "WHERE p.account_id = $1 AND t.recorded_at >= $2",
            account_id,
            since,
        )
        return int(found)

    async def members_with_expired_lots(self, network_id: int, now: datetime) -> list[tuple[int, int]]:
        rows = await self.db.fetch(
            "SELECT DISTINCT b.member_id, b.account_id FROM lots l "
            "JOIN member_balances b ON b.account_id = l.account_id JOIN accounts a ON a.id = l.account_id "
            "WHERE a.network_id = $1 AND l.remaining > 0 AND l.expires_at <= $2 ORDER BY b.member_id",
            network_id,
            now,
        )
        return [(row["member_id"], row["account_id"]) for row in rows]

    async def lots_ending_with_visit(self, account_id: int, visit_id: str) -> set[int]:
        rows = await self.db.fetch(
            "SELECT id FROM lots WHERE account_id = $1 AND ends_with_visit_id = $2 AND remaining > 0",
            account_id,
            visit_id,
        )
        return {int(row["id"]) for row in rows}
