"""The SQL unit of work of customers' self sign-up: the network's option and its first outlet, and the outlet's web
terminal (the web sessions' own statement) through which the enrolment is made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.web_store import SqlWebSessionUnitOfWork
from coalition.application.self_signup import SignupNetwork
from coalition.domain.identifiers import phone_region


class SqlSelfSignupUnitOfWork(SqlWebSessionUnitOfWork):
    async def signup_network(self, code: str) -> SignupNetwork | None:
        n, o = t.networks, t.outlets
        first_outlet = select(func.min(o.c.id)).where(o.c.network_id == n.c.id).scalar_subquery()
        row = (
            await self.connection.execute(
                select(
                    n.c.id,
                    n.c.code,
                    n.c.name,
                    n.c.self_signup_enabled,
                    n.c.country,
                    n.c.currency,
                    n.c.card_min_first_purchase_minor,
                    first_outlet.label("outlet_id"),
                ).where(n.c.code == code)
            )
        ).first()
        if row is None:
            return None
        outlet_id = None if row.outlet_id is None else int(row.outlet_id)
        return SignupNetwork(
            int(row.id),
            row.code,
            row.name,
            bool(row.self_signup_enabled),
            outlet_id,
            phone_region(row.country, row.currency),
            int(row.card_min_first_purchase_minor),
            row.currency,
        )

    async def set_self_signup(self, network_id: int, enabled: bool) -> bool:
        n = t.networks
        was = (await self.connection.execute(select(n.c.self_signup_enabled).where(n.c.id == network_id))).scalar_one()
        await self.connection.execute(update(n).where(n.c.id == network_id).values(self_signup_enabled=enabled))
        return bool(was)


class SqlSelfSignupStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlSelfSignupUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlSelfSignupUnitOfWork(connection)
