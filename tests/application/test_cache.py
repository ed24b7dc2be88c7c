"""The reference-data cache loads a key once for all the callers that miss it at the same time."""

from __future__ import annotations

import asyncio

import pytest

from coalition.application.cache import AccessChanges, TtlCache

pytestmark = pytest.mark.anyio


async def test_callers_that_miss_together_share_one_load():
    cache: TtlCache[str, int] = TtlCache()
    loads = 0
    release = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        await release.wait()
        return 42

    waiting = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(16)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [42] * 16
    assert loads == 1
    assert await cache.get_or_load("k", load) == 42 and loads == 1


async def test_when_the_shared_load_fails_its_caller_sees_the_error_and_the_others_load_for_themselves():
    cache: TtlCache[str, int] = TtlCache()
    release = asyncio.Event()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()
            raise ConnectionError("the database went away")
        return 7

    first = asyncio.ensure_future(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    others = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(ConnectionError):
        await first
    assert await asyncio.gather(*others) == [7, 7, 7]


async def test_a_caller_after_a_change_of_access_does_not_take_a_load_begun_before_it():
    changes = AccessChanges()
    cache: TtlCache[str, str] = TtlCache(changes=changes)
    release = asyncio.Event()

    async def stale() -> str:
        await release.wait()
        return "before the change"

    async def fresh() -> str:
        return "after the change"

    first = asyncio.ensure_future(cache.get_or_load("k", stale))
    await asyncio.sleep(0)
    changes.moved()  # a key revoked while the first load runs
    assert await cache.get_or_load("k", fresh) == "after the change"
    release.set()
    assert await first == "before the change"
    assert await cache.get_or_load("k", fresh) == "after the change"  # the stale value was not kept as current
