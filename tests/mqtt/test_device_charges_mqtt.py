"""The device's money over MQTT through the real broker (issue 15, point 3): authorize, a charge, a hold captured in
part and a timed session, each a message answered on its topic; a charge redelivered (the same message id) takes
the money once.

The card holds 100.00 (topped up at the shop). The vending machine's slot A1 costs 1.20; it charges A1 (98.80
left), the same message again changes nothing; a hold of 5.00 is captured for 3.50 (95.30 left); the billiard table
at 0.50 a minute holds 30.00 for 60 minutes and is stopped after 7 minutes: 3.50 (91.80 left)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import add_device
from tests.mqtt.conftest import Bridged
from tests.support import auth, client, enrol, new_key

pytestmark = pytest.mark.anyio
CARD = "7700-0001"
VENDING = {"slots": {"A1": {"name": "Water 0.5 l", "price": "1.20"}}}
TABLE = {"per_minute": "0.50", "max_minutes": 60}


async def _charges(bridged: Bridged) -> int:
    async with bridged.services.engine.connect() as connection:
        query = sa.text("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'device_charge'")
        return int(await connection.scalar(query))


async def test_a_device_charges_holds_and_times_a_session_over_mqtt(bridged: Bridged) -> None:
    services, network = bridged.services, bridged.network
    async with client(services) as http:
        await enrol(http, network.shop_key, CARD)
        topped = await http.post(
            "/v1/wallets/top-ups",
            json={"customer": CARD, "amount": "100.00"},
            headers=auth(network.shop_key, new_key()),
        )
        assert topped.status_code == 201, topped.text
    vending = await add_device(services, network.ref, "Vending", "vending", VENDING)
    table = await add_device(services, network.ref, "Billiards", "timed_table", TABLE)

    async with bridged.device(vending.key, str(vending.id)) as device:
        asked = await device.call("authorize", {"customer": CARD, "product": "A1"})
        assert asked.status == 200, asked
        assert (asked.body["allowed"], asked.body["price"], asked.body["uses"]) == (True, "1.20", 83)
        message_id = new_key()
        charged = await device.call("charge", {"customer": CARD, "product": "A1"}, message_id=message_id)
        assert charged.status == 201, charged
        assert (charged.body["amount"], charged.body["wallet"]["balance"]) == ("1.20", "98.80")
        again = await device.call("charge", {"customer": CARD, "product": "A1"}, message_id=message_id)
        assert again.replayed and again.body == charged.body  # the broker's redelivery: charged once
        assert await _charges(bridged) == 1

        held = await device.call("hold", {"customer": CARD, "amount": "5.00"})
        assert held.status == 201 and held.body["status"] == "held", held
        captured = await device.call("capture", {"amount": "3.50"}, path={"hold": held.body["hold"]})
        assert captured.status in (200, 201), captured
        assert (captured.body["captured"], captured.body["released"]) == ("3.50", "1.50")
        twice = await device.call("capture", {"amount": "1.00"}, path={"hold": held.body["hold"]})
        assert twice.status == 409 and twice.body["field"] == "hold", twice  # a second capture, a new message

    async with bridged.device(table.key, str(table.id)) as device:
        started = await device.call("session-start", {"customer": CARD})
        assert started.status == 201 and started.body["amount"] == "30.00", started
        stopped = await device.call("session-stop", {"minutes": 7}, path={"session": started.body["session"]})
        assert stopped.body["captured"] == "3.50", stopped
        assert stopped.body["released"] == "26.50"

    async with client(services) as http:
        wallet = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(network.shop_key))
        assert wallet.json()["balance"] == "91.80", wallet.text
    assert await verify(services.engine) == []
