"""The SQL implementation of the web terminal's queries (SQLAlchemy Core, both engines)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.reports_store import till_taking
from coalition.application.ports import StoredResponse
from coalition.application.web_terminal import DayPurchase, DayRefund, OutletPurchase, ProgramTerms, TillTaking
from coalition.domain.ledger import AccountPurpose

_utc = t.as_utc


class SqlWebTerminalUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def cashier_login(self, cashier_id: int) -> str | None:
        found = await self.connection.execute(select(t.cashiers.c.login).where(t.cashiers.c.id == cashier_id))
        login = found.scalar()
        return None if login is None else str(login)

    async def program_terms(self, network_id: int) -> ProgramTerms | None:
        p = t.programs
        row = (
            await self.connection.execute(
                select(p.c.currency, p.c.point_value_minor).where(p.c.network_id == network_id)
            )
        ).first()
        if row is None:
            return None
        return ProgramTerms(row.currency, int(row.point_value_minor))

    async def cashier_purchases(
        self, outlet_id: int, cashier_login: str, start: datetime, end: datetime
    ) -> list[DayPurchase]:
        p = t.purchases
        query = (
            _purchases()
            .where(
                p.c.outlet_id == outlet_id,
                p.c.cashier_login == cashier_login,
                p.c.occurred_at >= _utc(start),
                p.c.occurred_at < _utc(end),
            )
            .order_by(p.c.occurred_at, p.c.id)
        )
        return [_day_purchase(row) for row in await self.connection.execute(query)]

    async def cashier_refunds(
        self, outlet_id: int, cashier_login: str, start: datetime, end: datetime
    ) -> list[DayRefund]:
        r, p, c, tm = t.refunds, t.purchases, t.cards, t.terminals
        query = (
            select(r.c.id, r.c.purchase_id, r.c.recorded_at, c.c.number, r.c.refund_minor, r.c.money_back_minor)
            .join(tm, tm.c.id == r.c.terminal_id)
            .join(p, p.c.id == r.c.purchase_id)
            .outerjoin(c, c.c.id == p.c.card_id)
            .where(
                tm.c.outlet_id == outlet_id,
                r.c.cashier_login == cashier_login,
                r.c.recorded_at >= _utc(start),
                r.c.recorded_at < _utc(end),
            )
            .order_by(r.c.recorded_at, r.c.id)
        )
        return [
            DayRefund(
                row.id,
                row.purchase_id,
                _utc(row.recorded_at),
                row.number,
                int(row.refund_minor),
                int(row.money_back_minor),
            )
            for row in await self.connection.execute(query)
        ]

    async def cashier_takings(
        self, outlet_id: int, cashier_login: str, start: datetime, end: datetime
    ) -> list[TillTaking]:
        tx, po, a = t.ledger_transactions, t.postings, t.accounts
        query = (
            select(tx.c.id, tx.c.kind, tx.c.recorded_at, func.sum(po.c.amount).label("amount"))
            .join(po, po.c.tx_id == tx.c.id)
            .join(a, a.c.id == po.c.account_id)
            .where(
                tx.c.outlet_id == outlet_id,
                tx.c.cashier_login == cashier_login,
                tx.c.recorded_at >= _utc(start),
                tx.c.recorded_at < _utc(end),
                till_taking(tx, a),
            )
            .group_by(tx.c.id, tx.c.kind, tx.c.recorded_at)
            .order_by(tx.c.recorded_at, tx.c.id)
        )
        return [
            TillTaking(row.kind, _utc(row.recorded_at), int(row.amount)) for row in await self.connection.execute(query)
        ]

    async def outlet_purchase(
        self, outlet_id: int, purchase_id: str | None, receipt: str | None = None
    ) -> OutletPurchase | None:
        p = t.purchases
        named = p.c.id == purchase_id if receipt is None else p.c.receipt == receipt
        query = _purchases().where(p.c.outlet_id == outlet_id, named)
        row = (await self.connection.execute(query)).first()
        if row is None:
            return None
        return OutletPurchase(_day_purchase(row), int(row.outlet_id), row.cashier_login)

    async def stored_answer(self, terminal_id: int, key: str) -> StoredResponse | None:
        k = t.idempotency_keys
        row = (
            await self.connection.execute(
                select(k.c.request_hash, k.c.status_code, k.c.response).where(
                    k.c.terminal_id == terminal_id, k.c.key == key
                )
            )
        ).first()
        if row is None:
            return None
        return StoredResponse(row.request_hash, int(row.status_code), json.loads(row.response))


def _prepaid_paid(tx_id: Any) -> Any:
    """What a purchase's wallet and gift-card postings took (0 when none): money paid before, not at the till."""
    po, a = t.postings, t.accounts
    prepaid = [AccountPurpose.MEMBER_WALLET.value, AccountPurpose.GIFT_CARD.value]
    return -func.coalesce(
        select(func.sum(po.c.amount))
        .join(a, a.c.id == po.c.account_id)
        .where(po.c.tx_id == tx_id, a.c.purpose.in_(prepaid))
        .scalar_subquery(),
        0,
    )


def _purchases() -> Any:
    """Purchases with the card presented and what their refunds took back so far."""
    p, c, r = t.purchases, t.cards, t.refunds
    refunded = (
        select(r.c.purchase_id, func.sum(r.c.refund_minor).label("refunded_minor")).group_by(r.c.purchase_id).subquery()
    )
    return select(
        p.c.id,
        p.c.outlet_id,
        p.c.cashier_login,
        p.c.receipt,
        p.c.occurred_at,
        c.c.number.label("card_number"),
        p.c.check_minor,
        p.c.points_redeemed,
        p.c.amount_due_minor,
        p.c.points_earned,
        func.coalesce(refunded.c.refunded_minor, 0).label("refunded_minor"),
        _prepaid_paid(p.c.tx_id).label("prepaid_minor"),
    ).select_from(p.outerjoin(c, c.c.id == p.c.card_id).outerjoin(refunded, refunded.c.purchase_id == p.c.id))


def _day_purchase(row: Any) -> DayPurchase:
    return DayPurchase(
        id=row.id,
        receipt=row.receipt,
        occurred_at=_utc(row.occurred_at),
        card_number=row.card_number,
        check_minor=int(row.check_minor),
        points_redeemed=int(row.points_redeemed),
        amount_due_minor=int(row.amount_due_minor),
        points_earned=int(row.points_earned),
        refunded_minor=int(row.refunded_minor),
        prepaid_minor=int(row.prepaid_minor),
    )


class SqlWebTerminalStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlWebTerminalUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlWebTerminalUnitOfWork(connection)
