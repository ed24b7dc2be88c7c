"""The SQL implementation of the POS unit of work: plain SQL text through `driver.Db`, on either engine.

The purchase path is hot: every method here is one or two round trips of prepared SQL, no ORM and no statement
construction per call. Only member-owned rows are updated; node and partner rows are only ever appended to.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage.access_guard import STILL_ALLOWED_PG, still_allowed_portable
from coalition.adapters.storage.audit_store import DriverAuditTrail
from coalition.adapters.storage.driver import AsyncpgPool, Column, Db, NamedStatement, Row, sqlite_transaction
from coalition.adapters.storage.engine import backend_of
from coalition.adapters.storage.limits_store import PROGRAM_WITH_LIMITS
from coalition.application.ports import (
    LedgerBatch,
    MemberHistory,
    MemberLabels,
    MemberListing,
    MemberRef,
    NewPurchase,
    NewRefund,
    Profile,
    ProgramContext,
    PurchaseWrite,
    StatementLine,
    StoredPurchase,
    StoredResponse,
    TerminalContext,
)
from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.cards import CardState
from coalition.domain.coupons import Coupon, NewCoupon
from coalition.domain.gifts import Gift, GiftBreakage, GiftState, GiftType
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.ledger import (
    AccountPurpose,
    OwnerKind,
    Posting,
    Transaction,
    TransactionKind,
    money_asset,
    points_asset,
)
from coalition.domain.limits import LIMIT_COLUMNS, PurchaseLimits
from coalition.domain.lots import GrantedPoints, Lot, LotTake, spend_order
from coalition.domain.members import segments_from_text, segments_to_text
from coalition.domain.permissions import Operation, Permission
from coalition.domain.purchase import BasketLine, MemberPoints, NewLot
from coalition.domain.visits import Visit

_FIND_MEMBER = """
SELECT m.id, m.kind, b.account_id, c.id AS card_id, c.number, c.state, i.value
FROM identifiers i
JOIN members m ON m.id = i.member_id
JOIN member_balances b ON b.member_id = m.id
LEFT JOIN cards c ON c.id = i.card_id
WHERE i.network_id = $1 AND {value_matches}
"""

_MEMBER_POINTS = """
SELECT b.account_id, b.balance, m.lifetime_spend_minor, l.id AS lot_id, l.remaining, l.expires_at,
       l.granting_partner_id
FROM member_balances b
JOIN members m ON m.id = b.member_id
LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
WHERE b.account_id = $1
"""


class PurchaseRow(NamedTuple):
    """A row of `purchases`, by column: the single purchase's statement, the batch's COPY and SQLite's insert all
    take their columns from here, so a new column is one field and one line in `_purchase_row`."""

    id: str
    network_id: int
    outlet_id: int
    terminal_id: int
    cashier_login: str | None
    member_id: int
    card_id: int | None
    receipt: str
    check_minor: int
    points_redeemed: int
    amount_due_minor: int
    points_earned: int
    tx_id: int | None
    occurred_at: datetime
    recorded_at: datetime
    rule_set_version: int | None
    applied_rules: str | None


_PURCHASE_COLUMNS = PurchaseRow._fields
_LINE_COLUMNS = ("purchase_id", "line_no", "sku", "category", "quantity_milli", "unit_price_minor", "total_minor")
_COUPON_COLUMNS = (
    "network_id",
    "code",
    "campaign",
    "member_id",
    "valid_from",
    "valid_until",
    "max_uses",
    "uses",
    "issued_by_purchase_id",
    "created_at",
)


def _coupon_row(network_id: int, coupon: NewCoupon, now: datetime) -> tuple[Any, ...]:
    return (
        network_id,
        coupon.code,
        coupon.campaign,
        coupon.member_id,
        coupon.valid_from,
        coupon.valid_until,
        coupon.max_uses,
        0,
        coupon.issued_by_purchase_id,
        now,
    )


_RESPONSE_COLUMNS = ("terminal_id", "key", "request_hash", "status_code", "response", "created_at")


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    values = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


_INSERT_PURCHASE = _insert_sql("purchases", _PURCHASE_COLUMNS)
_INSERT_RESPONSE = _insert_sql("idempotency_keys", _RESPONSE_COLUMNS)
T = TypeVar("T")
_MAX_IN_LIST = 500  # values per IN (...) list; SQLite allows 32,766 parameters, PostgreSQL 65,535


_INSERT_LINE = _insert_sql("purchase_lines", _LINE_COLUMNS)


def _line_rows(purchase: NewPurchase) -> list[tuple[Any, ...]]:
    return [
        (purchase.id, n, line.sku, line.category, line.quantity_milli, line.unit_price_minor, line.total_minor)
        for n, line in enumerate(purchase.lines, start=1)
    ]


def _purchase_row(purchase: NewPurchase, tx_id: int | None, now: datetime) -> PurchaseRow:
    return PurchaseRow(
        id=purchase.id,
        network_id=purchase.terminal.network_id,
        outlet_id=purchase.terminal.outlet_id,
        terminal_id=purchase.terminal.terminal_id,
        cashier_login=purchase.cashier_login,
        member_id=purchase.member.member_id,
        card_id=purchase.member.card_id,
        receipt=purchase.receipt,
        check_minor=purchase.check_minor,
        points_redeemed=purchase.points_redeemed,
        amount_due_minor=purchase.amount_due_minor,
        points_earned=purchase.points_earned,
        tx_id=tx_id,
        occurred_at=purchase.occurred_at,
        recorded_at=now,
        rule_set_version=purchase.rule_set_version,
        applied_rules=",".join(purchase.applied_rules) if purchase.rule_set_version is not None else None,
    )


_PEEK_MEMBER_POINTS = """
SELECT m.id AS member_id, m.kind, b.account_id, c.id AS card_id, c.number, c.state, i.value,
       b.balance, b.version, m.lifetime_spend_minor, l.id AS lot_id, l.remaining, l.expires_at, l.granting_partner_id
FROM identifiers i
JOIN members m ON m.id = i.member_id
JOIN member_balances b ON b.member_id = m.id
LEFT JOIN cards c ON c.id = i.card_id
LEFT JOIN lots l ON l.account_id = b.account_id AND l.remaining > 0
WHERE i.network_id = $1 AND {value_matches}
"""


def _member_of(row: Any) -> MemberRef:
    state = CardState(row["state"]) if row["state"] else None
    return MemberRef(row["member_id"], row["kind"], row["account_id"], row["card_id"], row["number"], state)


_INSERT_POSTING = "INSERT INTO postings (tx_id, account_id, asset, amount) VALUES ($1, $2, $3, $4)"
# Takes lower `remaining`, top-ups raise both. No guard on purpose: an overdrawn lot must fail loudly on the CHECK
# (remaining >= 0), never be skipped.
_CHANGE_LOT = "UPDATE lots SET points = points + $2, remaining = remaining + $3 WHERE id = $1"
_RECORD_TAKE = "INSERT INTO lot_takes (tx_id, lot_id, points) VALUES ($1, $2, $3)"


class SqlPosUnitOfWork(DriverAuditTrail):
    """One database transaction. Methods map one-to-one to the `PosUnitOfWork` port."""

    def __init__(self, db: Db) -> None:
        self.db = db

    # --- reads --------------------------------------------------------------------------------------------

    async def terminal_by_key_hash(self, key_hash: str) -> TerminalContext | None:
        # its current key, or a key a rotation replaced (valid until its grace ends): one round trip either way
        keys = "(SELECT id, key_expires_at AS until, 0 AS retired FROM terminals WHERE key_hash = $1 UNION ALL "
        keys += "SELECT terminal_id, valid_until, 1 FROM retired_keys WHERE key_hash = $1 AND terminal_id IS NOT NULL)"
        return await self._terminal(keys, key_hash)

    async def terminal_by_id(self, terminal_id: int) -> TerminalContext | None:
        keys = "(SELECT id, NULL AS until, 0 AS retired FROM terminals WHERE id = $1)"
        return await self._terminal(keys, terminal_id)

    async def _terminal(self, keys: str, value: object) -> TerminalContext | None:
        row = await self.db.fetchrow(
            "SELECT t.id, t.network_id, o.id AS outlet_id, o.partner_id, o.name, o.timezone, p.name AS partner_name, "
            f"k.until, k.retired FROM terminals t JOIN {keys} k ON k.id = t.id JOIN outlets o ON o.id = t.outlet_id "
            "JOIN partners p ON p.id = o.partner_id WHERE t.active = $2",
            value,
            True,
        )
        if row is None:
            return None
        return TerminalContext(
            row["id"], row["network_id"], row["outlet_id"], row["partner_id"], row["name"], row["timezone"],
            row["partner_name"], self.db.timestamp(row["until"]), bool(row["retired"]),
        )  # fmt: skip

    async def program_of(self, network_id: int) -> ProgramContext:
        program_row = await self.db.fetchrow(PROGRAM_WITH_LIMITS, network_id)  # the limits too: one query
        if program_row is None:
            raise LookupError(f"network {network_id} has no program")
        tier_rows = await self.db.fetch(
            "SELECT min_lifetime_spend_minor, accrual_bp, fixed_points_per_check, redeem_cap_bp FROM program_tiers "
            "WHERE program_id = $1 ORDER BY min_lifetime_spend_minor",
            program_row["id"],
        )
        program = BonusProgram(
            id=program_row["id"],
            code=program_row["code"],
            currency=program_row["currency"],
            tiers=tuple(
                Tier(r["min_lifetime_spend_minor"], r["accrual_bp"], r["fixed_points_per_check"], r["redeem_cap_bp"])
                for r in tier_rows
            ),
            min_check_for_redeem_minor=program_row["min_check_for_redeem_minor"],
            point_value_minor=program_row["point_value_minor"],
            points_expire_days=program_row["points_expire_days"],
        )
        node_rows = await self.db.fetch(
            "SELECT id, purpose, asset FROM accounts WHERE network_id = $1 AND owner_kind = $2",
            network_id,
            OwnerKind.NODE.value,
        )
        node = {(r["purpose"], r["asset"]): r["id"] for r in node_rows}
        pts, money = points_asset(program.code), money_asset(program.currency)
        return ProgramContext(
            program=program,
            points_issued_account=node[(AccountPurpose.POINTS_ISSUED.value, pts)],
            points_redeemed_account=node[(AccountPurpose.POINTS_REDEEMED.value, pts)],
            points_breakage_account=node[(AccountPurpose.POINTS_BREAKAGE.value, pts)],
            node_obligations_account=node[(AccountPurpose.OBLIGATIONS.value, money)],
            limits=PurchaseLimits(*(program_row[name] for name in LIMIT_COLUMNS)),
        )

    async def partner_obligations_account(self, network_id: int, partner_id: int) -> int:
        account_id = await self.db.fetchval(
            "SELECT id FROM accounts WHERE network_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4",
            network_id,
            OwnerKind.PARTNER.value,
            partner_id,
            AccountPurpose.OBLIGATIONS.value,
        )
        if account_id is None:
            raise LookupError(f"partner {partner_id} has no obligations account")
        return int(account_id)

    async def members_with_expired_lots(self, network_id: int, now: datetime) -> list[tuple[int, int]]:
        rows = await self.db.fetch(
            "SELECT DISTINCT b.member_id, b.account_id FROM lots l "
            "JOIN member_balances b ON b.account_id = l.account_id JOIN accounts a ON a.id = l.account_id "
            "WHERE a.network_id = $1 AND l.remaining > 0 AND l.expires_at <= $2 ORDER BY b.member_id",
            network_id,
            now,
        )
        return [(row["member_id"], row["account_id"]) for row in rows]

    async def members_born_on(self, network_id: int, month: int, day: int) -> list[tuple[MemberRef, MemberHistory]]:
        if self.db.backend == "postgresql":
            born = "EXTRACT(MONTH FROM m.birth_date) = $2 AND EXTRACT(DAY FROM m.birth_date) = $3"
        else:
            born = (
                "CAST(strftime('%m', m.birth_date) AS INTEGER) = $2 "
                "AND CAST(strftime('%d', m.birth_date) AS INTEGER) = $3"
            )
        rows = await self.db.fetch(
            "SELECT m.id, m.kind, m.birth_date, m.tier, m.segments, b.account_id FROM members m "
            f"JOIN member_balances b ON b.member_id = m.id WHERE m.network_id = $1 AND {born} ORDER BY m.id",
            network_id,
            month,
            day,
        )
        return [self._member_with_labels(row, 0, 0) for row in rows]

    async def has_bonus(self, account_id: int, memo: str) -> bool:
        row = await self.db.fetchrow(
            "SELECT 1 FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id "
            "WHERE p.account_id = $1 AND t.kind = 'bonus' AND t.memo = $2 LIMIT 1",
            account_id,
            memo,
        )
        return row is not None

    async def members_with_spend(
        self, network_id: int, start: datetime, end: datetime, previous_start: datetime
    ) -> list[tuple[MemberRef, MemberHistory]]:
        """Every member of the network with their checks' total in [start, end) and in [previous_start, start)."""
        rows = await self.db.fetch(
            "SELECT m.id, m.kind, m.birth_date, m.tier, m.segments, m.lifetime_spend_minor, b.account_id, "
            "COALESCE(SUM(CASE WHEN p.occurred_at >= $2 THEN p.check_minor END), 0) AS this_period, "
            "COALESCE(SUM(CASE WHEN p.occurred_at < $2 THEN p.check_minor END), 0) AS last_period "
            "FROM members m JOIN member_balances b ON b.member_id = m.id "
            "LEFT JOIN purchases p ON p.member_id = m.id AND p.occurred_at >= $4 AND p.occurred_at < $3 "
            "WHERE m.network_id = $1 "
            "GROUP BY m.id, m.kind, m.birth_date, m.tier, m.segments, m.lifetime_spend_minor, b.account_id "
            "ORDER BY m.id",
            network_id,
            start,
            end,
            previous_start,
        )
        return [self._member_with_labels(row, int(row["this_period"]), int(row["last_period"])) for row in rows]

    def _member_with_labels(
        self, row: Row, period_spend_minor: int, previous_period_spend_minor: int
    ) -> tuple[MemberRef, MemberHistory]:
        """A member read by a job (no card presented, visits not counted) with what rules see of them."""
        member = MemberRef(int(row["id"]), row["kind"], int(row["account_id"]), None, None, None)
        history = MemberHistory(
            kind=row["kind"],
            birth_date=self.db.day(row["birth_date"]),
            visit_count=0,
            period_spend_minor=period_spend_minor,
            previous_period_spend_minor=previous_period_spend_minor,
            tier=row["tier"],
            segments=segments_from_text(row["segments"]),
        )
        return member, history

    async def has_coupon_from(self, member_id: int, campaign: str, valid_from: datetime) -> bool:
        found = await self.db.fetchval(
            "SELECT 1 FROM coupons WHERE member_id = $1 AND campaign = $2 AND valid_from = $3 LIMIT 1",
            member_id,
            campaign,
            valid_from,
        )
        return found is not None

    async def lock_member(self, member_id: int) -> None:
        """The member's lock is their points row; SQLite's BEGIN IMMEDIATE already holds the whole database."""
        lock = " FOR UPDATE" if self.db.backend == "postgresql" else ""
        await self.db.fetch("SELECT account_id FROM member_balances WHERE member_id = $1" + lock, member_id)

    async def cashier_is_active(self, outlet_id: int, login: str) -> bool:
        found = await self.db.fetchval(
            "SELECT id FROM cashiers WHERE outlet_id = $1 AND login = $2 AND active = $3", outlet_id, login, True
        )
        return found is not None

    async def find_member(self, network_id: int, candidates: Sequence[str], *, lock: bool) -> MemberRef | None:
        matches = await self._matching_members(network_id, candidates, lock=lock)
        if not matches:
            return None
        # The most literal reading of what was typed wins when two stored identifiers match.
        return min(matches, key=lambda match: list(candidates).index(match[0]))[1]

    async def _matching_members(
        self, network_id: int, values: Sequence[str], *, lock: bool
    ) -> list[tuple[str, MemberRef]]:
        """(matched value, member) for every identifier among `values`; locked in member order when asked
        (on SQLite the transaction already holds the database write lock from BEGIN IMMEDIATE)."""
        matches: list[tuple[str, MemberRef]] = []
        for chunk in self._chunks(values):
            value_matches, arguments = self.db.any_of("i.value", 2, chunk)
            sql = _FIND_MEMBER.format(value_matches=value_matches) + " ORDER BY m.id"
            if lock and self.db.backend == "postgresql":
                # Only the points row, in member order: every writer takes it first, so none can deadlock.
                sql += " FOR UPDATE OF b"
            for row in await self.db.fetch(sql, network_id, *arguments):
                state = CardState(row["state"]) if row["state"] else None
                member = MemberRef(row["id"], row["kind"], row["account_id"], row["card_id"], row["number"], state)
                matches.append((row["value"], member))
        return matches

    async def find_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints] | None:
        return await _find_member_points(self, network_id, candidates)

    async def record_purchase(self, write: PurchaseWrite, expected_version: int | None) -> bool:
        if self.db.backend == "postgresql":
            return await _record_purchase_pg(self.db, write, expected_version)
        return await _record_purchase_portable(self, write, expected_version)

    async def peek_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints, int] | None:
        """The member, their points and the points' version in one consistent read, without a lock."""
        value_matches, arguments = self.db.any_of("i.value", 2, candidates)
        rows = await self.db.fetch(_PEEK_MEMBER_POINTS.format(value_matches=value_matches), network_id, *arguments)
        if not rows:
            return None
        best_value = min((row["value"] for row in rows), key=list(candidates).index)
        mine = [row for row in rows if row["value"] == best_value]
        return _member_of(mine[0]), self.points_from_rows(mine), int(mine[0]["version"])

    async def stored_responses(self, terminal_id: int, keys: Sequence[str]) -> dict[str, StoredResponse]:
        found: dict[str, StoredResponse] = {}
        for chunk in self._chunks(keys):
            key_matches, arguments = self.db.any_of("key", 2, chunk)
            rows = await self.db.fetch(
                "SELECT key, request_hash, status_code, response FROM idempotency_keys "
                f"WHERE terminal_id = $1 AND {key_matches}",
                terminal_id,
                *arguments,
            )
            for row in rows:
                found[row["key"]] = StoredResponse(row["request_hash"], row["status_code"], json.loads(row["response"]))
        return found

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

    async def existing_receipts(self, outlet_id: int, receipts: Sequence[str]) -> set[str]:
        taken: set[str] = set()
        for chunk in self._chunks(receipts):
            receipt_matches, arguments = self.db.any_of("receipt", 2, chunk)
            rows = await self.db.fetch(
                f"SELECT receipt FROM purchases WHERE outlet_id = $1 AND {receipt_matches}", outlet_id, *arguments
            )
            taken.update(row["receipt"] for row in rows)
        return taken

    def _chunks(self, values: Sequence[T]) -> list[Sequence[T]]:
        """SQLite limits the parameters of a statement; PostgreSQL takes the whole list as one array."""
        if self.db.backend == "postgresql":
            return [values] if values else []
        return [values[i : i + _MAX_IN_LIST] for i in range(0, len(values), _MAX_IN_LIST)]

    async def allocate_ids(self, transactions: int, lots: int) -> tuple[list[int], list[int]]:
        if self.db.backend == "postgresql":
            row = await self.db.fetchrow(
                # The sequences by name: pg_get_serial_sequence() per id tripled the cost of this query.
                "SELECT ARRAY(SELECT nextval('ledger_transactions_id_seq') FROM generate_series(1, $1)) AS tx_ids, "
                "ARRAY(SELECT nextval('lots_id_seq') FROM generate_series(1, $2)) AS lot_ids",
                transactions,
                lots,
            )
            if row is None:
                raise LookupError("no ids allocated")
            return list(row["tx_ids"]), list(row["lot_ids"])
        # SQLite: this transaction holds the database's write lock (BEGIN IMMEDIATE), so max + 1 is ours.
        tx_base = int(await self.db.fetchval("SELECT COALESCE(MAX(id), 0) FROM ledger_transactions"))
        lot_base = int(await self.db.fetchval("SELECT COALESCE(MAX(id), 0) FROM lots"))
        return list(range(tx_base + 1, tx_base + 1 + transactions)), list(range(lot_base + 1, lot_base + 1 + lots))

    async def write_batch(self, batch: LedgerBatch) -> None:
        """Every write of a batch in a fixed order of set-based statements (COPY on PostgreSQL)."""
        db, now = self.db, batch.recorded_at
        await db.insert_many(
            "ledger_transactions",
            ("id", "network_id", "kind", "outlet_id", "reverses_tx_id", "memo", "occurred_at", "recorded_at"),
            [
                (
                    p.id,
                    batch.network_id,
                    p.transaction.kind.value,
                    p.outlet_id,
                    p.transaction.reverses_tx_id,
                    p.transaction.memo,
                    p.occurred_at,
                    now,
                )
                for p in batch.transactions
            ],
        )
        await db.insert_many(
            "postings",
            ("tx_id", "account_id", "asset", "amount"),
            [(p.id, x.account_id, x.asset, x.amount) for p in batch.transactions for x in p.transaction.postings],
        )
        await db.insert_many(
            "lots",
            (
                "id",
                "account_id",
                "tx_id",
                "points",
                "remaining",
                "expires_at",
                "granting_partner_id",
                "ends_with_visit_id",
            ),
            [
                (
                    lot.id,
                    lot.account_id,
                    lot.tx_id,
                    lot.points,
                    lot.remaining,
                    lot.expires_at,
                    lot.granting_partner_id,
                    lot.ends_with_visit_id,
                )
                for lot in batch.new_lots
            ],
        )
        await db.update_many(
            "lots",
            (Column("id", "bigint"), Column("points", "bigint"), Column("remaining", "bigint")),
            "points = t.points + u.points, remaining = t.remaining + u.remaining",
            [(lot_id, points, remaining) for lot_id, (points, remaining) in batch.existing_lot_changes.items()],
        )
        await db.insert_many("lot_takes", ("tx_id", "lot_id", "points"), batch.lot_takes)
        await db.update_many(
            "member_balances",
            (Column("account_id", "bigint"), Column("balance", "bigint")),
            "balance = u.balance, version = t.version + 1",
            [(m.account_id, m.balance) for m in batch.member_points],
        )
        await db.update_many(
            "members",
            (Column("id", "bigint"), Column("lifetime_spend_minor", "bigint")),
            "lifetime_spend_minor = u.lifetime_spend_minor",
            [(m.member_id, m.lifetime_spend_minor) for m in batch.member_points],
        )
        await db.update_many(
            "members",
            (Column("id", "bigint"), Column("tier", "text")),
            "tier = u.tier",
            sorted(batch.member_tiers.items()),
        )
        await db.insert_many(
            "purchases", _PURCHASE_COLUMNS, [_purchase_row(purchase, tx_id, now) for purchase, tx_id in batch.purchases]
        )
        await db.insert_many(
            "coupons", _COUPON_COLUMNS, [_coupon_row(batch.network_id, c, now) for c in batch.new_coupons]
        )
        await db.update_many(
            "coupons",
            (Column("id", "bigint"), Column("uses", "bigint")),
            "uses = t.uses + u.uses",
            sorted(Counter(coupon_id for coupon_id, _ in batch.coupon_uses).items()),
        )
        await db.insert_many(
            "coupon_uses", ("coupon_id", "purchase_id", "used_at"), [(c, p, now) for c, p in batch.coupon_uses]
        )
        await db.insert_many(
            "purchase_lines", _LINE_COLUMNS, [row for purchase, _ in batch.purchases for row in _line_rows(purchase)]
        )
        await db.insert_many(
            "idempotency_keys",
            _RESPONSE_COLUMNS,
            [
                (
                    r.terminal_id,
                    r.key,
                    r.response.request_hash,
                    r.response.status_code,
                    json.dumps(r.response.body, separators=(",", ":")),
                    now,
                )
                for r in batch.responses
            ],
        )

    async def member_points(self, member: MemberRef) -> MemberPoints:
        """Balance, lifetime spend and open lots in one round trip (one row per open lot, or one row)."""
        return self.points_from_rows(await self.db.fetch(_MEMBER_POINTS, member.points_account_id))

    async def stored_response(self, terminal_id: int, key: str) -> StoredResponse | None:
        row = await self.db.fetchrow(
            "SELECT request_hash, status_code, response FROM idempotency_keys WHERE terminal_id = $1 AND key = $2",
            terminal_id,
            key,
        )
        if row is None:
            return None
        return StoredResponse(row["request_hash"], row["status_code"], json.loads(row["response"]))

    async def member_profile(self, member_id: int) -> Profile:
        row = await self.db.fetchrow(
            "SELECT name, phone, email, birth_date, notes, consent_data_processing, consent_newsletters "
            "FROM members WHERE id = $1",
            member_id,
        )
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return Profile(
            name=row["name"],
            phone=row["phone"],
            email=row["email"],
            birth_date=self.db.day(row["birth_date"]),
            notes=row["notes"],
            consent_data_processing=bool(row["consent_data_processing"]),
            consent_newsletters=bool(row["consent_newsletters"]),
        )

    async def member_history(
        self, member_id: int, card_id: int | None, month_start: datetime, previous_month_start: datetime
    ) -> MemberHistory:
        row = await self.db.fetchrow(
            "SELECT m.kind, m.birth_date, m.tier, m.segments, "
            "(SELECT c.card_type FROM cards c WHERE c.id = $4 AND c.member_id = $1) AS card_type, "
            "(SELECT COUNT(*) FROM purchases p WHERE p.member_id = $1) AS visits, "
            "(SELECT COALESCE(SUM(p.check_minor), 0) FROM purchases p "
            " WHERE p.member_id = $1 AND p.occurred_at >= $2) AS this_month, "
            "(SELECT COALESCE(SUM(p.check_minor), 0) FROM purchases p "
            " WHERE p.member_id = $1 AND p.occurred_at >= $3 AND p.occurred_at < $2) AS last_month "
            "FROM members m WHERE m.id = $1",
            member_id,
            month_start,
            previous_month_start,
            card_id,
        )
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return MemberHistory(
            kind=row["kind"],
            birth_date=self.db.day(row["birth_date"]),
            visit_count=int(row["visits"]),
            period_spend_minor=int(row["this_month"]),
            previous_period_spend_minor=int(row["last_month"]),
            tier=row["tier"],
            segments=segments_from_text(row["segments"]),
            card_type=row["card_type"] or "",
        )

    async def member_labels(self, member_id: int) -> MemberLabels:
        row = await self.db.fetchrow("SELECT tier, segments FROM members WHERE id = $1", member_id)
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return MemberLabels(row["tier"], tuple(sorted(segments_from_text(row["segments"]))))

    async def coupons(self, network_id: int, codes: Sequence[str], *, lock: bool) -> dict[str, Coupon]:
        if not codes:
            return {}
        matches, arguments = self.db.any_of("code", 2, codes)
        lock_clause = " ORDER BY id FOR UPDATE" if lock and self.db.backend == "postgresql" else ""
        rows = await self.db.fetch(
            "SELECT id, code, campaign, member_id, valid_from, valid_until, max_uses, uses FROM coupons "
            f"WHERE network_id = $1 AND {matches}{lock_clause}",
            network_id,
            *arguments,
        )
        return {row["code"]: self._coupon(row) for row in rows}

    def _coupon(self, row: Row) -> Coupon:
        valid_from, valid_until = self.db.timestamp(row["valid_from"]), self.db.timestamp(row["valid_until"])
        if valid_from is None or valid_until is None:
            raise LookupError(f"coupon {row['id']} has no validity period")
        return Coupon(
            id=int(row["id"]),
            code=row["code"],
            campaign=row["campaign"],
            member_id=row["member_id"],
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=int(row["max_uses"]),
            uses=int(row["uses"]),
        )

    async def use_coupons(self, uses: Sequence[tuple[int, str]], now: datetime) -> None:
        await self.db.executemany("UPDATE coupons SET uses = uses + 1 WHERE id = $1", [(c,) for c, _ in uses])
        await self.db.insert_many(
            "coupon_uses", ("coupon_id", "purchase_id", "used_at"), [(c, p, now) for c, p in uses]
        )

    async def add_coupons(self, network_id: int, coupons: Sequence[NewCoupon], now: datetime) -> None:
        await self.db.insert_many("coupons", _COUPON_COLUMNS, [_coupon_row(network_id, c, now) for c in coupons])

    async def list_coupons(self, network_id: int, campaign: str | None, limit: int) -> list[Coupon]:
        select = "SELECT id, code, campaign, member_id, valid_from, valid_until, max_uses, uses FROM coupons "
        if campaign is None:
            rows = await self.db.fetch(select + "WHERE network_id = $1 ORDER BY id LIMIT $2", network_id, limit)
        else:
            rows = await self.db.fetch(
                select + "WHERE network_id = $1 AND campaign = $2 ORDER BY id LIMIT $3", network_id, campaign, limit
            )
        return [self._coupon(row) for row in rows]

    async def gift_types(self, network_id: int, codes: Sequence[str] | None = None) -> dict[str, GiftType]:
        sql = "SELECT id, code, name, price_minor, valid_days FROM gift_types WHERE network_id = $1"
        arguments: list[Any] = [network_id]
        if codes is not None:
            if not codes:
                return {}
            matches, arguments = self.db.any_of("code", 2, codes)
            sql += f" AND {matches}"
            arguments = [network_id, *arguments]
        rows = await self.db.fetch(sql + " ORDER BY code", *arguments)
        found = {}
        for row in rows:
            partners = await self.db.fetch(
                "SELECT partner_id FROM gift_type_partners WHERE gift_type_id = $1", row["id"]
            )
            found[row["code"]] = GiftType(
                int(row["id"]),
                row["code"],
                row["name"],
                int(row["price_minor"]),
                int(row["valid_days"]),
                frozenset(int(p["partner_id"]) for p in partners),
            )
        return found

    async def create_gift_type(self, network_id: int, gift_type: GiftType, now: datetime) -> int:
        gift_type_id = int(
            await self.db.fetchval(
                "INSERT INTO gift_types (network_id, code, name, price_minor, valid_days, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                network_id,
                gift_type.code,
                gift_type.name,
                gift_type.price_minor,
                gift_type.valid_days,
                now,
            )
        )
        await self.db.executemany(
            "INSERT INTO gift_type_partners (gift_type_id, partner_id) VALUES ($1, $2)",
            [(gift_type_id, partner_id) for partner_id in sorted(gift_type.partner_ids)],
        )
        return gift_type_id

    async def partner_ids(self, network_id: int, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        matches, arguments = self.db.any_of("name", 2, names)
        rows = await self.db.fetch(
            f"SELECT id, name FROM partners WHERE network_id = $1 AND {matches}", network_id, *arguments
        )
        return {row["name"]: int(row["id"]) for row in rows}

    async def insert_gift(
        self, network_id: int, gift: Gift, granted_outlet_id: int, grant_tx_id: int, purchase_id: str | None
    ) -> None:
        await self.db.execute(
            "INSERT INTO gifts (id, network_id, gift_type_id, member_id, outlets, granted_outlet_id, grant_tx_id, "
            "purchase_id, granted_at, valid_until, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            gift.id,
            network_id,
            gift.gift_type.id,
            gift.member_id,
            ",".join(sorted(gift.outlets)),
            granted_outlet_id,
            grant_tx_id,
            purchase_id,
            gift.granted_at,
            gift.valid_until,
            gift.state.value,
        )

    async def gift(self, network_id: int, gift_id: str, *, lock: bool) -> Gift | None:
        lock_clause = " FOR UPDATE OF g" if lock and self.db.backend == "postgresql" else ""
        row = await self.db.fetchrow(
            "SELECT g.id, t.code, g.member_id, g.outlets, g.granted_at, g.valid_until, g.state FROM gifts g "
            f"JOIN gift_types t ON t.id = g.gift_type_id WHERE g.network_id = $1 AND g.id = $2{lock_clause}",
            network_id,
            gift_id,
        )
        if row is None:
            return None
        return (await self._gifts([row], network_id))[0]

    async def _gifts(self, rows: Sequence[Row], network_id: int) -> list[Gift]:
        types = await self.gift_types(network_id, sorted({row["code"] for row in rows}))
        return [
            Gift(
                id=row["id"],
                gift_type=types[row["code"]],
                member_id=int(row["member_id"]),
                outlets=frozenset(name for name in row["outlets"].split(",") if name),
                granted_at=_required(self.db.timestamp(row["granted_at"])),
                valid_until=_required(self.db.timestamp(row["valid_until"])),
                state=GiftState(row["state"]),
            )
            for row in rows
        ]

    async def mark_gift_honoured(self, gift_id: str, outlet_id: int, tx_id: int, now: datetime) -> bool:
        row = await self.db.fetchrow(
            "UPDATE gifts SET state = 'honoured', honoured_outlet_id = $2, honour_tx_id = $3, honoured_at = $4 "
            "WHERE id = $1 AND state = 'granted' RETURNING id",
            gift_id,
            outlet_id,
            tx_id,
            now,
        )
        return row is not None

    async def permissions(self, network_id: int) -> list[Permission]:
        rows = await self.db.fetch(
            "SELECT outlet_id, counter, operation FROM outlet_permissions WHERE network_id = $1 "
            "ORDER BY outlet_id, counter, operation",
            network_id,
        )
        return [Permission(int(row["outlet_id"]), row["counter"], Operation(row["operation"])) for row in rows]

    async def replace_permissions(self, network_id: int, permissions: Sequence[Permission]) -> None:
        await self.db.execute("DELETE FROM outlet_permissions WHERE network_id = $1", network_id)
        await self.db.insert_many(
            "outlet_permissions",
            ("network_id", "outlet_id", "counter", "operation"),
            [(network_id, p.outlet_id, p.counter, p.operation.value) for p in permissions],
        )

    async def outlet_ids(self, network_id: int, names: Sequence[str] | None = None) -> dict[str, int]:
        if names is None:
            rows = await self.db.fetch("SELECT id, name FROM outlets WHERE network_id = $1", network_id)
            return {row["name"]: int(row["id"]) for row in rows}
        if not names:
            return {}
        matches, arguments = self.db.any_of("name", 2, names)
        rows = await self.db.fetch(
            f"SELECT id, name FROM outlets WHERE network_id = $1 AND {matches}", network_id, *arguments
        )
        return {row["name"]: int(row["id"]) for row in rows}

    async def gifts_due_to_expire(self, network_id: int, now: datetime) -> list[tuple[str, int]]:
        rows = await self.db.fetch(
            "SELECT id, grant_tx_id FROM gifts WHERE network_id = $1 AND state = 'granted' AND valid_until <= $2 "
            "ORDER BY valid_until, id",
            network_id,
            now,
        )
        return [(row["id"], int(row["grant_tx_id"])) for row in rows]

    async def transaction(self, tx_id: int) -> Transaction:
        head = await self.db.fetchrow("SELECT kind, reverses_tx_id, memo FROM ledger_transactions WHERE id = $1", tx_id)
        if head is None:
            raise LookupError(f"ledger transaction {tx_id} does not exist")
        rows = await self.db.fetch("SELECT account_id, asset, amount FROM postings WHERE tx_id = $1 ORDER BY id", tx_id)
        postings = tuple(Posting(int(r["account_id"]), r["asset"], int(r["amount"])) for r in rows)
        return Transaction(TransactionKind(head["kind"]), postings, head["reverses_tx_id"], head["memo"])

    async def mark_gift_expired(self, gift_id: str, now: datetime, release_tx_id: int | None) -> bool:
        row = await self.db.fetchrow(
            "UPDATE gifts SET state = 'expired', expired_at = $2, release_tx_id = $3 "
            "WHERE id = $1 AND state = 'granted' RETURNING id",
            gift_id,
            now,
            release_tx_id,
        )
        return row is not None

    async def points_breakage(self, network_id: int) -> BreakagePolicy:
        row = await self.db.fetchrow(
            "SELECT points_breakage, points_breakage_share_bp FROM networks WHERE id = $1", network_id
        )
        if row is None:
            raise LookupError(f"network {network_id} does not exist")
        return BreakagePolicy(PointsBreakage(row["points_breakage"]), row["points_breakage_share_bp"])

    async def set_points_breakage(self, network_id: int, policy: BreakagePolicy) -> None:
        await self.db.execute(
            "UPDATE networks SET points_breakage = $1, points_breakage_share_bp = $2 WHERE id = $3",
            policy.kind.value,
            policy.share_bp,
            network_id,
        )

    async def gift_breakage(self, network_id: int) -> GiftBreakage:
        return GiftBreakage(await self.db.fetchval("SELECT gift_breakage FROM networks WHERE id = $1", network_id))

    async def set_gift_breakage(self, network_id: int, policy: GiftBreakage) -> None:
        await self.db.execute("UPDATE networks SET gift_breakage = $1 WHERE id = $2", policy.value, network_id)

    async def member_gifts(self, member_id: int, now: datetime) -> list[Gift]:
        row = await self.db.fetchrow("SELECT network_id FROM members WHERE id = $1", member_id)
        if row is None:
            return []
        rows = await self.db.fetch(
            "SELECT g.id, t.code, g.member_id, g.outlets, g.granted_at, g.valid_until, g.state FROM gifts g "
            "JOIN gift_types t ON t.id = g.gift_type_id "
            "WHERE g.member_id = $1 AND g.state = 'granted' AND g.valid_until > $2 ORDER BY g.valid_until, g.id",
            member_id,
            now,
        )
        return await self._gifts(rows, int(row["network_id"])) if rows else []

    async def card_type(self, card_id: int) -> str:
        found = await self.db.fetchval("SELECT card_type FROM cards WHERE id = $1", card_id)
        if found is None:
            raise LookupError(f"card {card_id} does not exist")
        return str(found)

    async def set_member_labels(self, member_id: int, *, tier: str | None, segments: tuple[str, ...] | None) -> None:
        if tier is not None:
            await self.db.execute("UPDATE members SET tier = $1 WHERE id = $2", tier, member_id)
        if segments is not None:
            await self.db.execute(
                "UPDATE members SET segments = $1 WHERE id = $2", segments_to_text(segments), member_id
            )

    async def member_cards(self, member_id: int) -> list[tuple[str, CardState]]:
        rows = await self.db.fetch("SELECT number, state FROM cards WHERE member_id = $1 ORDER BY id", member_id)
        return [(row["number"], CardState(row["state"])) for row in rows]

    async def purchase_for_refund(self, network_id: int, purchase_id: str) -> StoredPurchase | None:
        """The purchase with its refunds so far, read after locking its member so refunds serialize."""
        row = await self.db.fetchrow(
            "SELECT p.id, p.outlet_id, o.partner_id, p.member_id, b.account_id, p.check_minor, p.amount_due_minor, "
            "p.points_earned, p.points_redeemed, p.tx_id "
            "FROM purchases p JOIN outlets o ON o.id = p.outlet_id JOIN member_balances b ON b.member_id = p.member_id "
            "WHERE p.id = $1 AND p.network_id = $2",
            purchase_id,
            network_id,
        )
        if row is None:
            return None
        await self.lock_member(row["member_id"])
        refunded = await self.db.fetchval(
            "SELECT COALESCE(SUM(refund_minor), 0) FROM refunds WHERE purchase_id = $1", purchase_id
        )
        line_rows = await self.db.fetch(
            "SELECT sku, category, quantity_milli, unit_price_minor FROM purchase_lines WHERE purchase_id = $1 "
            "ORDER BY line_no",
            purchase_id,
        )
        returned_rows = await self.db.fetch(
            "SELECT rl.sku, SUM(rl.quantity_milli) AS quantity FROM refund_lines rl "
            "JOIN refunds r ON r.id = rl.refund_id WHERE r.purchase_id = $1 GROUP BY rl.sku",
            purchase_id,
        )
        return StoredPurchase(
            id=row["id"],
            outlet_id=row["outlet_id"],
            partner_id=row["partner_id"],
            member_id=row["member_id"],
            points_account_id=row["account_id"],
            check_minor=row["check_minor"],
            amount_due_minor=row["amount_due_minor"],
            points_earned=row["points_earned"],
            points_redeemed=row["points_redeemed"],
            tx_id=row["tx_id"],
            refunded_before_minor=int(refunded or 0),
            lines=tuple(
                BasketLine(r["sku"], r["category"], r["quantity_milli"], r["unit_price_minor"]) for r in line_rows
            ),
            refunded_quantity_milli={r["sku"]: int(r["quantity"]) for r in returned_rows},
            spent=await self._spent_by_grantor(row["tx_id"]) if row["points_redeemed"] else (),
        )

    async def _spent_by_grantor(self, tx_id: int | None) -> tuple[GrantedPoints, ...]:
        """What a purchase's transaction took from lots, in the order it took it (the lots' spend order)."""
        if tx_id is None:
            return ()
        rows = await self.db.fetch(
            "SELECT l.id, l.expires_at, l.granting_partner_id, k.points FROM lot_takes k "
            "JOIN lots l ON l.id = k.lot_id WHERE k.tx_id = $1",
            tx_id,
        )
        taken = [
            Lot(r["id"], int(r["points"]), self.db.timestamp(r["expires_at"]), r["granting_partner_id"]) for r in rows
        ]
        return tuple(GrantedPoints(lot.granting_partner_id, lot.remaining) for lot in spend_order(taken))

    async def statement(self, member: MemberRef, limit: int) -> list[StatementLine]:
        rows = await self.db.fetch(
            "SELECT t.id, t.kind, t.occurred_at, t.recorded_at, t.memo, t.reverses_tx_id, o.name AS outlet_name, "
            "SUM(p.amount) AS amount FROM ledger_transactions t JOIN postings p ON p.tx_id = t.id "
            "LEFT JOIN outlets o ON o.id = t.outlet_id WHERE p.account_id = $1 "
            "GROUP BY t.id, t.kind, t.occurred_at, t.recorded_at, t.memo, t.reverses_tx_id, o.name ORDER BY t.id",
            member.points_account_id,
        )
        lines: list[StatementLine] = []
        running = 0
        for row in rows:
            running += int(row["amount"])
            lines.append(
                StatementLine(
                    tx_id=row["id"],
                    kind=row["kind"],
                    occurred_at=self._timestamp(row["occurred_at"]),
                    recorded_at=self._timestamp(row["recorded_at"]),
                    outlet_name=row["outlet_name"],
                    amount=int(row["amount"]),
                    balance_after=running,
                    memo=row["memo"],
                    reverses_tx_id=row["reverses_tx_id"],
                )
            )
        return lines[-limit:]

    def _timestamp(self, value: Any) -> datetime:
        moment = self.db.timestamp(value)
        if moment is None:
            raise ValueError("a stored timestamp is missing")
        return moment

    # --- writes -------------------------------------------------------------------------------------------

    async def store_response(self, terminal_id: int, key: str, response: StoredResponse, now: datetime) -> None:
        body = json.dumps(response.body, separators=(",", ":"))
        await self.db.execute(
            _INSERT_RESPONSE, terminal_id, key, response.request_hash, response.status_code, body, now
        )

    async def post(
        self, network_id: int, tx: Transaction, outlet_id: int | None, occurred_at: datetime, now: datetime
    ) -> int:
        tx_id = await self.db.fetchval(
            "INSERT INTO ledger_transactions (network_id, kind, outlet_id, reverses_tx_id, memo, occurred_at, "
            "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            network_id,
            tx.kind.value,
            outlet_id,
            tx.reverses_tx_id,
            tx.memo,
            occurred_at,
            now,
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

    async def insert_purchase(self, purchase: NewPurchase, tx_id: int | None, now: datetime) -> None:
        await self.db.execute(_INSERT_PURCHASE, *_purchase_row(purchase, tx_id, now))
        await self.db.executemany(_INSERT_LINE, _line_rows(purchase))

    async def insert_refund(self, refund: NewRefund, tx_id: int | None, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO refunds (id, purchase_id, terminal_id, refund_minor, money_back_minor, points_clawed_back, "
            "points_returned, tx_id, recorded_at, cashier_login) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            refund.id,
            refund.purchase_id,
            refund.terminal_id,
            refund.refund_minor,
            refund.money_back_minor,
            refund.points_clawed_back,
            refund.points_returned,
            tx_id,
            now,
            refund.cashier_login,
        )
        await self.db.executemany(
            "INSERT INTO refund_lines (refund_id, sku, quantity_milli) VALUES ($1, $2, $3)",
            [(refund.id, sku, quantity) for sku, quantity in refund.quantities_milli.items()],
        )

    async def create_member(
        self,
        network_id: int,
        kind: str,
        profile: Profile,
        program: ProgramContext,
        now: datetime,
        segments: tuple[str, ...] = (),
    ) -> MemberRef:
        member_id = await self.db.fetchval(
            "INSERT INTO members (network_id, kind, name, phone, email, birth_date, notes, consent_data_processing, "
            "consent_newsletters, lifetime_spend_minor, created_at, tier, segments) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, '', $11) RETURNING id",
            network_id,
            kind,
            profile.name,
            profile.phone,
            profile.email,
            profile.birth_date,
            profile.notes,
            profile.consent_data_processing,
            profile.consent_newsletters,
            now,
            segments_to_text(segments),
        )
        account_id = await self.db.fetchval(
            "INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset) VALUES ($1, $2, $3, $4, $5) "
            "RETURNING id",
            network_id,
            OwnerKind.MEMBER.value,
            member_id,
            AccountPurpose.MEMBER_POINTS.value,
            program.program.points_asset,
        )
        await self.db.execute(
            "INSERT INTO member_balances (account_id, member_id, balance) VALUES ($1, $2, 0)", account_id, member_id
        )
        return MemberRef(int(member_id), kind, int(account_id), None, None, None)

    async def add_card(
        self, network_id: int, member_id: int, number: str, state: CardState, now: datetime, card_type: str = "standard"
    ) -> int:
        card_id = await self.db.fetchval(
            "INSERT INTO cards (network_id, member_id, number, state, issued_at, activated_at, state_changed_at, "
            "card_type) VALUES ($1, $2, $3, $4, $5, $6, $5, $7) RETURNING id",
            network_id,
            member_id,
            number,
            state.value,
            now,
            now if state is CardState.ACTIVE else None,
            card_type,
        )
        return int(card_id)

    async def add_identifier(
        self, network_id: int, member_id: int, card_id: int | None, kind: IdentifierKind, value: str
    ) -> None:
        await self.db.execute(
            "INSERT INTO identifiers (network_id, member_id, card_id, kind, value) VALUES ($1, $2, $3, $4, $5)",
            network_id,
            member_id,
            card_id,
            kind.value,
            value,
        )

    async def set_card_state(
        self, card_id: int, state: CardState, now: datetime, replaced_by_card_id: int | None = None
    ) -> None:
        await self.db.execute(
            "UPDATE cards SET state = $2, state_changed_at = $3, "
            "activated_at = CASE WHEN $5 AND activated_at IS NULL THEN $3 ELSE activated_at END, "
            "replaced_by_card_id = COALESCE($4, replaced_by_card_id) WHERE id = $1",
            card_id,
            state.value,
            now,
            replaced_by_card_id,
            state is CardState.ACTIVE,
        )

    # --- visits -------------------------------------------------------------------------------------------

    async def insert_visit(self, network_id: int, visit: Visit) -> None:
        await self.db.execute(
            "INSERT INTO visits (id, network_id, member_id, entry_outlet_id, started_at) VALUES ($1, $2, $3, $4, $5)",
            visit.id,
            network_id,
            visit.member_id,
            visit.entry_outlet_id,
            visit.started_at,
        )

    async def visit(
        self, network_id: int, visit_id: str, *, lock: bool, partner_id: int, bought_in: bool = False
    ) -> Visit | None:
        lock_clause = " FOR UPDATE" if lock and self.db.backend == "postgresql" else ""
        reach = f"({_OPENED_BY_PARTNER}{f' OR {_BOUGHT_IN_VISIT}' if bought_in else ''})"
        sql = f"{_VISIT} WHERE network_id = $1 AND id = $2 AND {reach}{lock_clause}"
        row = await self.db.fetchrow(sql, network_id, visit_id, partner_id)
        return None if row is None else self._visit_of(row)

    async def lots_ending_with_visit(self, account_id: int, visit_id: str) -> set[int]:
        rows = await self.db.fetch(
            "SELECT id FROM lots WHERE account_id = $1 AND ends_with_visit_id = $2 AND remaining > 0",
            account_id,
            visit_id,
        )
        return {int(row["id"]) for row in rows}

    async def open_visit_of(self, member_id: int) -> Visit | None:
        row = await self.db.fetchrow(f"{_VISIT} WHERE member_id = $1 AND ended_at IS NULL", member_id)
        return None if row is None else self._visit_of(row)

    def _visit_of(self, row: Row) -> Visit:
        return Visit(
            row["id"],
            int(row["member_id"]),
            int(row["entry_outlet_id"]),
            _required(self.db.timestamp(row["started_at"])),
            self.db.timestamp(row["ended_at"]),
            row["exit_outlet_id"],
            int(row["points_reset"]),
            int(row["gifts_reset"]),
        )

    async def end_visit(self, visit: Visit, reset_tx_id: int | None) -> bool:
        row = await self.db.fetchrow(
            "UPDATE visits SET ended_at = $2, exit_outlet_id = $3, points_reset = $4, gifts_reset = $5, "
            "reset_tx_id = $6 WHERE id = $1 AND ended_at IS NULL RETURNING id",
            visit.id,
            visit.ended_at,
            visit.exit_outlet_id,
            visit.points_reset,
            visit.gifts_reset,
            reset_tx_id,
        )
        return row is not None

    async def member_by_id(self, member_id: int) -> MemberRef:
        row = await self.db.fetchrow(
            "SELECT m.id, m.kind, b.account_id FROM members m JOIN member_balances b ON b.member_id = m.id "
            "WHERE m.id = $1",
            member_id,
        )
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return MemberRef(int(row["id"]), row["kind"], int(row["account_id"]), None, None, None)

    async def member_in_network(self, network_id: int, member_id: int) -> MemberRef | None:
        row = await self.db.fetchrow(
            "SELECT m.id, m.kind, b.account_id FROM members m JOIN member_balances b ON b.member_id = m.id "
            "WHERE m.id = $1 AND m.network_id = $2",
            member_id,
            network_id,
        )
        return None if row is None else MemberRef(int(row["id"]), row["kind"], int(row["account_id"]), None, None, None)

    async def members_named(self, network_id: int, text: str, limit: int) -> list[MemberListing]:
        # lower() folds every letter on PostgreSQL but only ASCII on SQLite (the embedded engine of small shops)
        escaped = text.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
        rows = await self.db.fetch(
            "SELECT id, kind, name, phone FROM members WHERE network_id = $1 AND lower(name) LIKE $2 ESCAPE '!' "
            "ORDER BY id LIMIT $3",
            network_id,
            f"%{escaped}%",
            limit,
        )
        return [MemberListing(int(row["id"]), row["kind"], row["name"], row["phone"]) for row in rows]

    async def points_added_since(self, account_id: int, since: datetime) -> int:
        found = await self.db.fetchval(
            "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id "
            "WHERE p.account_id = $1 AND t.recorded_at >= $2",
            account_id,
            since,
        )
        return int(found)

    async def open_gifts_granted_since(self, member_id: int, since: datetime) -> list[tuple[str, int]]:
        rows = await self.db.fetch(
            "SELECT id, grant_tx_id FROM gifts WHERE member_id = $1 AND state = 'granted' AND granted_at >= $2 "
            "ORDER BY granted_at, id",
            member_id,
            since,
        )
        return [(row["id"], int(row["grant_tx_id"])) for row in rows]

    async def open_gifts_of_purchase(self, purchase_id: str) -> list[tuple[str, int]]:
        rows = await self.db.fetch(
            "SELECT id, grant_tx_id FROM gifts WHERE purchase_id = $1 AND state = 'granted' ORDER BY id", purchase_id
        )
        return [(row["id"], int(row["grant_tx_id"])) for row in rows]

    async def outlet_name(self, outlet_id: int) -> str:
        found = await self.db.fetchval("SELECT name FROM outlets WHERE id = $1", outlet_id)
        if found is None:
            raise LookupError(f"outlet {outlet_id} does not exist")
        return str(found)


_VISIT = (
    "SELECT id, member_id, entry_outlet_id, started_at, exit_outlet_id, ended_at, points_reset, gifts_reset FROM visits"
)
# A visit is in a terminal's reach ($3: its partner) when an outlet of that partner opened it, or (to read it) when
# the member bought at an outlet of that partner during it (docs/terminal-reach.md).
_OPENED_BY_PARTNER = "entry_outlet_id IN (SELECT id FROM outlets WHERE partner_id = $3)"
_BOUGHT_IN_VISIT = (
    "EXISTS (SELECT 1 FROM purchases p JOIN outlets o ON o.id = p.outlet_id WHERE p.member_id = visits.member_id "
    "AND o.partner_id = $3 AND p.recorded_at >= visits.started_at "
    "AND (visits.ended_at IS NULL OR p.recorded_at <= visits.ended_at))"
)


class SqlStore:
    """Opens POS units of work: asyncpg transactions on PostgreSQL, BEGIN IMMEDIATE transactions on SQLite."""

    def __init__(self, engine: AsyncEngine, database_url: str, pool_size: int = 20) -> None:
        self.engine = engine
        is_pg = backend_of(database_url) == "postgresql"
        self._pg = AsyncpgPool(_asyncpg_dsn(database_url), pool_size) if is_pg else None

    @asynccontextmanager
    async def unit_of_work(self, *, autocommit: bool = False) -> AsyncIterator[SqlPosUnitOfWork]:
        """A transaction; with `autocommit` on PostgreSQL, none: each statement commits on its own (the caller
        promises a single write statement). SQLite always runs one BEGIN IMMEDIATE transaction."""
        if self._pg is None:
            async with sqlite_transaction(self.engine) as db:
                yield SqlPosUnitOfWork(db)
        elif autocommit:
            async with self._pg.connection() as db:
                yield SqlPosUnitOfWork(db)
        else:
            async with self._pg.transaction() as db:
                yield SqlPosUnitOfWork(db)

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()


def _asyncpg_dsn(database_url: str) -> str:
    url = make_url(database_url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


# --- the purchase's writes ----------------------------------------------------------------------------------


# PostgreSQL: all of a purchase's writes in one statement (data-modifying CTEs). Everything hangs on `balance`, the
# update of the member's balance guarded by the version read with the member's points: when another writer changed
# them since (or holds them), the guard matches no row, nothing is written and the statement returns no row. So a
# purchase costs two round trips and no explicit transaction: this read and this write. Arrays carry the
# variable-length parts; parameters are named (the purchase's own columns by their names, from `PurchaseRow`).
_PG_RECORD_PURCHASE = NamedStatement(
    """
WITH balance AS (
  UPDATE member_balances SET balance = :balance_after::bigint, version = version + 1
  WHERE account_id = :account_id::bigint
    AND (:expected_version::bigint IS NULL OR version = :expected_version::bigint) AND {still_allowed}
  RETURNING account_id
), tx AS (
  INSERT INTO ledger_transactions (network_id, kind, outlet_id, reverses_tx_id, memo, occurred_at, recorded_at)
  SELECT :network_id::bigint, 'purchase', :outlet_id::bigint, NULL, '', :occurred_at::timestamptz,
         :recorded_at::timestamptz
  FROM balance WHERE cardinality(:posting_accounts::bigint[]) > 0
  RETURNING id
), posted AS (
  INSERT INTO postings (tx_id, account_id, asset, amount)
  SELECT tx.id, x.account_id, x.asset, x.amount
  FROM tx, unnest(:posting_accounts::bigint[], :posting_assets::text[], :posting_amounts::bigint[])
       AS x(account_id, asset, amount)
), changed AS (
  UPDATE lots SET points = lots.points + x.points, remaining = lots.remaining + x.remaining
  FROM balance, unnest(:changed_lots::bigint[], :changed_points::bigint[], :changed_remaining::bigint[])
       AS x(lot_id, points, remaining)
  WHERE lots.id = x.lot_id
), take_log AS (
  INSERT INTO lot_takes (tx_id, lot_id, points)
  SELECT tx.id, x.lot_id, x.points FROM tx, unnest(:take_lots::bigint[], :take_points::bigint[]) AS x(lot_id, points)
), new_lots AS (
  INSERT INTO lots (account_id, tx_id, points, remaining, expires_at, granting_partner_id, ends_with_visit_id)
  SELECT :account_id::bigint, tx.id, x.points, x.points, x.expires_at, :granting_partner_id::bigint, x.visit_id
  FROM tx, unnest(:new_lot_points::bigint[], :new_lot_expiries::timestamptz[], :new_lot_visits::text[])
       AS x(points, expires_at, visit_id)
), lifetime AS (
  UPDATE members SET lifetime_spend_minor = :lifetime_spend_after_minor::bigint
  FROM balance WHERE members.id = :member_id::bigint
), purchase AS (
  INSERT INTO purchases ({purchase_columns})
  SELECT {purchase_values}
  FROM balance
), lines AS (
  INSERT INTO purchase_lines (purchase_id, line_no, sku, category, quantity_milli, unit_price_minor, total_minor)
  SELECT :id::text, x.line_no, x.sku, x.category, x.quantity_milli, x.unit_price_minor, x.total_minor
  FROM balance, unnest(:line_numbers::int[], :line_skus::text[], :line_categories::text[],
                       :line_quantities_milli::bigint[], :line_unit_prices_minor::bigint[],
                       :line_totals_minor::bigint[])
       AS x(line_no, sku, category, quantity_milli, unit_price_minor, total_minor)
)
INSERT INTO idempotency_keys (terminal_id, key, request_hash, status_code, response, created_at)
SELECT :terminal_id::bigint, :idempotency_key::text, :request_hash::text, :status_code::int, :response::text,
       :recorded_at::timestamptz
FROM balance
RETURNING terminal_id
""".replace("{still_allowed}", STILL_ALLOWED_PG)
    .replace("{purchase_columns}", ", ".join(_PURCHASE_COLUMNS))
    # the purchase's ledger transaction is the one this statement writes (none when it moves no points)
    .replace(
        "{purchase_values}", ", ".join("(SELECT id FROM tx)" if c == "tx_id" else f":{c}" for c in _PURCHASE_COLUMNS)
    )
)


async def _find_member_points(
    uow: SqlPosUnitOfWork, network_id: int, candidates: Sequence[str]
) -> tuple[MemberRef, MemberPoints] | None:
    """Lock first, then read the points: under READ COMMITTED only a statement that starts after the lock is
    granted sees the lots a concurrent purchase of the same member has just committed. On PostgreSQL a function
    (migration 0002) runs both statements in one round trip."""
    if uow.db.backend != "postgresql":
        member = await uow.find_member(network_id, candidates, lock=True)
        return None if member is None else (member, await uow.member_points(member))
    rows = await uow.db.fetch("SELECT * FROM coalition_member_points($1, $2::text[])", network_id, list(candidates))
    if not rows:
        return None
    best_value = min((row["value"] for row in rows), key=list(candidates).index)
    mine = [row for row in rows if row["value"] == best_value]
    return _member_of(mine[0]), uow.points_from_rows(mine)


async def _record_purchase_pg(db: Db, write: PurchaseWrite, expected_version: int | None) -> bool:
    p = write.purchase
    postings = write.transaction.postings if write.transaction is not None else ()
    lines = p.lines
    response = write.idempotency.response
    created = [lot for lot in write.new_lots if lot.top_up_lot_id is None]
    changed_lots, changed_points, changed_remaining = _lot_changes(write)
    values = _purchase_row(p, None, write.recorded_at)._asdict()
    del values["tx_id"]  # the statement's own ledger transaction
    values.update(
        expected_version=expected_version,
        account_id=p.member.points_account_id,
        balance_after=write.balance_after,
        lifetime_spend_after_minor=write.lifetime_spend_after_minor,
        posting_accounts=[x.account_id for x in postings],
        posting_assets=[x.asset for x in postings],
        posting_amounts=[x.amount for x in postings],
        changed_lots=changed_lots,
        changed_points=changed_points,
        changed_remaining=changed_remaining,
        take_lots=[take.lot_id for take in write.lot_takes],
        take_points=[take.points for take in write.lot_takes],
        new_lot_points=[lot.points for lot in created],
        new_lot_expiries=[lot.expires_at for lot in created],
        new_lot_visits=[lot.ends_with_visit_id for lot in created],
        # a purchase's lots have one grantor
        granting_partner_id=write.new_lots[0].granting_partner_id if write.new_lots else None,
        line_numbers=list(range(1, len(lines) + 1)),
        line_skus=[line.sku for line in lines],
        line_categories=[line.category for line in lines],
        line_quantities_milli=[line.quantity_milli for line in lines],
        line_unit_prices_minor=[line.unit_price_minor for line in lines],
        line_totals_minor=[line.total_minor for line in lines],
        idempotency_key=write.idempotency.key,
        request_hash=response.request_hash,
        status_code=response.status_code,
        response=json.dumps(response.body, separators=(",", ":")),
    )
    written = await db.fetchval(_PG_RECORD_PURCHASE.sql, *_PG_RECORD_PURCHASE.arguments(values))
    return written is not None


def _lot_changes(write: PurchaseWrite) -> tuple[list[int], list[int], list[int]]:
    """One row per lot the purchase changes — PostgreSQL updates a row once per statement, and a never-expiring lot
    may be both spent from and topped up by the same purchase."""
    changes: dict[int, tuple[int, int]] = {take.lot_id: (0, -take.points) for take in write.lot_takes}
    for lot in write.new_lots:
        if lot.top_up_lot_id is not None:
            points, remaining = changes.get(lot.top_up_lot_id, (0, 0))
            changes[lot.top_up_lot_id] = (points + lot.points, remaining + lot.points)
    ids = list(changes)
    return ids, [changes[i][0] for i in ids], [changes[i][1] for i in ids]


async def _record_purchase_portable(uow: SqlPosUnitOfWork, write: PurchaseWrite, expected_version: int | None) -> bool:
    p = write.purchase
    member = p.member
    if not await uow.set_member_points(
        member.member_id,
        member.points_account_id,
        write.balance_after,
        write.lifetime_spend_after_minor,
        expected_version=expected_version,
        allowed=(p.terminal.terminal_id, p.terminal.outlet_id, p.cashier_login),
    ):
        return False
    tx_id = None
    if write.transaction is not None:
        tx_id = await uow.post(
            p.terminal.network_id, write.transaction, p.terminal.outlet_id, p.occurred_at, write.recorded_at
        )
        await uow.apply_lots(tx_id, member.points_account_id, write.lot_takes, write.new_lots)
    await uow.insert_purchase(p, tx_id, write.recorded_at)
    record = write.idempotency
    await uow.store_response(record.terminal_id, record.key, record.response, write.recorded_at)
    return True


def _required(moment: datetime | None) -> datetime:
    if moment is None:
        raise LookupError("a stored moment is missing")
    return moment
