"""The topic must be the key's device's (docs/mqtt.md, "The topic and the key"): a device that publishes with its own
key on another device's topic, or another network's, or a till's key on any topic, is refused (403, field `topic`)
on that topic's answer topic, and nothing is charged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.http.device_charge_support import add_device
from tests.mqtt.conftest import Bridged
from tests.support import auth, client, enrol, new_key

pytestmark = pytest.mark.anyio
CARD = "7700-0003"
PROBLEMS = "https://coalition.dev/problems/"


async def _charges(bridged: Bridged) -> int:
    async with bridged.services.engine.connect() as connection:
        query = sa.text("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'device_charge'")
        return int(await connection.scalar(query))


def _refused(reply) -> None:
    assert reply.status == 403, reply
    assert (reply.body["type"], reply.body["field"]) == (PROBLEMS + "forbidden", "topic"), reply.body


async def test_a_device_on_another_devices_topic_is_refused_and_charges_nothing(bridged: Bridged) -> None:
    services, network = bridged.services, bridged.network
    async with client(services) as http:
        await enrol(http, network.shop_key, CARD)
        body = {"customer": CARD, "amount": "50.00"}
        topped = await http.post("/v1/wallets/top-ups", json=body, headers=auth(network.shop_key, new_key()))
        assert topped.status_code == 201, topped.text
    mine = await add_device(services, network.ref, "Mine", "arcade", {"per_use": "2.00"})
    theirs = await add_device(services, network.ref, "Theirs", "arcade", {"per_use": "2.00"})

    async with bridged.device(mine.key, str(theirs.id)) as device:  # my key, their topic
        _refused(await device.call("charge", {"customer": CARD}))
        _refused(await device.call("wallet", path={"member": CARD}))  # their answers stay theirs, reads too
        _refused(await device.call("config"))
    async with bridged.device(network.shop_key, str(mine.id)) as device:  # a till's key: no device's topic
        _refused(await device.call("use", {"customer": CARD}))
    assert await _charges(bridged) == 0

    async with bridged.device(mine.key, str(mine.id)) as device:  # its own topic: served
        charged = await device.call("charge", {"customer": CARD})
        assert charged.status == 201, charged
    assert await _charges(bridged) == 1


async def test_the_api_refuses_a_topic_of_another_network_or_unreadable(bridged: Bridged) -> None:
    """The header the bridge adds, sent straight to the API: another network's code, or a topic without a device."""
    mine = await add_device(bridged.services, bridged.network.ref, "Mine", "arcade", {"per_use": "2.00"})
    async with client(bridged.services) as http:
        for topic in (f"other/{mine.id}", f"{bridged.network.ref.code}/{mine.id + 1000}", "nodevice", "a/b/c"):
            headers = auth(mine.key) | {"Coalition-Device-Topic": topic}
            refused = await http.get("/v1/devices/me", headers=headers)
            assert refused.status_code == 403, (topic, refused.text)
            assert refused.json()["field"] == "topic"
        headers = auth(mine.key) | {"Coalition-Device-Topic": f"{bridged.network.ref.code}/{mine.id}"}
        assert (await http.get("/v1/devices/me", headers=headers)).status_code == 200
