"""The MQTT scenario of `make bench-devices` (bench/devices_mqtt.py), briefly, through the real broker and the bridge
over the application in process: three devices charging three cards for two seconds are counted clean — every
charge sent answered 201 once, as many distinct charges and DEVICE_CHARGE transactions, none lost — and the ledger
verifies."""

from __future__ import annotations

import argparse

import pytest
import sqlalchemy as sa
from bench.devices import CARD_PREFIX, KINDS, PRICE_LIST, BenchDevice
from bench.devices_mqtt import MqttResult, charge_counts, heartbeat_operation, load

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
    # every 0.5 s for 2 s: 4 a device, the first within the first period (fewer when a loaded host delays a tick)
    assert len(devices) <= counts["charges_sent"] <= 4 * len(devices)
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


def test_a_run_is_clean_only_when_every_charge_is_answered_once_and_in_the_ledger() -> None:
    figures = {"count": 0, "rate": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    result = MqttResult(
        devices=2,
        workers=1,
        seconds=10.0,
        charge_every=5.0,
        heartbeat_every=10.0,
        heartbeat_op="heartbeat",
        charges_sent=4,
        charges_201=4,
        charge_ids=4,
        ledger_charges=4,
        lost=0,
        statuses={"201": 4},
        repeats=1,  # a retry answered with the stored first answer: not a second charge
        replayed=1,
        heartbeats_sent=2,
        heartbeat_statuses={"200": 2},
        heartbeats_lost=0,
        latency={"charge": figures, "heartbeat": figures},
        cpu_cores=dict.fromkeys(("server", "bridge", "postgres", "devices", "other"), 0.0),
        cpu_ms_per_charge=dict.fromkeys(("server", "bridge", "postgres"), 0.0),
    )
    assert result.clean and "none doubled" in result.text()
    result.ledger_charges = 5
    assert result.problems() == ["sent, answered 201, distinct charges and DEVICE_CHARGE transactions differ"]
    result.ledger_charges, result.lost, result.heartbeat_statuses = 4, 1, {"200": 1, "404": 1}
    assert result.problems() == ["1 charges never answered", "1 heartbeats answered other than 2xx"]
    assert "NOT CLEAN" in result.text()
