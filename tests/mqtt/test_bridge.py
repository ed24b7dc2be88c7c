"""Devices over MQTT through the real broker: each message becomes its HTTP request, so a redelivered message (same
id) replays the first answer and changes the ledger once, and a malformed one is answered with a problem naming the
field — on its operation's answer topic, or on .../res/error when its id cannot be read."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa

from coalition.adapters.mqtt.bridge import Bridge
from coalition.adapters.mqtt.protocol import MAX_PAYLOAD_BYTES
from coalition.adapters.storage.verify import verify
from tests.mqtt.conftest import BROKER_HOST, BROKER_PORT, Bridged, start_bridge
from tests.support import client, enrol, new_key

pytestmark = pytest.mark.anyio

CARD = "7700-0001"
PROBLEMS = "https://coalition.dev/problems/"


async def ledger_transactions(bridged: Bridged) -> int:
    async with bridged.services.engine.connect() as connection:
        return int(await connection.scalar(sa.text("SELECT COUNT(*) FROM ledger_transactions")))


async def enrolled(bridged: Bridged) -> None:
    async with client(bridged.services) as http:
        await enrol(http, bridged.network.shop_key, CARD)


def assert_problem(reply, status: int, code: str, field: str | None = None) -> None:
    assert reply.status == status, reply
    assert reply.body["type"] == PROBLEMS + code, reply.body
    assert reply.body["status"] == status
    if field is not None:
        assert reply.body.get("field") == field, reply.body


async def test_a_top_up_delivered_twice_is_booked_once_and_answered_alike(bridged: Bridged) -> None:
    await enrolled(bridged)
    async with bridged.device(bridged.kiosk.key) as device:
        message_id = new_key()
        first = await device.call("wallet-top-up", {"customer": CARD, "amount": "100.00"}, message_id=message_id)
        assert first.status == 201, first
        assert (first.body["balance"], first.body["topped_up"]) == ("100.00", "100.00")
        assert not first.replayed
        booked = await ledger_transactions(bridged)

        again = await device.call("wallet-top-up", {"customer": CARD, "amount": "100.00"}, message_id=message_id)
        assert again.status == 201
        assert again.replayed
        assert again.body == first.body
        assert await ledger_transactions(bridged) == booked

        wallet = await device.call("wallet", path={"member": CARD})
        assert (wallet.status, wallet.body["balance"]) == (200, "100.00")

        reused = await device.call("wallet-top-up", {"customer": CARD, "amount": "5.00"}, message_id=message_id)
        assert_problem(reused, 422, "idempotency-key-reused")
    assert await verify(bridged.services.engine) == []


async def test_the_same_message_published_twice_at_once_is_booked_once(bridged: Bridged) -> None:
    """What the broker does on a QoS 1 redelivery: the same bytes again, while the first may still be in hand."""
    await enrolled(bridged)
    async with bridged.device(bridged.kiosk.key) as device:
        message_id = new_key()
        payload = device.message(message_id, {"customer": CARD, "amount": "30.00"})
        await asyncio.gather(
            *(device.client.publish(device_topic(bridged, "wallet-top-up"), payload, qos=1) for _ in range(3))
        )
        async with asyncio.timeout(15):
            while len([r for r in device.replies if r.id == message_id]) < 3:
                await asyncio.sleep(0.05)
        answers = [r for r in device.replies if r.id == message_id]
        assert {r.status for r in answers} <= {201, 409}, answers
        assert any(r.status == 201 for r in answers)
        booked = [r.body for r in answers if r.status == 201]
        assert all(body == booked[0] for body in booked)
        wallet = await device.call("wallet", path={"member": CARD})
        assert wallet.body["balance"] == "30.00"
    assert await verify(bridged.services.engine) == []


def device_topic(bridged: Bridged, operation: str) -> str:
    return f"coalition/{bridged.network.ref.code}/devices/{bridged.kiosk.id}/req/{operation}"


async def test_a_device_use_over_mqtt_answers_as_over_http_and_counts_once(bridged: Bridged) -> None:
    await enrolled(bridged)
    async with bridged.device(bridged.kiosk.key) as device:
        message_id = new_key()
        used = await device.call("use", {"customer": CARD}, message_id=message_id)
        assert used.status == 201, used
        assert used.body["device"] == "Kiosk machine"
        again = await device.call("use", {"customer": CARD}, message_id=message_id)
        assert (again.status, again.body, again.replayed) == (201, used.body, True)
        async with bridged.services.engine.connect() as connection:
            uses = await connection.scalar(
                sa.text("SELECT COUNT(*) FROM idempotency_keys WHERE key = :k"), {"k": message_id}
            )
        assert uses == 1
        member = await device.call("member", path={"member": CARD})
        assert member.status == 200
        assert member.body["points_balance"] == 0


async def test_a_wrong_or_missing_key_is_the_http_layers_401(bridged: Bridged) -> None:
    await enrolled(bridged)
    async with bridged.device("not-a-key") as device:
        assert_problem(await device.call("use", {"customer": CARD}), 401, "unauthorized")
    async with bridged.device(None) as device:
        assert_problem(await device.call("use", {"customer": CARD}), 401, "unauthorized")


async def test_bad_input_is_the_http_layers_problem_naming_the_field(bridged: Bridged) -> None:
    await enrolled(bridged)
    async with bridged.device(bridged.kiosk.key) as device:
        assert_problem(await device.call("use", {}), 422, "invalid-input", "customer")
        nul = await device.call("wallet-top-up", {"customer": "7700\u00000001", "amount": "1.00"})
        assert nul.status == 422 and nul.body["field"] == "customer", nul
        huge = await device.call("wallet-top-up", {"customer": CARD, "amount": "9" * 40})
        assert huge.status == 422 and huge.body["field"] == "amount", huge
        unknown = await device.call("use", {"customer": "NOBODY"})
        assert_problem(unknown, 404, "member-not-found", "customer")


async def test_malformed_messages_are_answered_naming_the_field(bridged: Bridged) -> None:
    async with bridged.device(bridged.kiosk.key) as device:
        not_json = await device.send_unanswerable("use", b"{not json")
        assert_problem(not_json, 400, "malformed-message", "payload")
        assert (not_json.operation, not_json.id) == ("error", None)
        not_utf8 = await device.send_unanswerable("use", b'{"id": "\xff"}')
        assert_problem(not_utf8, 400, "malformed-message", "payload")
        nan = await device.send_unanswerable("use", b'{"id": "a", "body": {"x": NaN}}')
        assert_problem(nan, 400, "malformed-message", "payload")
        deep = await device.send_unanswerable("use", b"[" * 15000 + b"]" * 15000)
        assert deep.status in (400, 413)
        array = await device.send_unanswerable("use", b"[1, 2]")
        assert_problem(array, 422, "invalid-input", "payload")
        no_id = await device.send_unanswerable("use", json.dumps({"key": "k", "body": {}}))
        assert_problem(no_id, 422, "invalid-input", "id")
        long_id = await device.send_unanswerable("use", json.dumps({"id": "x" * 65}))
        assert_problem(long_id, 422, "invalid-input", "id")
        spaced_id = await device.send_unanswerable("use", json.dumps({"id": "a b"}))
        assert_problem(spaced_id, 422, "invalid-input", "id")

        key = bridged.kiosk.key
        unknown_op = await device.send("teleport", json.dumps({"id": "m1", "key": key}), "m1")
        assert_problem(unknown_op, 422, "invalid-input", "operation")
        assert unknown_op.operation == "teleport"
        body_list = await device.send("use", json.dumps({"id": "m2", "key": key, "body": [1]}), "m2")
        assert_problem(body_list, 422, "invalid-input", "body")
        key_number = await device.send("use", json.dumps({"id": "m3", "key": 42, "body": {}}), "m3")
        assert_problem(key_number, 422, "invalid-input", "key")
        extra = await device.send("use", json.dumps({"id": "m4", "key": key, "bodyy": {}}), "m4")
        assert_problem(extra, 422, "invalid-input", "bodyy")
        no_path = await device.send("member", json.dumps({"id": "m5", "key": key}), "m5")
        assert_problem(no_path, 422, "invalid-input", "path.member")
        dots = await device.send("member", json.dumps({"id": "m6", "key": key, "path": {"member": ".."}}), "m6")
        assert_problem(dots, 422, "invalid-input", "path.member")
        stray = await device.send("use", json.dumps({"id": "m7", "key": key, "path": {"hold": "h"}}), "m7")
        assert_problem(stray, 422, "invalid-input", "path.hold")
        slash = await device.call("member", path={"member": "../../admin/network"})
        assert slash.status == 404, slash  # one path segment: never another route

        padding = "x" * MAX_PAYLOAD_BYTES
        big = await device.send("use", json.dumps({"id": "m8", "key": key, "body": {"customer": padding}}), "m8")
        assert_problem(big, 413, "message-too-large", "payload")
        big_late_id = await device.send_unanswerable("use", json.dumps({"body": {"customer": padding}, "id": "m9"}))
        assert_problem(big_late_id, 413, "message-too-large", "payload")

        still = await device.call("member", path={"member": "nobody"})  # the bridge is still serving
        assert_problem(still, 404, "member-not-found")


async def test_the_bridge_answers_only_its_network_and_leaves_other_topics_alone(bridged: Bridged) -> None:
    async with bridged.device(bridged.kiosk.key) as device:
        device.network = "some-other-network"
        device.timeout_seconds, device.attempts = 0.5, 1
        with pytest.raises(TimeoutError):
            await device.call("member", path={"member": CARD})


async def test_a_retained_request_is_carried_out_live_and_never_again_by_a_later_bridge(bridged: Bridged) -> None:
    """The broker hands a retained message to every later subscriber, at any time: a bridge that subscribes later
    (a restart) ignores it instead of answering a request the device gave up on long ago."""
    await enrolled(bridged)
    async with bridged.device(bridged.kiosk.key) as device:
        topic = device_topic(bridged, "wallet-top-up")
        payload = device.message("retained-1", {"customer": CARD, "amount": "10.00"})
        await device.client.publish(topic, payload, qos=1, retain=True)
        try:
            async with asyncio.timeout(10):
                while not [reply for reply in device.replies if reply.id == "retained-1"]:
                    await asyncio.sleep(0.05)
            later = Bridge(bridged.bridge.forward, BROKER_HOST, BROKER_PORT, network=bridged.network.ref.code)
            task = await start_bridge(later)
            await asyncio.sleep(1)
            later.stop()
            await task
            assert len([reply for reply in device.replies if reply.id == "retained-1"]) == 1
            wallet = await device.call("wallet", path={"member": CARD})
            assert wallet.body["balance"] == "10.00"
        finally:
            await device.client.publish(topic, b"", qos=1, retain=True)  # the broker forgets it
