"""A small time-bounded cache for reference data read on every purchase (terminal keys, programs, accounts).

Reference data changes rarely and only through the admin side; serving it from memory for a few seconds removes
several database round trips from the purchase path. A change takes effect everywhere within `ttl_seconds` —
except for who may act (terminal keys, cashiers): a cache given an `AccessChanges` counter drops an entry loaded
before the counter last moved, and every worker of `coalition serve` shares the counter, so a revoked key or a
blocked cashier is refused by all of them as soon as the change has answered (docs/revocation.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, MutableSequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 10_000


class AccessChanges:
    """A number that moves whenever who may act changes (a terminal revoked, a cashier blocked or given a new
    password). One slot of memory: the process's own, or one shared by the workers of a server (`share`).

    Reading it costs a memory load, so checking it on every cache hit keeps the purchase path free of database round
    trips. Values only need to differ from every earlier one, so two workers moving it at the same moment cannot
    lose a change: each writes a value no cache has seen (a clock in nanoseconds, at least one past the last)."""

    def __init__(self) -> None:
        self._slot: MutableSequence[int] = [0]

    def share(self, slot: MutableSequence[int]) -> None:
        """Use memory shared with other processes (a one-element `multiprocessing.RawArray("q", 1)`)."""
        self._slot = slot

    @property
    def value(self) -> int:
        return self._slot[0]

    def moved(self) -> None:
        self._slot[0] = max(self._slot[0] + 1, time.monotonic_ns())


ACCESS_CHANGES = AccessChanges()  # the process's counter; `coalition serve` shares it between its workers


class _LoadFailed(Exception):
    """What waiters of a shared load see when it failed; each then loads for itself."""


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
        changes: AccessChanges | None = None,
    ) -> None:
        self._ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._changes = changes
        self._entries: dict[K, tuple[float, int, V]] = {}
        # key -> (counter seen, the load under way): callers that miss while it runs wait for it (single flight)
        self._loading: dict[K, tuple[int, asyncio.Future[V | None]]] = {}

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, or the loaded one (not cached when None, so a new key works at once). Callers that
        miss while a load of the same key runs share it instead of each reading the database (when an entry
        expires under load, every purchase in flight used to load it again: ~3 % of a worker's CPU in py-spy)."""
        now = self._monotonic()
        # read before loading: a change that commits while we load moves the counter past what we store
        seen = self._changes.value if self._changes is not None else 0
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now and entry[1] == seen:
            return entry[2]
        pending = self._loading.get(key)
        if pending is not None and pending[0] == seen and pending[1].get_loop() is asyncio.get_running_loop():
            # begun since the last change of who may act: what it reads is as fresh as what we would
            try:
                return await asyncio.shield(pending[1])
            except _LoadFailed:
                pass  # it failed (or its caller went away): load for ourselves
        return await self._load(key, load, now, seen)

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]], now: float, seen: int) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = (seen, future)
        try:
            value = await load()
        except BaseException:
            future.set_exception(_LoadFailed())
            future.exception()  # retrieved: nobody may be waiting
            raise
        else:
            future.set_result(value)
        finally:
            if self._loading.get(key, (0, None))[1] is future:
                del self._loading[key]
        if value is not None and self._ttl_seconds > 0:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (now + self._ttl_seconds, seen, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
