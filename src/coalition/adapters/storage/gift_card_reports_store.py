"""The SQL behind the console's gift cards (application/gift_card_reports.py): the cards searched, with their seller
and what purchases took from them, and their liability per currency, from the cards' running balances (which
`coalition verify` checks against the postings)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.application.gift_card_reports import GiftCardLiability, GiftCardRow, GiftCardSearch
from coalition.domain.gift_cards import GiftCardStatus
from coalition.domain.ledger import TransactionKind

_HOLDING = (GiftCardStatus.ACTIVE.value, GiftCardStatus.BLOCKED.value)


class SqlGiftCardReportsUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def gift_card_rows(self, network_id: int, search: GiftCardSearch) -> list[GiftCardRow]:
        g, p, tx = t.gift_cards, t.postings, t.ledger_transactions
        taken_where: list[ColumnElement[bool]] = [
            tx.c.network_id == network_id,
            # what purchases took from a card, less what refunds of them put back
            tx.c.kind.in_([TransactionKind.PURCHASE.value, TransactionKind.REFUND.value]),
        ]
        if search.partner_id is not None:
            own = select(t.outlets.c.id).where(t.outlets.c.partner_id == search.partner_id)
            taken_where.append(tx.c.outlet_id.in_(own))
        spent = (
            select(p.c.account_id, (-func.sum(p.c.amount)).label("spent"))
            .join(tx, tx.c.id == p.c.tx_id)
            .where(and_(*taken_where), p.c.account_id.in_(select(g.c.account_id).where(g.c.network_id == network_id)))
            .group_by(p.c.account_id)
            .subquery()
        )
        seller, outlet = t.partners.alias("seller"), t.outlets.alias("seller_outlet")
        query = (
            select(
                g.c.number,
                g.c.currency,
                g.c.initial_minor,
                g.c.balance_minor,
                g.c.status,
                g.c.valid_from,
                g.c.valid_until,
                (g.c.pin_hash.is_not(None)).label("has_pin"),
                seller.c.name.label("seller_partner"),
                outlet.c.name.label("seller_outlet"),
                func.coalesce(spent.c.spent, 0).label("spent"),
            )
            .select_from(
                g.outerjoin(seller, seller.c.id == g.c.seller_partner_id)
                .outerjoin(outlet, outlet.c.id == g.c.seller_outlet_id)
                .outerjoin(spent, spent.c.account_id == g.c.account_id)
            )
            .where(g.c.network_id == network_id)
            .order_by(g.c.created_at.desc(), g.c.id.desc())
            .limit(search.limit)
        )
        if search.number:
            query = query.where(g.c.number.contains(search.number, autoescape=True))
        if search.status:
            query = query.where(g.c.status == search.status)
        if search.partner_id is not None:
            query = query.where(or_(g.c.seller_partner_id == search.partner_id, spent.c.account_id.is_not(None)))
        rows = await self.connection.execute(query)
        return [
            GiftCardRow(
                row.number,
                row.currency,
                int(row.initial_minor),
                int(row.balance_minor),
                row.status,
                t.as_utc(row.valid_from),
                t.as_utc(row.valid_until),
                bool(row.has_pin),
                row.seller_partner,
                row.seller_outlet,
                int(row.spent),
            )
            for row in rows
        ]

    async def gift_card_liability(self, network_id: int) -> list[GiftCardLiability]:
        g = t.gift_cards
        rows = await self.connection.execute(
            select(
                g.c.currency,
                func.count().label("cards"),
                func.coalesce(func.sum(case((g.c.status == GiftCardStatus.BLOCKED.value, 1), else_=0)), 0).label(
                    "blocked"
                ),
                func.coalesce(func.sum(g.c.balance_minor), 0).label("outstanding"),
            )
            .where(g.c.network_id == network_id, g.c.status.in_(_HOLDING))
            .group_by(g.c.currency)
            .order_by(g.c.currency)
        )
        return [GiftCardLiability(row.currency, int(row.cards), int(row.blocked), int(row.outstanding)) for row in rows]


class SqlGiftCardReportsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlGiftCardReportsUnitOfWork]:
        async with self.engine.connect() as connection:
            yield SqlGiftCardReportsUnitOfWork(connection)
