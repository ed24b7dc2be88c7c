"""A device's offline uses over MQTT through the real broker (issue 15, point 4): the `offline-uses` operation, a
redelivered message answering the first answer, and the same uses in a new message answering `replayed` — the card
is charged once for each use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import add_device
from tests.mqtt.conftest import Bridged
from tests.support import auth, client, enrol, new_key

pytestmark = pytest.mark.anyio
CARD = "7700-0002"


async def _charges(bridged: Bridged) -> int:
    async with bridged.services.engine.connect() as connection:
        query = sa.text("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'device_charge'")
        return int(await connection.scalar(query))


async def test_a_device_uploads_its_offline_uses_over_mqtt(bridged: Bridged) -> None:
    services, network = bridged.services, bridged.network
    async with client(services) as http:
        await enrol(http, network.shop_key, CARD)
        topped = await http.post(
            "/v1/wallets/top-ups", json={"customer": CARD, "amount": "10.00"}, headers=auth(network.shop_key, new_key())
        )
        assert topped.status_code == 201, topped.text
    created = datetime.now(UTC) - timedelta(hours=1)
    game = await add_device(services, network.ref, "Game", "arcade", {"per_use": "2.50"}, created_at=created)
    sold = datetime.now(UTC) - timedelta(minutes=30)
    uses = [
        {"key": "off-1", "customer": CARD, "occurred_at": sold.isoformat()},
        {"key": "off-2", "customer": CARD, "occurred_at": (sold + timedelta(minutes=1)).isoformat()},
    ]

    async with bridged.device(game.key, str(game.id)) as device:
        message_id = new_key()
        first = await device.call("offline-uses", {"uses": uses}, message_id=message_id)
        assert first.status == 200, first
        assert [r["result"] for r in first.body["results"]] == ["charged", "charged"]
        assert first.body["results"][1]["wallet"]["balance"] == "5.00"
        again = await device.call("offline-uses", {"uses": uses}, message_id=message_id)
        assert again.replayed and again.body == first.body  # the broker's redelivery
        anew = await device.call("offline-uses", {"uses": uses})  # the device sends its day again
        assert [r["result"] for r in anew.body["results"]] == ["replayed", "replayed"], anew
    assert await _charges(bridged) == 2
    assert await verify(services.engine) == []
