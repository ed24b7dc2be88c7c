"""Migration 0018 on a database with data: existing lots learn their granting partner, and it goes down and up."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.adapters.storage.verify import verify
from coalition.wiring import build_services
from tests.http.water_park import DAY_START, Clock, buy, water_park
from tests.support import auth, client, enrol, new_key

pytestmark = pytest.mark.anyio

_LOTS = "SELECT id, granting_partner_id, remaining FROM lots ORDER BY id"


async def test_lots_recorded_before_0018_take_the_grantor_of_the_transaction_that_created_them(settings):
    clock = Clock()
    services = build_services(settings, clock=clock)
    try:
        _, keys, partner_ids = await water_park(services)
        clock.moment = DAY_START + timedelta(hours=1)
        async with client(services) as http:
            await enrol(http, keys["Tickets"], "7700-0501")
            await buy(http, keys["Tickets"], "7700-0501", "2000.00")  # lot 1: 200 of Tickets'
            cafe = await buy(http, keys["Cafe"], "7700-0501", "400.00", redeem=200)  # lot 2: 20 of the café's
            refund = await http.post(
                f"/v1/purchases/{cafe['id']}/refunds", json={"amount": "400.00"}, headers=auth(keys["Cafe"], new_key())
            )
            assert refund.status_code == 201, refund.text  # lot 3: the 200 spent points back, Tickets'
        async with services.engine.connect() as connection:
            before = [tuple(row) for row in await connection.execute(sa.text(_LOTS))]
    finally:
        await services.close()
    tickets, cafe_id = partner_ids["Tickets"], partner_ids["Cafe"]
    assert before == [(1, tickets, 0), (2, cafe_id, 0), (3, tickets, 200)]

    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0017")
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)

    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:
            after = [tuple(row) for row in await connection.execute(sa.text(_LOTS))]
            policy = (await connection.execute(sa.text("SELECT points_breakage FROM networks"))).scalar_one()
        # the refund's lot takes the grantor of the lot its purchase spent from, not the refunding café
        assert after == before
        assert policy == "kept"
        assert await verify(services.engine) == []
    finally:
        await services.close()
