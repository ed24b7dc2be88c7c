"""Migration 0038 on both engines: the price lists of devices registered before it are backfilled from their
creation, the tables go away on the way down and come back on the way up as the schema declares them."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.adapters.storage.tables import as_utc, device_offline_uses, device_price_lists
from coalition.application.admin import NetworkRef
from coalition.wiring import build_services
from tests.http.water_park import PROGRAM

pytestmark = pytest.mark.anyio

CREATED = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


def _columns(sync: sa.Connection, table: str) -> set[str]:
    inspector = sa.inspect(sync)
    if table not in inspector.get_table_names():
        return set()
    return {column["name"] for column in inspector.get_columns(table)}


async def test_price_lists_backfilled_and_the_tables_down_and_up(settings) -> None:
    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0037")
    services = build_services(settings)
    try:
        created = await services.admin.create_network("mig", "Migration", "RUB", PROGRAM)
        net = NetworkRef(created["id"], "mig", "Migration", "RUB")
        partner = await services.admin.create_partner(net, "Games")
        outlet = await services.admin.create_outlet(net, partner["id"], "Games machine", "Europe/Moscow")
        terminal = await services.admin.create_terminal(net, outlet["id"], "device")
        async with services.engine.begin() as connection:
            names = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
            assert "device_price_lists" not in names and "device_offline_uses" not in names
            await connection.execute(
                sa.text(
                    "INSERT INTO devices (network_id, outlet_id, terminal_id, kind, price_list, created_at) "
                    "VALUES (:n, :o, :t, 'arcade', :p, :at)"
                ),
                {"n": net.id, "o": outlet["id"], "t": terminal["id"], "p": '{"per_use": "2.50"}', "at": CREATED},
            )
    finally:
        await services.close()

    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:
            lists = device_price_lists
            rows = (await connection.execute(sa.select(lists.c.effective_from, lists.c.price_list))).all()
            assert [(as_utc(row[0]), row[1]) for row in rows] == [(CREATED, '{"per_use": "2.50"}')]
            for table in (device_price_lists, device_offline_uses):
                found = await connection.run_sync(lambda sync, name=table.name: _columns(sync, name))
                assert found == {column.name for column in table.columns}
    finally:
        await services.close()
