"""The network's partners, outlets, terminals and cashiers in pages (application/network_lists.py): keyset by id,
one query per page (and one for the page's terminals' keys still in their grace)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.application.network_lists import (
    ListedCashier,
    ListedOutlet,
    ListedPartner,
    ListedTerminal,
    ListQuery,
    PreviousKey,
)
from coalition.application.ports import Clock


def _page(statement: Select[Any], table: Any, query: ListQuery) -> Select[Any]:
    statement = statement.where(table.c.network_id == query.network_id)
    if query.after_id is not None:
        statement = statement.where(table.c.id > query.after_id)
    return statement.order_by(table.c.id).limit(query.limit)


class SqlNetworkListStore:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def _rows(self, statement: Select[Any]) -> list[Any]:
        async with self.engine.connect() as connection:
            return list(await connection.execute(statement))

    async def partners(self, query: ListQuery) -> list[ListedPartner]:
        p = t.partners
        rows = await self._rows(_page(select(p.c.id, p.c.name), p, query))
        return [ListedPartner(int(row.id), row.name) for row in rows]

    async def outlets(self, query: ListQuery) -> list[ListedOutlet]:
        o = t.outlets
        statement = select(o.c.id, o.c.partner_id, o.c.name, o.c.timezone)
        if query.partner_id is not None:
            statement = statement.where(o.c.partner_id == query.partner_id)
        rows = await self._rows(_page(statement, o, query))
        return [ListedOutlet(int(row.id), int(row.partner_id), row.name, row.timezone) for row in rows]

    async def terminals(self, query: ListQuery) -> list[ListedTerminal]:
        term, r = t.terminals, t.retired_keys
        statement = select(
            term.c.id, term.c.outlet_id, term.c.name, term.c.key_prefix, term.c.active, term.c.key_expires_at
        )
        if query.outlet_id is not None:
            statement = statement.where(term.c.outlet_id == query.outlet_id)
        async with self.engine.connect() as connection:
            rows = list(await connection.execute(_page(statement, term, query)))
            active = [int(row.id) for row in rows if row.active]
            previous: dict[int, list[PreviousKey]] = {}
            if active:
                retired = await connection.execute(
                    select(r.c.terminal_id, r.c.key_prefix, r.c.valid_until)
                    .where(
                        r.c.network_id == query.network_id,
                        r.c.terminal_id.in_(active),
                        r.c.valid_until > self.clock.now(),
                    )
                    .order_by(r.c.valid_until, r.c.id)
                )
                for key in retired:
                    previous.setdefault(int(key.terminal_id), []).append(
                        PreviousKey(key.key_prefix, t.as_utc(key.valid_until))
                    )
        return [
            ListedTerminal(
                int(row.id),
                int(row.outlet_id),
                row.name,
                row.key_prefix,
                bool(row.active),
                None if row.key_expires_at is None else t.as_utc(row.key_expires_at),
                tuple(previous.get(int(row.id), ())),
            )
            for row in rows
        ]

    async def cashiers(self, query: ListQuery) -> list[ListedCashier]:
        c = t.cashiers
        statement = select(c.c.id, c.c.outlet_id, c.c.login, c.c.name, c.c.active)
        if query.outlet_id is not None:
            statement = statement.where(c.c.outlet_id == query.outlet_id)
        rows = await self._rows(_page(statement, c, query))
        return [ListedCashier(int(row.id), int(row.outlet_id), row.login, row.name, bool(row.active)) for row in rows]
