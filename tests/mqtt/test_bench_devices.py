"""The MQTT scenario of `make bench-devices` (bench/devices_mqtt.py), briefly, through the real broker and the bridge
over the application in process: three devices charging three cards for two seconds are counted clean — every
charge sent answered 201 once, as many distinct charges and DEVICE_CHARGE transactions, none lost — and the ledger
verifies."""

from __future__ import annotations

import argparse

import pytest
import sqlalchemy as sa
from bench.devices import CARD_PREFIX, KINDS, PRICE_LIST, BenchDevice
from bench.devices_mqtt import charge_counts, heartbeat_operation, load

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import add_device
from tests.mqtt.conftest import BROKER_HOST, BROKER_PORT, Bridged
from tests.support import auth, client, enrol, new_key

pytestmark = pytest.mark.anyio
MEMBERS = 3


async def test_the_benchmarks_devices_are_counted_clean(bridged: Bridged) -> None:
    services, network = bridged.services, bridged.network
    async with client(services) as http:
        for number in range(1, MEMBERS + 1):
            card = f"{CARD_PREFIX}{number:08d}"
            await enrol(http, network.shop_key, card)
            body = {"customer": card, "amount": "100.00"}
            topped = await http.post("/v1/wallets/top-ups", json=body, headers=auth(network.shop_key, new_key()))
            assert topped.status_code == 201, topped.text
    devices = []
    for kind in KINDS:
        added = await add_device(services, network.ref, kind.title(), kind, PRICE_LIST)
        devices.append(BenchDevice(added.id, added.key, kind))
    args = argparse.Namespace(
        mqtt_duration=2.0, charge_every=0.5, heartbeat_every=1.0, members=MEMBERS, broker=f"{BROKER_HOST}:{BROKER_PORT}"
    )

    tally, replies, seconds = await load(devices, args, None, network=network.ref.code)

    counts = charge_counts(tally, replies)
    async with services.engine.connect() as connection:
        query = sa.text("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'device_charge'")
        ledger = int(await connection.scalar(query))
    assert counts["charges_sent"] == 4 * len(devices)  # every 0.5 s for 2 s, the first within the first period
    assert counts["charges_sent"] == counts["charges_201"] == counts["charge_ids"] == ledger
    assert (counts["lost"], counts["repeats"], counts["statuses"]) == (0, 0, {"201": ledger})
    assert 2.0 <= seconds < 10  # the whole period, and the last answers after it
    assert await verify(services.engine) == []


def test_heartbeats_use_the_best_route_the_server_has() -> None:
    assert heartbeat_operation("auto", {"/v1/devices/heartbeat": {}, "/v1/devices/me": {}}) == "heartbeat"
    assert heartbeat_operation("auto", {"/v1/devices/me": {}}) == "config"
    assert heartbeat_operation("auto", {}) is None
    assert heartbeat_operation("off", {"/v1/devices/heartbeat": {}}) is None
    assert heartbeat_operation("config", {}) == "config"
