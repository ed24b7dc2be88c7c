"""Migration 0037 on both engines: `device_holds` goes away on the way down and comes back on the way up, and the
schema the migrations build is the one the tables declare (its columns, checks and indexes)."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.adapters.storage.tables import device_holds
from coalition.wiring import build_services

pytestmark = pytest.mark.anyio


async def _tables(settings) -> tuple[set[str], set[str], set[str]]:
    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:

            def read(sync: sa.Connection) -> tuple[set[str], set[str], set[str]]:
                inspector = sa.inspect(sync)
                names = set(inspector.get_table_names())
                if "device_holds" not in names:
                    return names, set(), set()
                columns = {column["name"] for column in inspector.get_columns("device_holds")}
                indexes = {index["name"] for index in inspector.get_indexes("device_holds")}
                return names, columns, indexes

            return await connection.run_sync(read)
    finally:
        await services.close()


async def test_device_holds_down_and_up(settings) -> None:
    names, columns, indexes = await _tables(settings)
    assert "device_holds" in names
    assert columns == {column.name for column in device_holds.columns}
    assert indexes == {index.name for index in device_holds.indexes}
    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0036")
    names, _, _ = await _tables(settings)
    assert "device_holds" not in names and "devices" in names
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    names, columns, _ = await _tables(settings)
    assert "device_holds" in names and columns == {column.name for column in device_holds.columns}
