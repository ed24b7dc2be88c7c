"""The HTTP scenario of `make bench-devices` (bench/devices.py), briefly, on both engines: its hand-written HTTP/1.1
client drives authorize + charge at a real uvicorn for half a second, then at a fixed rate (open loop) for another
half second; every answer is a success, and the charges answered 201 are the DEVICE_CHARGE transactions the ledger
gained."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
import uvicorn
from bench.devices import CARD_PREFIX, KINDS, PRICE_LIST, BenchDevice, http_load
from bench.devices_rate import fixed_rate_load

from coalition.adapters.http.app import create_app
from coalition.adapters.storage.verify import verify
from coalition.settings import Settings
from coalition.wiring import Services
from tests.http.device_charge_support import add_device
from tests.support import auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio
MEMBERS = 3


@pytest.fixture()
def settings(database_url: str) -> Settings:
    """As the benchmark runs its server: one address and few keys far over the default rate limits."""
    return Settings(
        database_url=database_url,
        operator_token="operator-secret",
        public_url="http://testserver",
        rate_limit_address="off",
        rate_limit_terminal_key="off",
        member_lookups="off",
    )


async def test_the_benchmarks_devices_authorize_and_charge_over_http(services: Services) -> None:
    network = await make_network(services, "bench-http")
    async with client(services) as http:
        for number in range(1, MEMBERS + 1):
            card = f"{CARD_PREFIX}{number:08d}"
            await enrol(http, network.shop_key, card)
            body = {"customer": card, "amount": "500.00"}
            topped = await http.post("/v1/wallets/top-ups", json=body, headers=auth(network.shop_key, new_key()))
            assert topped.status_code == 201, topped.text
    devices = []
    for kind in KINDS:
        added = await add_device(services, network.ref, kind.title(), kind, PRICE_LIST)
        devices.append(BenchDevice(added.id, added.key, kind))
    config = uvicorn.Config(create_app(services=services), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the server did not start"
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]

        kinds, refused, first_error, seconds = await http_load(port, devices, MEMBERS, connections=2, seconds=0.5)
        at_rate, rate_error, started = await fixed_rate_load(port, devices, MEMBERS, rate=20.0, seconds=0.5)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 20)

    charged = kinds["charge"].statuses["201"]
    assert (first_error, refused) == ("", 0)
    assert dict(kinds["authorize"].statuses) == {"200": charged}
    assert dict(kinds["charge"].statuses) == {"201": charged}
    assert charged > 0 and len(kinds["pair"].samples) == charged
    assert 0.5 <= seconds < 10
    at_rate_charged = at_rate["charge"].statuses["201"]  # open loop: about 10 pairs in half a second
    assert rate_error == "" and at_rate_charged > 0 and dict(at_rate["charge"].statuses) == {"201": at_rate_charged}
    assert len(at_rate["pair"].samples) == at_rate_charged == started
    async with services.engine.connect() as connection:
        query = sa.text("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'device_charge'")
        assert int(await connection.scalar(query)) == charged + at_rate_charged
    assert await verify(services.engine) == []
