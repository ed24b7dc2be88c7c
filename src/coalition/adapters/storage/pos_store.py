"""The SQL implementation of the POS unit of work: plain SQL text through `driver.Db`, on either engine.

The purchase path is hot: every method here is one or two round trips of prepared SQL, no ORM and no statement
construction per call. Only member-owned rows are updated; node and partner rows are only ever appended to.

The unit of work is split by aggregate: members and cards (pos_members), ledger and lots (pos_ledger), purchases read
back and refunds (pos_purchases), coupons, gifts, visits, reference data and idempotency (pos_<aggregate>); this module
holds what a purchase writes, single and batched, and `SqlPosUnitOfWork`, which combines the parts. `sql_store.SqlStore`
opens the units of work.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from coalition.adapters.storage.access_guard import STILL_ALLOWED_PG
from coalition.adapters.storage.account_lines import account_lines
from coalition.adapters.storage.audit_store import DriverAuditTrail
from coalition.adapters.storage.driver import Column, Db, NamedStatement
from coalition.adapters.storage.outbox_store import DriverOutboxWrites
from coalition.adapters.storage.pos_coupons import SqlCoupons
from coalition.adapters.storage.pos_device_charges import SqlDeviceCharges
from coalition.adapters.storage.pos_device_offline import SqlDeviceOffline
from coalition.adapters.storage.pos_device_one_shot import SqlOneShotCharges
from coalition.adapters.storage.pos_gift_cards import SqlGiftCards
from coalition.adapters.storage.pos_gifts import SqlGifts
from coalition.adapters.storage.pos_idempotency import RESPONSE_COLUMNS, SqlIdempotency
from coalition.adapters.storage.pos_ledger import SqlLedger
from coalition.adapters.storage.pos_member_files import SqlMemberFiles, SqlMemberWrites
from coalition.adapters.storage.pos_plans import SqlPlans
from coalition.adapters.storage.pos_purchases import SqlPurchases
from coalition.adapters.storage.pos_reference import SqlReference
from coalition.adapters.storage.pos_sales_files import SqlSalesFiles
from coalition.adapters.storage.pos_visits import SqlVisits
from coalition.adapters.storage.pos_wallets import SqlWallets
from coalition.application.ports import (
    EVERY_LINE,
    LedgerBatch,
    LineWindow,
    MemberRef,
    NewPurchase,
    PurchaseWrite,
    StatementLine,
)
from coalition.domain.coupons import NewCoupon


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


_RESPONSE_COLUMNS = RESPONSE_COLUMNS  # one list of the columns for the single and the batch write
# json.dumps(body, separators=(",", ":")) with its encoder made once: given any argument, json.dumps builds a new
# JSONEncoder per call, a sixth of the cost of encoding a batch's thousand stored answers
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    values = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


_INSERT_PURCHASE = _insert_sql("purchases", _PURCHASE_COLUMNS)


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


class SqlPosUnitOfWork(
    SqlLedger,
    SqlPurchases,
    SqlCoupons,
    SqlGifts,
    SqlGiftCards,
    SqlVisits,
    SqlReference,
    SqlIdempotency,
    SqlWallets,
    SqlDeviceCharges,
    SqlOneShotCharges,
    SqlDeviceOffline,
    DriverAuditTrail,
    DriverOutboxWrites,
    SqlMemberFiles,
    SqlMemberWrites,
    SqlSalesFiles,
    SqlPlans,
):
    """One database transaction: the `PosUnitOfWork` port, each aggregate's part from its own module (pos_*.py);
    here the purchase's writes (one statement on PostgreSQL), a batch's set-based writes, and the statement."""

    async def record_purchase(self, write: PurchaseWrite, expected_version: int | None) -> bool:
        if self.db.backend == "postgresql":
            return await _record_purchase_pg(self.db, write, expected_version)
        return await _record_purchase_portable(self, write, expected_version)

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
        if db.backend == "postgresql":
            # the postings' reference check probes each distinct value once, not each row (migration 0033)
            await db.execute("SELECT set_config('coalition.bulk_write', 'on', true)")
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
        if batch.wallet_debits:  # the wallets' CHECK refuses an overdraw: the batch fails whole
            await db.update_many(
                "wallets",
                (Column("account_id", "bigint"), Column("amount", "bigint")),
                "balance_minor = t.balance_minor - u.amount, version = t.version + 1",
                sorted(batch.wallet_debits.items()),
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
                    r.response.text or _compact_json(r.response.body),
                    now,
                )
                for r in batch.responses
            ],
        )

    async def add_coupons(self, network_id: int, coupons: Sequence[NewCoupon], now: datetime) -> None:
        await self.db.insert_many("coupons", _COUPON_COLUMNS, [_coupon_row(network_id, c, now) for c in coupons])

    async def statement(self, member: MemberRef, limit: int, window: LineWindow = EVERY_LINE) -> list[StatementLine]:
        def line(row: Any, balance_after: int) -> StatementLine:
            return StatementLine(
                tx_id=row["id"],
                kind=row["kind"],
                occurred_at=self._timestamp(row["occurred_at"]),
                recorded_at=self._timestamp(row["recorded_at"]),
                outlet_name=row["outlet_name"],
                amount=int(row["amount"]),
                points_earned=int(row["points_in"]),
                points_spent=int(row["points_out"]),
                balance_after=balance_after,
                memo=row["memo"],
                reverses_tx_id=row["reverses_tx_id"],
            )

        grouped = "t.kind, t.occurred_at, t.recorded_at, t.memo, t.reverses_tx_id, o.name"
        columns = (
            "t.kind, t.occurred_at, t.recorded_at, t.memo, t.reverses_tx_id, o.name AS outlet_name, "
            "SUM(CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END) AS points_in, "
            "SUM(CASE WHEN p.amount < 0 THEN -p.amount ELSE 0 END) AS points_out"
        )
        return await account_lines(self.db, member.points_account_id, limit, window, columns, grouped, line)

    async def insert_purchase(self, purchase: NewPurchase, tx_id: int | None, now: datetime) -> None:
        await self.db.execute(_INSERT_PURCHASE, *_purchase_row(purchase, tx_id, now))
        await self.db.executemany(_INSERT_LINE, _line_rows(purchase))


# --- the purchase's writes ----------------------------------------------------------------------------------


# PostgreSQL: all of a purchase's writes in one statement (data-modifying CTEs). Everything hangs on `balance`, the
# update of the member's balance guarded by the version read with the member's points: when another writer changed
# them since (or holds them), the guard matches no row, nothing is written and the statement returns no row. So a
# purchase costs two round trips and no explicit transaction: this read and this write. Arrays carry the
# variable-length parts; parameters are named (the purchase's own columns by their names, from `PurchaseRow`).
#
# The statement holds only the parts a purchase writes (`_Parts`: a ledger transaction, lots changed, taken from or
# created, lines), one prepared statement per combination (few in practice). A part with no rows still costs
# PostgreSQL its executor set-up (the table opened with its indexes) and fires its table's statement-level reference
# trigger: a typical purchase (no lines, points added to an open lot) no longer runs `lots_references` for no row
# (pg_stat_user_functions: 4 reference triggers a purchase instead of 5).
_PG_BALANCE = """
WITH balance AS (
  UPDATE member_balances SET balance = :balance_after::bigint, version = version + 1
  WHERE account_id = :account_id::bigint
    AND (:expected_version::bigint IS NULL OR version = :expected_version::bigint) AND {still_allowed}
  RETURNING account_id
)""".replace("{still_allowed}", STILL_ALLOWED_PG)
_PG_TX = """, tx AS (
  INSERT INTO ledger_transactions (network_id, kind, outlet_id, reverses_tx_id, memo, occurred_at, recorded_at)
  SELECT :network_id::bigint, 'purchase', :outlet_id::bigint, NULL, '', :occurred_at::timestamptz,
         :recorded_at::timestamptz
  FROM balance
  RETURNING id
), posted AS (
  INSERT INTO postings (tx_id, account_id, asset, amount)
  SELECT tx.id, x.account_id, x.asset, x.amount
  FROM tx, unnest(:posting_accounts::bigint[], :posting_assets::text[], :posting_amounts::bigint[])
       AS x(account_id, asset, amount)
)"""
# a purchase paid in part from wallets takes each tender from its wallet by a relative update, hanging on `balance`
# like the other parts; the wallets' CHECK refuses an overdraw, so the statement fails whole (nothing written) when a
# concurrent payment got there first. The redundant `= ANY(...)` lets the generic plan probe pk_wallets: without it,
# a network of a few thousand wallets was read whole and hashed for every wallet payment (pg_stat_user_tables:
# one sequential scan of `wallets` a payment; docs/benchmarks.md, 23:30 run)
_PG_WALLETS = """, wallet_debits AS (
  UPDATE wallets SET balance_minor = wallets.balance_minor - x.amount, version = wallets.version + 1
  FROM balance, unnest(:wallet_accounts::bigint[], :wallet_amounts::bigint[]) AS x(account_id, amount)
  WHERE wallets.account_id = x.account_id AND wallets.account_id = ANY(:wallet_accounts::bigint[])
)"""
_PG_CHANGED = """, changed AS (
  UPDATE lots SET points = lots.points + x.points, remaining = lots.remaining + x.remaining
  FROM balance, unnest(:changed_lots::bigint[], :changed_points::bigint[], :changed_remaining::bigint[])
       AS x(lot_id, points, remaining)
  WHERE lots.id = x.lot_id
)"""
_PG_TAKES = """, take_log AS (
  INSERT INTO lot_takes (tx_id, lot_id, points)
  SELECT tx.id, x.lot_id, x.points FROM tx, unnest(:take_lots::bigint[], :take_points::bigint[]) AS x(lot_id, points)
)"""
_PG_NEW_LOTS = """, new_lots AS (
  INSERT INTO lots (account_id, tx_id, points, remaining, expires_at, granting_partner_id, ends_with_visit_id)
  SELECT :account_id::bigint, tx.id, x.points, x.points, x.expires_at, :granting_partner_id::bigint, x.visit_id
  FROM tx, unnest(:new_lot_points::bigint[], :new_lot_expiries::timestamptz[], :new_lot_visits::text[])
       AS x(points, expires_at, visit_id)
)"""
_PG_PURCHASE = """, lifetime AS (
  UPDATE members SET lifetime_spend_minor = :lifetime_spend_after_minor::bigint
  FROM balance WHERE members.id = :member_id::bigint
), purchase AS (
  INSERT INTO purchases ({purchase_columns})
  SELECT {purchase_values}
  FROM balance
)""".replace("{purchase_columns}", ", ".join(_PURCHASE_COLUMNS))
_PG_LINES = """, lines AS (
  INSERT INTO purchase_lines (purchase_id, line_no, sku, category, quantity_milli, unit_price_minor, total_minor)
  SELECT :id::text, x.line_no, x.sku, x.category, x.quantity_milli, x.unit_price_minor, x.total_minor
  FROM balance, unnest(:line_numbers::int[], :line_skus::text[], :line_categories::text[],
                       :line_quantities_milli::bigint[], :line_unit_prices_minor::bigint[],
                       :line_totals_minor::bigint[])
       AS x(line_no, sku, category, quantity_milli, unit_price_minor, total_minor)
)"""
_PG_RESPONSE = """
INSERT INTO idempotency_keys (terminal_id, key, request_hash, status_code, response, created_at)
SELECT :terminal_id::bigint, :idempotency_key::text, :request_hash::text, :status_code::int, :response::text,
       :recorded_at::timestamptz
FROM balance
RETURNING terminal_id
"""


class _Parts(NamedTuple):
    """Which optional parts a purchase's statement holds (takes and new lots only ever come with a transaction)."""

    transaction: bool
    changed_lots: bool
    takes: bool
    new_lots: bool
    lines: bool
    wallets: bool = False


@functools.cache
def _pg_record_purchase(parts: _Parts) -> NamedStatement:
    # the purchase's ledger transaction is the one this statement writes (none when it moves no points)
    tx_id = "(SELECT id FROM tx)" if parts.transaction else "NULL::bigint"
    values = ", ".join(tx_id if c == "tx_id" else f":{c}" for c in _PURCHASE_COLUMNS)
    return NamedStatement(
        _PG_BALANCE
        + (_PG_TX if parts.transaction else "")
        + (_PG_WALLETS if parts.wallets else "")
        + (_PG_CHANGED if parts.changed_lots else "")
        + (_PG_TAKES if parts.takes else "")
        + (_PG_NEW_LOTS if parts.new_lots else "")
        + _PG_PURCHASE.replace("{purchase_values}", values)
        + (_PG_LINES if parts.lines else "")
        + _PG_RESPONSE
    )


_PG_RECORD_PURCHASE = _pg_record_purchase(_Parts(True, True, True, True, True, True))  # every part (tests read it)


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
        idempotency_key=write.idempotency.key,
        request_hash=response.request_hash,
        status_code=response.status_code,
        response=response.text or _compact_json(response.body),
    )
    has_tx = bool(postings)
    if has_tx:
        values.update(
            posting_accounts=[x.account_id for x in postings],
            posting_assets=[x.asset for x in postings],
            posting_amounts=[x.amount for x in postings],
        )
    if changed_lots:
        values.update(changed_lots=changed_lots, changed_points=changed_points, changed_remaining=changed_remaining)
    takes = has_tx and bool(write.lot_takes)
    if takes:
        values.update(
            take_lots=[take.lot_id for take in write.lot_takes], take_points=[take.points for take in write.lot_takes]
        )
    new_lots = has_tx and bool(created)
    if new_lots:
        values.update(
            new_lot_points=[lot.points for lot in created],
            new_lot_expiries=[lot.expires_at for lot in created],
            new_lot_visits=[lot.ends_with_visit_id for lot in created],
            granting_partner_id=write.new_lots[0].granting_partner_id,  # a purchase's lots have one grantor
        )
    if lines:
        values.update(
            line_numbers=list(range(1, len(lines) + 1)),
            line_skus=[line.sku for line in lines],
            line_categories=[line.category for line in lines],
            line_quantities_milli=[line.quantity_milli for line in lines],
            line_unit_prices_minor=[line.unit_price_minor for line in lines],
            line_totals_minor=[line.total_minor for line in lines],
        )
    if write.wallet_debits:
        values.update(
            wallet_accounts=[account for account, _ in write.wallet_debits],
            wallet_amounts=[amount for _, amount in write.wallet_debits],
        )
    parts = _Parts(has_tx, bool(changed_lots), takes, new_lots, bool(lines), bool(write.wallet_debits))
    statement = _pg_record_purchase(parts)
    written = await db.fetchval(statement.sql, *statement.arguments(values))
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
    for account_id, amount in write.wallet_debits:  # the wallets' CHECK refuses an overdraw
        await uow.add_to_wallet(account_id, -amount)
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
