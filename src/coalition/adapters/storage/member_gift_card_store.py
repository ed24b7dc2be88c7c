"""The SQL unit of work of the gift cards a member keeps on their page (`member_gift_cards`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t


class SqlMemberGiftCardsUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def linked_count(self, member_id: int) -> int:
        """Counted under the member's row lock (PostgreSQL; SQLite's writer holds all), so that two adds at once
        cannot pass the cap together."""
        if self.connection.dialect.name == "postgresql":
            await self.connection.execute(select(t.members.c.id).where(t.members.c.id == member_id).with_for_update())
        links = t.member_gift_cards
        query = select(func.count()).select_from(links).where(links.c.member_id == member_id)
        return int((await self.connection.execute(query)).scalar_one())

    async def link(self, member_id: int, gift_card_id: int, now: datetime) -> None:
        links = t.member_gift_cards
        dialect_insert = postgresql_insert if self.connection.dialect.name == "postgresql" else sqlite_insert
        # a link added at the same moment (a double click) is the same link
        await self.connection.execute(
            dialect_insert(links)
            .values(member_id=member_id, gift_card_id=gift_card_id, added_at=now)
            .on_conflict_do_nothing(index_elements=["member_id", "gift_card_id"])
        )

    async def unlink(self, member_id: int, gift_card_id: int) -> None:
        links = t.member_gift_cards
        await self.connection.execute(
            delete(links).where(links.c.member_id == member_id, links.c.gift_card_id == gift_card_id)
        )

    async def linked_card_ids(self, member_id: int) -> list[int]:
        links = t.member_gift_cards
        rows = await self.connection.execute(
            select(links.c.gift_card_id)
            .where(links.c.member_id == member_id)
            .order_by(links.c.added_at.desc(), links.c.gift_card_id.desc())
        )
        return [int(row.gift_card_id) for row in rows]

    async def card_id(self, network_id: int, number: str) -> int | None:
        cards = t.gift_cards
        found = await self.connection.execute(
            select(cards.c.id).where(cards.c.network_id == network_id, cards.c.number == number)
        )
        value = found.scalar_one_or_none()
        return None if value is None else int(value)


class SqlMemberGiftCardsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlMemberGiftCardsUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlMemberGiftCardsUnitOfWork(connection)
