"""Opens the POS units of work: asyncpg transactions on PostgreSQL, BEGIN IMMEDIATE transactions on SQLite.

`held` opens one transaction that every unit of work the same task opens afterwards joins: an import's lane records
all its chunks in it, each chunk's reads seeing the earlier chunks' writes, and the whole lane commits or rolls back
at once (application/import_lanes.py). On SQLite each unit is a savepoint of it (a unit that fails undoes its own
writes); on PostgreSQL the units share it plainly — the ledger's guard requires postings and their ledger
transaction to be written by the top-level transaction (`xmin`), which a savepoint's writes are not — so a unit
that fails leaves the held transaction to roll back whole (an SQL error aborts it anyway).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage.driver import AsyncpgDb, AsyncpgPool, SqliteDb, sqlite_transaction
from coalition.adapters.storage.engine import READS_BESIDE_HELD, backend_of
from coalition.adapters.storage.pos_store import SqlPosUnitOfWork

# the transaction `held` opened in this task (asyncio copies it to the tasks this task starts): the store that opened
# it and its connection
_HELD: ContextVar[tuple[object, AsyncpgDb | SqliteDb] | None] = ContextVar("coalition_held_transaction", default=None)
# how long a statement of a held transaction waits for a row lock before the transaction fails: a lane waiting on
# a lock another lane holds until the import commits would otherwise wait for ever (PostgreSQL)
HELD_LOCK_TIMEOUT = "60s"


class SqlStore:
    """Opens POS units of work: asyncpg transactions on PostgreSQL, BEGIN IMMEDIATE transactions on SQLite."""

    def __init__(self, engine: AsyncEngine, database_url: str, pool_size: int = 20) -> None:
        self.engine = engine
        is_pg = backend_of(database_url) == "postgresql"
        self._pg = AsyncpgPool(_asyncpg_dsn(database_url), pool_size) if is_pg else None

    @property
    def one_writer(self) -> bool:
        """SQLite: one write transaction at a time (two held at once would wait on each other)."""
        return self._pg is None

    @asynccontextmanager
    async def unit_of_work(self, *, autocommit: bool = False) -> AsyncIterator[SqlPosUnitOfWork]:
        """A transaction; with `autocommit` on PostgreSQL, none: each statement commits on its own (the caller
        promises a single write statement). SQLite always runs one BEGIN IMMEDIATE transaction. Inside `held`, a
        part of the held transaction."""
        held = _HELD.get()
        if held is not None and held[0] is self:
            async with _savepoint(held[1]):
                yield SqlPosUnitOfWork(held[1])
        elif self._pg is None:
            async with sqlite_transaction(self.engine) as db:
                yield SqlPosUnitOfWork(db)
        elif autocommit:
            async with self._pg.connection() as db:
                yield SqlPosUnitOfWork(db)
        else:
            async with self._pg.transaction() as db:
                yield SqlPosUnitOfWork(db)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """One transaction for every unit of work this task opens inside the block: committed when the block ends,
        rolled back when it raises. Its row locks are held until then."""
        if _HELD.get() is not None:
            raise RuntimeError("a held transaction is open already in this task")
        opened = sqlite_transaction(self.engine) if self._pg is None else self._pg.transaction()
        async with opened as db:
            if isinstance(db, AsyncpgDb):
                await db.execute(f"SET LOCAL lock_timeout = '{HELD_LOCK_TIMEOUT}'")
            token = _HELD.set((self, db))
            beside = READS_BESIDE_HELD.set(True)
            try:
                yield
            finally:
                READS_BESIDE_HELD.reset(beside)
                _HELD.reset(token)

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()


@asynccontextmanager
async def _savepoint(db: AsyncpgDb | SqliteDb) -> AsyncIterator[None]:
    if isinstance(db, AsyncpgDb):
        yield  # no savepoint: see the module's docstring
    else:
        async with db.connection.begin_nested():
            yield


def _asyncpg_dsn(database_url: str) -> str:
    url = make_url(database_url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
