"""The SQL behind the money-on-card reports: members' wallets summed per currency (application/wallet_reports.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.application.wallet_reports import WalletLiability


class SqlWalletReportsUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def wallet_liability(self, network_id: int) -> list[WalletLiability]:
        w = t.wallets
        rows = await self.connection.execute(
            select(
                w.c.currency,
                func.count().label("wallets"),
                func.coalesce(func.sum(case((w.c.status == "closed", 1), else_=0)), 0).label("closed"),
                func.coalesce(func.sum(w.c.balance_minor), 0).label("balance"),
                func.coalesce(func.sum(case((w.c.balance_minor > 0, w.c.balance_minor), else_=0)), 0).label("owed"),
                func.coalesce(func.sum(case((w.c.balance_minor < 0, -w.c.balance_minor), else_=0)), 0).label("debt"),
                func.coalesce(func.sum(w.c.credit_limit_minor), 0).label("credit"),
            )
            .where(w.c.network_id == network_id)
            .group_by(w.c.currency)
            .order_by(w.c.currency)
        )
        return [
            WalletLiability(
                row.currency,
                int(row.wallets),
                int(row.closed),
                int(row.balance),
                int(row.owed),
                int(row.debt),
                int(row.credit),
            )
            for row in rows
        ]


class SqlWalletReportsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlWalletReportsUnitOfWork]:
        async with self.engine.connect() as connection:
            yield SqlWalletReportsUnitOfWork(connection)
