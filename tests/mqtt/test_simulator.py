"""The simulated machines over both transports: a turnstile lets a member in and out through the visit routes over
MQTT and over HTTP alike, and a machine that asks a route the server does not serve stops with the problem shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coalition.adapters.http.app import create_app
from coalition.adapters.mqtt.device_client import HttpDeviceClient, Reply
from coalition.adapters.mqtt.simulator import Machine, Report, Simulator
from tests.http.device_charge_support import add_device
from tests.mqtt.conftest import Bridged
from tests.support import auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

CARD = "7700-0002"


def recorder() -> tuple[list[tuple[str, Reply]], Report]:
    seen: list[tuple[str, Reply]] = []
    return seen, lambda operation, reply: seen.append((operation, reply))


async def test_a_turnstile_over_mqtt_starts_and_ends_visits(bridged: Bridged) -> None:
    async with client(bridged.services) as http:
        await enrol(http, bridged.network.shop_key, CARD)
    gate = await add_device(bridged.services, bridged.network.ref, "Gate", "turnstile", {"per_use": "0.00"})
    seen, report = recorder()
    async with bridged.device(gate.key, str(gate.id)) as device:
        machine = Machine("turnstile", CARD, wait_seconds=0)
        assert await Simulator(device, machine, report).run(2) == 2
    assert [(operation, reply.status) for operation, reply in seen] == [
        ("visit-start", 201),
        ("visit-end", 200),
        ("visit-start", 201),
        ("visit-end", 200),
    ]
    assert seen[0][1].body["id"] == seen[1][1].body["id"]
    assert seen[1][1].body["state"] == "ended"


async def test_the_same_machine_over_http_and_a_refusal_stops_a_customer(services) -> None:
    network = await make_network(services, "sim-http")
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with client(services) as http:
        await enrol(http, network.shop_key, CARD)
    seen, report = recorder()
    http = httpx.AsyncClient(transport=transport, base_url="http://test")
    async with HttpDeviceClient(http, network.shop_key) as device:
        assert await Simulator(device, Machine("turnstile", CARD, wait_seconds=0), report).run(1) == 1
        assert await Simulator(device, Machine("turnstile", "NOBODY", wait_seconds=0), report).run(1) == 0
    assert [(operation, reply.status) for operation, reply in seen] == [
        ("visit-start", 201),
        ("visit-end", 200),
        ("visit-start", 404),
    ]
    assert seen[-1][1].body["field"] == "customer"


@pytest.mark.parametrize("kind", ["vending", "arcade", "dispenser", "timed_table", "kiosk"])
async def test_a_refused_machine_stops_with_that_customer_and_shows_why(bridged: Bridged, kind: str) -> None:
    """A till's key is no device's: refused on a device's topic (403)."""
    seen, report = recorder()
    async with bridged.device(bridged.network.shop_key) as device:
        assert await Simulator(device, Machine(kind, CARD, wait_seconds=0), report).run(2) == 0
    assert len(seen) == 2  # the first call of each customer, and no further
    assert all(reply.status in (403, 404) and reply.body["type"].startswith("https://") for _, reply in seen)


async def test_a_crashing_machine_holds_and_does_nothing_more(bridged: Bridged) -> None:
    seen, report = recorder()
    async with bridged.device(bridged.network.shop_key) as device:
        machine = Machine("vending", CARD, product="A1", crash_after_hold=True)
        await Simulator(device, machine, report).run(3)
    assert [operation for operation, _ in seen] == ["hold"]


async def _arcade_with_card(services, network) -> str:
    """An arcade at 2.50 a play; the card holds 3.00: one play in full, the next short of 2.00."""
    async with client(services) as http:
        await enrol(http, network.shop_key, CARD)
        body = {"customer": CARD, "amount": "3.00"}
        topped = await http.post("/v1/wallets/top-ups", json=body, headers=auth(network.shop_key, new_key()))
        assert topped.status_code == 201, topped.text
    created = datetime.now(UTC) - timedelta(hours=1)
    return (await add_device(services, network.ref, "Game", "arcade", {"per_use": "2.50"}, created_at=created)).key


def _offline_story(seen: list[tuple[str, Reply]], simulator: Simulator) -> None:
    operation, uploaded = seen[0]
    assert (operation, uploaded.status) == ("offline-uses", 200), uploaded
    assert [use["result"] for use in uploaded.body["results"]] == ["charged", "short"]
    assert [use["unpaid"] for use in uploaded.body["results"]] == ["0.00", "2.00"]
    keys = [use["key"] for use in uploaded.body["results"]]
    assert len(set(keys)) == 2 and simulator.offline == []  # each use its own key, none left to upload
    assert [(operation, reply.status) for operation, reply in seen[1:]] == [
        ("charge", 422)
    ]  # back online: the card is empty


async def test_a_machine_sells_offline_and_uploads_its_uses_over_http(services) -> None:
    network = await make_network(services, "sim-offline")
    key = await _arcade_with_card(services, network)
    seen, report = recorder()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services=services)), base_url="http://t")
    async with HttpDeviceClient(http, key) as device:
        simulator = Simulator(device, Machine("arcade", CARD, offline_for=2), report)
        assert await simulator.run(3) == 2  # two kept offline, the third refused online
    _offline_story(seen, simulator)


async def test_a_machine_sells_offline_and_uploads_its_uses_over_mqtt(bridged: Bridged) -> None:
    key = await _arcade_with_card(bridged.services, bridged.network)
    game_id = await _device_id(bridged, key)
    seen, report = recorder()
    async with bridged.device(key, game_id) as device:
        simulator = Simulator(device, Machine("arcade", CARD, offline_for=2), report)
        assert await simulator.run(3) == 2
    _offline_story(seen, simulator)


async def _device_id(bridged: Bridged, key: str) -> str:
    async with client(bridged.services) as http:
        me = await http.get("/v1/devices/me", headers=auth(key))
    return str(me.json()["id"])
