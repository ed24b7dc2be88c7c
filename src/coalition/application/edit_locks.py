"""The lock an admin edit holds around its If-Match check and the edit itself (docs/api.md "Conventions").

An edit sent with `If-Match` reads the resource's current version (its GET's ETag), compares it and then edits; two
edits of the same version must not both pass the comparison. The check and the edit run in units of work of their
own, so no database transaction spans them: the resource is locked around both instead, across every process that
serves the API (the workers of `coalition serve`, and servers on other machines sharing a PostgreSQL database).
`EditLocks` is that lock, per resource (the network and the path of the resource's GET), with no version column in
any table. The storage adapters implement it (adapters/storage/edit_locks.py): a session-level advisory lock on
PostgreSQL, a file lock beside the database on SQLite.

`LocalFirst` puts a lock of this process in front of them, so that a process waits for its own edits of a resource
in memory and asks the cross-process lock once at a time per resource (on PostgreSQL: one connection, not one per
waiting request).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class EditLocks(Protocol):
    def hold(self, resource: str) -> AbstractAsyncContextManager[None]:
        """Held (exclusively, by one holder in every process) while the block runs; released however it ends."""
        ...


class LocalFirst:
    """`inner` behind a per-resource asyncio lock of this process."""

    def __init__(self, inner: EditLocks) -> None:
        self.inner = inner
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, resource: str) -> AsyncIterator[None]:
        lock = self._locks.get(resource)
        if lock is None:
            lock = self._locks[resource] = asyncio.Lock()
        async with lock, self.inner.hold(resource):
            yield


class ThisProcessOnly:
    """No lock beyond `LocalFirst`'s: for a database only this process can open (SQLite in memory)."""

    @asynccontextmanager
    async def hold(self, resource: str) -> AsyncIterator[None]:
        yield
