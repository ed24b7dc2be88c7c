"""Opens the POS units of work: asyncpg transactions on PostgreSQL, BEGIN IMMEDIATE transactions on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage.driver import AsyncpgPool, sqlite_transaction
from coalition.adapters.storage.engine import backend_of
from coalition.adapters.storage.pos_store import SqlPosUnitOfWork


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
