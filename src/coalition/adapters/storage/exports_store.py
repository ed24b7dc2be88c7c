"""The SQL behind the exports (application/exports.py): the ledger's postings and members' balances read in chunks by
keyset on both engines, inside one read transaction (REPEATABLE READ on PostgreSQL), so an export of a million
transactions is one consistent snapshot and never more than a chunk in memory.

Postings: the chunk's transactions are the next `chunk` of the scope's by (recorded_at, id) after the last one read
(the index on (network_id, recorded_at) serves the range); their postings come with them in the same statement.
Balances: the next `chunk` members by id, their postings summed per member over the transactions recorded before the
moment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.schema.base import as_utc
from coalition.application.exports import BalanceRow, ExportScope, PostingRow
from coalition.domain.errors import NotFound
from coalition.domain.ledger import AccountPurpose, OwnerKind


class SqlExportsUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def scope_zone(self, scope: ExportScope) -> str:
        o = t.outlets
        network = scope.network_id
        if scope.partner_id is not None:
            found = await self.connection.scalar(
                select(t.partners.c.id).where(t.partners.c.id == scope.partner_id, t.partners.c.network_id == network)
            )
            if found is None:
                raise NotFound(f"no partner {scope.partner_id} in this network", field="partner")
        if scope.member_id is not None:
            found = await self.connection.scalar(
                select(t.members.c.id).where(t.members.c.id == scope.member_id, t.members.c.network_id == network)
            )
            if found is None:
                raise NotFound(f"no member {scope.member_id} in this network", field="member")
        if scope.outlet_id is not None:
            outlet = (
                await self.connection.execute(
                    select(o.c.timezone, o.c.partner_id).where(o.c.id == scope.outlet_id, o.c.network_id == network)
                )
            ).first()
            if outlet is None or scope.partner_id not in (None, outlet.partner_id):
                where = "this network" if scope.partner_id is None else "this partner"
                raise NotFound(f"no outlet {scope.outlet_id} in {where}", field="outlet")
            return str(outlet.timezone)
        query = select(o.c.timezone).where(o.c.network_id == network).order_by(o.c.id).limit(1)
        if scope.partner_id is not None:
            query = query.where(o.c.partner_id == scope.partner_id)
        zone = await self.connection.scalar(query)
        return str(zone) if zone else "UTC"

    async def network_currency(self, network_id: int) -> str:
        currency = await self.connection.scalar(select(t.networks.c.currency).where(t.networks.c.id == network_id))
        return str(currency)

    def _scoped(self, scope: ExportScope, start: datetime, end: datetime) -> list[Any]:
        lt = t.ledger_transactions
        where: list[Any] = [lt.c.network_id == scope.network_id, lt.c.recorded_at >= start, lt.c.recorded_at < end]
        if scope.outlet_id is not None:
            where.append(lt.c.outlet_id == scope.outlet_id)
        elif scope.partner_id is not None:
            outlets = select(t.outlets.c.id).where(t.outlets.c.partner_id == scope.partner_id)
            where.append(lt.c.outlet_id.in_(outlets.scalar_subquery()))
        if scope.member_id is not None:
            p, a = t.postings.alias("mp"), t.accounts.alias("ma")
            where.append(
                exists(
                    select(p.c.id)
                    .join(a, a.c.id == p.c.account_id)
                    .where(
                        p.c.tx_id == lt.c.id,
                        a.c.owner_kind == OwnerKind.MEMBER.value,
                        a.c.owner_id == scope.member_id,
                    )
                )
            )
        return where

    async def count_postings(self, scope: ExportScope, start: datetime, end: datetime) -> int:
        lt, p = t.ledger_transactions, t.postings
        query = (
            select(func.count()).select_from(lt.join(p, p.c.tx_id == lt.c.id)).where(*self._scoped(scope, start, end))
        )
        return int(await self.connection.scalar(query) or 0)

    async def postings(
        self, scope: ExportScope, start: datetime, end: datetime, chunk: int
    ) -> AsyncIterator[list[PostingRow]]:
        lt, p, a, o, pa = t.ledger_transactions, t.postings, t.accounts, t.outlets, t.partners
        after: tuple[datetime, int] | None = None
        while True:
            # the chunk's transactions: the index's range on (network_id, recorded_at), after the last one read
            page = (
                select(
                    lt.c.id,
                    lt.c.recorded_at,
                    lt.c.occurred_at,
                    lt.c.kind,
                    o.c.partner_id,
                    pa.c.name,
                    lt.c.outlet_id,
                    o.c.name,
                    lt.c.cashier_login,
                    lt.c.reverses_tx_id,
                    lt.c.memo,
                )
                .select_from(lt.outerjoin(o, o.c.id == lt.c.outlet_id).outerjoin(pa, pa.c.id == o.c.partner_id))
                .where(*self._scoped(scope, start, end))
            )
            if after is not None:
                moment, last_id = after
                page = page.where(
                    lt.c.recorded_at >= moment,
                    or_(lt.c.recorded_at > moment, and_(lt.c.recorded_at == moment, lt.c.id > last_id)),
                )
            transactions = (await self.connection.execute(page.order_by(lt.c.recorded_at, lt.c.id).limit(chunk))).all()
            if not transactions:
                return
            # then their postings, by the index on tx_id (an explicit list: the planner cannot mistake its size)
            ids = [int(row[0]) for row in transactions]
            postings: dict[int, list[Any]] = {tx_id: [] for tx_id in ids}
            query = (
                select(p.c.tx_id, p.c.id, a.c.owner_kind, a.c.owner_id, a.c.purpose, p.c.asset, p.c.amount)
                .select_from(p.join(a, a.c.id == p.c.account_id))
                .where(p.c.tx_id.in_(ids))
                .order_by(p.c.tx_id, p.c.id)
            )
            for posting in await self.connection.execute(query):
                postings[int(posting[0])].append(posting)
            rows = []
            for (
                tx_id,
                recorded,
                occurred,
                kind,
                partner_id,
                partner,
                outlet_id,
                outlet,
                cashier,
                reverses,
                memo,
            ) in transactions:
                recorded_at, occurred_at = as_utc(recorded), as_utc(occurred)
                for _, posting_id, owner_kind, owner_id, purpose, asset, amount in postings[int(tx_id)]:
                    rows.append(
                        PostingRow(
                            int(tx_id),
                            int(posting_id),
                            recorded_at,
                            occurred_at,
                            kind,
                            partner_id,
                            partner,
                            outlet_id,
                            outlet,
                            cashier,
                            reverses,
                            memo,
                            owner_kind,
                            int(owner_id),
                            purpose,
                            asset,
                            int(amount),
                        )
                    )
            yield rows
            last = transactions[-1]
            after = (as_utc(last[1]), int(last[0]))

    async def balances(
        self, scope: ExportScope, as_of: datetime, currency: str, chunk: int
    ) -> AsyncIterator[list[BalanceRow]]:
        m, p, a, lt = t.members, t.postings, t.accounts, t.ledger_transactions
        wallet_asset = f"money:{currency}"
        last_id = 0
        while True:
            page = select(m.c.id, m.c.name).where(m.c.network_id == scope.network_id, m.c.id > last_id)
            if scope.member_id is not None:
                page = page.where(m.c.id == scope.member_id)
            members = (await self.connection.execute(page.order_by(m.c.id).limit(chunk))).all()
            if not members:
                return
            first, last_id = int(members[0].id), int(members[-1].id)
            sums = select(
                a.c.owner_id,
                func.coalesce(
                    func.sum(case((a.c.purpose == AccountPurpose.MEMBER_POINTS.value, p.c.amount), else_=0)), 0
                ).label("points"),
                func.coalesce(
                    func.sum(
                        case(
                            (
                                and_(a.c.purpose == AccountPurpose.MEMBER_WALLET.value, p.c.asset == wallet_asset),
                                p.c.amount,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ).label("wallet"),
            ).select_from(a.join(p, p.c.account_id == a.c.id).join(lt, lt.c.id == p.c.tx_id))
            sums = sums.where(
                a.c.network_id == scope.network_id,
                a.c.owner_kind == OwnerKind.MEMBER.value,
                a.c.owner_id >= first,
                a.c.owner_id <= last_id,
                lt.c.recorded_at < as_of,
            ).group_by(a.c.owner_id)
            found = {
                int(row.owner_id): (int(row.points), int(row.wallet)) for row in await self.connection.execute(sums)
            }
            yield [BalanceRow(int(row.id), row.name, *found.get(int(row.id), (0, 0))) for row in members]


class SqlExportsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlExportsUnitOfWork]:
        async with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # one snapshot for every chunk: a long export reads the ledger as it was when it began
                await connection.execution_options(isolation_level="REPEATABLE READ")
                await connection.begin()
            yield SqlExportsUnitOfWork(connection)
