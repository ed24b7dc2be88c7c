"""The cross-process lock of an admin edit (application/edit_locks.py, adapters/storage/edit_locks.py) on both
engines: two holders that share nothing in memory (two pools, two open files: as two processes would) exclude each
other on the same resource and not on another; a holder that fails or is cancelled releases its lock."""

from __future__ import annotations

import anyio
import pytest

from coalition.adapters.storage.edit_locks import AdvisoryEditLocks, FileEditLocks, edit_locks_for, lock_number
from coalition.application.edit_locks import EditLocks, LocalFirst, ThisProcessOnly

pytestmark = pytest.mark.anyio


def _two_holders(database_url: str) -> tuple[EditLocks, EditLocks, list[AdvisoryEditLocks]]:
    first, first_pool = edit_locks_for(database_url)
    second, second_pool = edit_locks_for(database_url)
    return first, second, [pool for pool in (first_pool, second_pool) if pool is not None]


async def _acquires_within(locks: EditLocks, resource: str, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        async with locks.hold(resource):
            return True
    return False


async def test_two_holders_exclude_each_other_per_resource(database_url: str) -> None:
    first, second, pools = _two_holders(database_url)
    try:
        async with first.hold("network 1 /v1/admin/limits"):
            assert not await _acquires_within(second, "network 1 /v1/admin/limits", 0.3)
            assert await _acquires_within(second, "network 2 /v1/admin/limits", 5)
        assert await _acquires_within(second, "network 1 /v1/admin/limits", 5)

        with pytest.raises(RuntimeError):
            async with first.hold("network 1 /v1/admin/limits"):
                raise RuntimeError("the edit failed")
        assert await _acquires_within(second, "network 1 /v1/admin/limits", 5)  # released all the same

        async with second.hold("network 1 /v1/admin/limits"):
            assert not await _acquires_within(first, "network 1 /v1/admin/limits", 0.3)  # a waiter cancelled
        assert await _acquires_within(first, "network 1 /v1/admin/limits", 5)  # ...took nothing with it
    finally:
        for pool in pools:
            await pool.close()


async def test_the_adapter_is_chosen_by_the_database(tmp_path) -> None:
    locks, pool = edit_locks_for(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(locks, LocalFirst) and isinstance(locks.inner, FileEditLocks) and pool is None
    assert locks.inner.directory == tmp_path / "x.db-edit-locks"
    memory, _ = edit_locks_for("sqlite://")
    assert isinstance(memory, LocalFirst) and isinstance(memory.inner, ThisProcessOnly)
    postgres, pool = edit_locks_for("postgresql://user@127.0.0.1/none")
    assert isinstance(postgres, LocalFirst) and isinstance(postgres.inner, AdvisoryEditLocks) and pool is not None
    await pool.close()  # never connected


def test_lock_numbers_are_signed_64_bit_and_stable() -> None:
    number = lock_number("network 1 /v1/admin/limits")
    assert -(2**63) <= number < 2**63
    assert number == lock_number("network 1 /v1/admin/limits") != lock_number("network 2 /v1/admin/limits")
