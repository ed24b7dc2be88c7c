"""A small time-bounded cache for reference data read on every purchase (terminal keys, programs, accounts).

Reference data changes rarely and only through the admin side; serving it from memory for a few seconds removes
several database round trips from the purchase path. A change takes effect everywhere within `ttl_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 10_000


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[K, tuple[float, V]] = {}

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, or the loaded one (not cached when None, so a new key works at once)."""
        now = self._monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = await load()
        if value is not None and self._ttl_seconds > 0:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (now + self._ttl_seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
