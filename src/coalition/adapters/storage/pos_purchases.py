"""What the POS unit of work reads of stored purchases (a batch's receipts taken, the purchase a refund refunds)
and a refund's write. The purchase's own writes stay in pos_store.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from coalition.adapters.storage.pos_members import SqlMembers
from coalition.application.ports import (
    NewRefund,
    StoredPurchase,
)
from coalition.domain.ledger import TransactionKind
from coalition.domain.lots import GrantedPoints, Lot, spend_order
from coalition.domain.purchase import BasketLine


class SqlPurchases(SqlMembers):
    """Purchases read back and refunds in SQL; it locks members as `SqlMembers` does."""

    async def existing_receipts(self, outlet_id: int, receipts: Sequence[str]) -> set[str]:
        taken: set[str] = set()
        for chunk in self._chunks(receipts):
            receipt_matches, arguments = self.db.any_of("receipt", 2, chunk)
            rows = await self.db.fetch(
                f"SELECT receipt FROM purchases WHERE outlet_id = $1 AND {receipt_matches}", outlet_id, *arguments
            )
            taken.update(row["receipt"] for row in rows)
        return taken

    async def purchase_id_by_receipt(self, outlet_id: int, receipt: str) -> str | None:
        found = await self.db.fetchval(
            "SELECT id FROM purchases WHERE outlet_id = $1 AND receipt = $2", outlet_id, receipt
        )
        return None if found is None else str(found)

    async def purchase_for_refund(self, network_id: int, purchase_id: str) -> StoredPurchase | None:
        """The purchase with its refunds so far, read after locking its member so refunds serialize."""
        row = await self.db.fetchrow(
            "SELECT p.id, p.outlet_id, o.partner_id, p.member_id, b.account_id, p.check_minor, p.amount_due_minor, "
            "p.points_earned, p.points_redeemed, p.tx_id, p.occurred_at "
            "FROM purchases p JOIN outlets o ON o.id = p.outlet_id JOIN member_balances b ON b.member_id = p.member_id "
            "WHERE p.id = $1 AND p.network_id = $2",
            purchase_id,
            network_id,
        )
        if row is None:
            return None
        await self.lock_member(row["member_id"])
        refunds = await self.db.fetchrow(
            "SELECT COALESCE(SUM(refund_minor), 0) AS refunded, COALESCE(SUM(points_clawed_back), 0) AS clawed "
            "FROM refunds WHERE purchase_id = $1",
            purchase_id,
        )
        assert refunds is not None  # an aggregate without GROUP BY answers one row
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
            refunded_before_minor=int(refunds["refunded"] or 0),
            lines=tuple(
                BasketLine(r["sku"], r["category"], r["quantity_milli"], r["unit_price_minor"]) for r in line_rows
            ),
            refunded_quantity_milli={r["sku"]: int(r["quantity"]) for r in returned_rows},
            spent=await self._spent_by_grantor(row["tx_id"]) if row["points_redeemed"] else (),
            clawed_back_before=int(refunds["clawed"] or 0),
            occurred_at=self._timestamp(row["occurred_at"]),
        )

    async def points_expired_of(self, tx_id: int, account_id: int) -> int:
        # lot_takes is keyed by (tx_id, lot_id): reach it through the member's transactions (postings' index), not
        # by lot, which would read every take
        expired = await self.db.fetchval(
            "SELECT COALESCE(SUM(k.points), 0) FROM lots l JOIN lot_takes k ON k.lot_id = l.id "
            "JOIN ledger_transactions t ON t.id = k.tx_id "
            "WHERE l.account_id = $2 AND l.tx_id = $1 AND t.kind = $3 "
            "AND k.tx_id IN (SELECT p.tx_id FROM postings p WHERE p.account_id = $2)",
            tx_id,
            account_id,
            TransactionKind.EXPIRY.value,
        )
        return int(expired or 0)

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
