"""Webhook events of gift cards, devices and cards issued at a till (issue 16), both engines, each queued once in the
transaction of its cause: a new anonymous card enrols a member; a gift card sold, paying purchases (alone and in a
batch), expired; a device's one-shot charge (taking the locked path while someone listens), a hold's capture and
an offline use uploaded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from coalition.application.gift_cards import GiftCardRequest
from coalition.application.webhooks import NewSubscription
from coalition.domain.webhooks import EVENT_KINDS
from tests.http.device_charge_support import ARCADE_PRICES, CARD, add_device, park_with_wallet
from tests.http.test_gift_card_tenders import pay, sell, set_card
from tests.http.water_park import DAY_START
from tests.support import auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio


async def _queued(services) -> list[tuple[str, str, dict]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(text("SELECT event_kind, event_id, payload FROM outbox_messages ORDER BY id"))
        return [(row[0], row[1], json.loads(row[2])["data"]) for row in rows]


async def test_a_new_anonymous_card_enrols_a_member(services) -> None:
    network = await make_network(services)
    await services.webhooks.create(network.ref, NewSubscription("https://hooks.example/m", ("member.enrolled",)))
    async with client(services) as http:
        issued = await http.post("/v1/cards", json={"number": "5100-0001"}, headers=auth(network.shop_key, new_key()))
        assert issued.status_code == 201, issued.text
        to_member = {"number": "5100-0002", "member": "5100-0001"}  # a second card of the same member: no event
        assert (await http.post("/v1/cards", json=to_member, headers=auth(network.shop_key, new_key()))).is_success
    [(kind, event_id, data)] = await _queued(services)
    member_id = issued.json()["member_id"]
    assert (kind, event_id) == ("member.enrolled", f"member:{member_id}")
    assert data["kind"] == "anonymous" and data["card_number"] == "51000001" and data["points_balance"] == 0


async def test_a_gift_card_sold_redeemed_and_expired_queues_each_once(services) -> None:
    network = await make_network(services)
    kinds = ("gift_card.sold", "gift_card.redeemed", "gift_card.expired")
    await services.webhooks.create(network.ref, NewSubscription("https://hooks.example/g", kinds))
    async with client(services) as http:
        await enrol(http, network.shop_key, "7700-0001")
        number = await sell(http, network.shop_key, "100.00")
        paid = await pay(http, network.cafe_key, "30.00", [{"kind": "gift_card", "number": number}])
        assert paid.status_code == 201, paid.text
        item = {"customer": "7700-0001", "amount": "20.00", "tenders": [{"kind": "gift_card", "number": number}]}
        batch = {"purchases": [item | {"receipt": f"B{n}", "idempotency_key": new_key()} for n in range(2)]}
        answer = await http.post("/v1/purchases/batch", json=batch, headers=auth(network.cafe_key))
        assert [result["status"] for result in answer.json()["results"]] == [201, 201], answer.text
        batch_ids = [result["body"]["id"] for result in answer.json()["results"]]
    await services.gift_cards.issue(network.ref, GiftCardRequest("10.00"))  # the administrator's: not a sale
    now = datetime.now(UTC)
    await set_card(services, number, "valid_from = :f, valid_until = :t", f=now - timedelta(days=2), t=now)
    await services.gift_cards.expire(network.ref.id)
    await services.gift_cards.expire(network.ref.id)  # nothing more expires: no second event
    queued = await _queued(services)
    assert [kind for kind, _, _ in queued] == ["gift_card.sold", *["gift_card.redeemed"] * 3, "gift_card.expired"]
    sold, expired = queued[0][2], queued[-1][2]
    assert sold["card_number"] == number and sold["amount_minor"] == 10000 and sold["partner_id"] is not None
    redeemed = [(data["purchase_id"], data["amount_minor"], data["balance_minor"]) for _, _, data in queued[1:4]]
    assert redeemed == [(paid.json()["id"], 3000, 7000), (batch_ids[0], 2000, 5000), (batch_ids[1], 2000, 3000)]
    assert (expired["card_number"], expired["balance_minor"]) == (number, 3000)


async def test_a_device_charge_and_a_capture_queue_device_charged(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http)
        arcade = await add_device(services, net, "Arcade 1", "arcade", ARCADE_PRICES)
        pump = await add_device(services, net, "Fuel", "dispenser", {"per_use": "30.00"})
        await services.webhooks.create(net, NewSubscription("https://hooks.example/d", EVENT_KINDS))
        before = len(await _queued(services))
        key = new_key()
        charged = await http.post("/v1/devices/charges", json={"customer": CARD}, headers=auth(arcade.key, key))
        assert charged.status_code == 201, charged.text
        again = await http.post("/v1/devices/charges", json={"customer": CARD}, headers=auth(arcade.key, key))
        assert again.json() == charged.json()  # a replay: nothing queued again
        held = await http.post("/v1/devices/holds", json={"customer": CARD}, headers=auth(pump.key, new_key()))
        hold = held.json()["hold"]
        capture = f"/v1/devices/holds/{hold}/capture"
        captured = await http.post(capture, json={"amount": "12.40"}, headers=auth(pump.key, new_key()))
        assert captured.status_code == 200, captured.text
        voided = await http.post("/v1/devices/holds", json={"customer": CARD}, headers=auth(pump.key, new_key()))
        void = f"/v1/devices/holds/{voided.json()['hold']}/void"
        assert (await http.post(void, headers=auth(pump.key, new_key()))).status_code == 200  # a void charges nothing
    queued = [item for item in (await _queued(services))[before:] if item[0] == "device.charged"]
    assert [(data["kind"], data["amount_minor"], data["device_id"]) for _, _, data in queued] == [
        ("charge", 250, arcade.id),
        ("capture", 1240, pump.id),
    ]
    assert queued[1][1] == f"device_charge:{hold}" and queued[0][2]["currency"] == "RUB"


async def test_an_offline_use_uploaded_queues_device_charged_once(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http)
        arcade = await add_device(
            services, net, "Arcade 1", "arcade", ARCADE_PRICES, created_at=DAY_START - timedelta(days=1)
        )
        await services.webhooks.create(net, NewSubscription("https://hooks.example/o", ("device.charged",)))
        clock.moment = DAY_START + timedelta(hours=2)
        uses = {
            "uses": [{"key": "u-1", "customer": CARD, "occurred_at": (DAY_START + timedelta(minutes=10)).isoformat()}]
        }
        for _ in range(2):  # uploaded again: the same use, nothing more queued
            uploaded = await http.post("/v1/devices/offline-uses", json=uses, headers=auth(arcade.key))
            assert uploaded.status_code == 200, uploaded.text
    [(kind, event_id, data)] = await _queued(services)
    assert (kind, event_id) == ("device.charged", f"device_offline:{arcade.id}:u-1")
    assert (data["kind"], data["amount_minor"], data["unpaid_minor"]) == ("offline", 250, 0)
