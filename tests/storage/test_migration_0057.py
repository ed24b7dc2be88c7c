"""Migration 0057 on both engines: a member's coupons get their index (member_id, id), which goes with the downgrade
and comes back with the upgrade; the coupons stay."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.wiring import build_services

pytestmark = pytest.mark.anyio


async def _coupon_indexes(settings) -> dict[str, list[str]]:
    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:

            def inspect(sync_connection: sa.Connection) -> dict[str, list[str]]:
                found = sa.inspect(sync_connection).get_indexes("coupons")
                return {str(index["name"]): list(index["column_names"]) for index in found}

            return await connection.run_sync(inspect)
    finally:
        await services.close()


async def test_the_coupons_member_index_comes_and_goes(settings) -> None:
    assert (await _coupon_indexes(settings))["ix_coupons_member_id_id"] == ["member_id", "id"]
    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0056")
    assert "ix_coupons_member_id_id" not in await _coupon_indexes(settings)
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    assert (await _coupon_indexes(settings))["ix_coupons_member_id_id"] == ["member_id", "id"]
