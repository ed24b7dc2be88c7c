"""The cross-process lock of an admin edit (application/edit_locks.py), one per resource, on either engine.

- PostgreSQL: a session-level advisory lock, `pg_advisory_lock(n)` with n a 64-bit hash of the resource, taken on a
  connection of a small pool of its own (autocommit, so it never sits idle in a transaction) and unlocked in a
  `finally`. A transaction-level lock would not do: the If-Match check and the edit run in units of work of their
  own. The pool is apart from the engine's, so requests waiting for a lock never hold the connections the holder
  needs for its edit. A connection whose lock or unlock did not complete (cancelled, broken) is closed rather than
  returned to the pool: the end of its session releases whatever it held.
- SQLite: `fcntl.flock` on a file in a directory beside the database file (`<database>-edit-locks/`), one of
  `BUCKETS` files chosen by the hash: two resources may share a file and then wait for each other, never deadlock,
  because an edit holds one lock at a time. flock is polled without blocking, so a waiting request can be cancelled.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from coalition.adapters.storage.engine import async_url, backend_of
from coalition.application.edit_locks import EditLocks, LocalFirst, ThisProcessOnly

BUCKETS = 256
POLL_FIRST = 0.002  # seconds between two tries of a file lock, doubled up to POLL_MOST
POLL_MOST = 0.05


def lock_number(resource: str) -> int:
    """A signed 64-bit number for the resource (PostgreSQL's advisory lock key is a bigint)."""
    return int.from_bytes(hashlib.sha256(resource.encode()).digest()[:8], "big", signed=True)


class AdvisoryEditLocks:
    def __init__(self, database_url: str, pool_size: int = 2, max_overflow: int = 30) -> None:
        self.engine: AsyncEngine = create_async_engine(
            async_url(database_url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            isolation_level="AUTOCOMMIT",
        )

    @asynccontextmanager
    async def hold(self, resource: str) -> AsyncIterator[None]:
        number = {"n": lock_number(resource)}
        async with self.engine.connect() as connection:
            try:
                await connection.execute(text("SELECT pg_advisory_lock(:n)"), number)
            except BaseException:
                await asyncio.shield(connection.invalidate())  # it may hold the lock: its session ends
                raise
            try:
                yield
            finally:
                try:
                    await asyncio.shield(connection.execute(text("SELECT pg_advisory_unlock(:n)"), number))
                except BaseException:
                    await asyncio.shield(connection.invalidate())
                    raise

    async def close(self) -> None:
        await self.engine.dispose()


class FileEditLocks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @asynccontextmanager
    async def hold(self, resource: str) -> AsyncIterator[None]:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        path = self.directory / f"{lock_number(resource) % BUCKETS:02x}.lock"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            wait = POLL_FIRST
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, POLL_MOST)
            yield
        finally:
            os.close(descriptor)  # closing the file releases its lock


def edit_locks_for(database_url: str) -> tuple[EditLocks, AdvisoryEditLocks | None]:
    """The edit locks for the database (in-process ones in front), and the pool to close with the services if any."""
    if backend_of(database_url) == "postgresql":
        advisory = AdvisoryEditLocks(database_url)
        return LocalFirst(advisory), advisory
    url = make_url(database_url)
    database = (url.database or "").removeprefix("file:")
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return LocalFirst(ThisProcessOnly()), None
    return LocalFirst(FileEditLocks(Path(database).resolve().with_name(Path(database).name + "-edit-locks"))), None
