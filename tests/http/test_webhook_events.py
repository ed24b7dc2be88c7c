"""Events queued for webhooks in the transaction of their cause (issue 16), both engines: enrolment, purchase,
refund, wallet top-up and period close each queue their kind for a subscription listening to it, once; a command
refused queues nothing; a network nobody listens to queues nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from coalition.application.webhooks import NewSubscription
from coalition.domain.webhooks import EVENT_KINDS
from tests.http.test_expiry import expiring
from tests.http.test_gifts import _network_with_gift_rules
from tests.http.test_period_close import RULES as CLOSE_RULES
from tests.http.water_park import DAY_START, water_park
from tests.http.water_park import buy as park_buy
from tests.support import auth, buy, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio
__all__ = ["expiring"]  # the fixture, imported for pytest to find
TIER_RULES = {
    "rules": [
        {
            "code": "promote",
            "condition": 'member.tier != "gold" && member.lifetime_spend_minor + basket.total_minor >= 1000000',
            "effects": [{"set_tier": {"tier": "gold"}}],
        }
    ]
}


async def _queued(services) -> list[tuple[str, dict]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(text("SELECT event_kind, payload FROM outbox_messages ORDER BY id"))
        return [(row[0], json.loads(row[1])) for row in rows]


async def test_each_cause_queues_its_event_once(services) -> None:
    network = await make_network(services)
    await services.webhooks.create(network.ref, NewSubscription("https://hooks.example/all", EVENT_KINDS))
    async with client(services) as http:
        member = await enrol(http, network.shop_key, "7100-0001")
        bought = await buy(http, network.shop_key, "7100-0001", "2000.00")
        assert bought.status_code == 201
        purchase_id = bought.json()["id"]
        refund_body = {"amount": "500.00"}
        refunded = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json=refund_body, headers=auth(network.shop_key, new_key())
        )
        assert refunded.status_code == 201, refunded.text
        topped = await http.post(
            "/v1/wallets/top-ups",
            json={"customer": "7100-0001", "amount": "300.00"},
            headers=auth(network.shop_key, new_key()),
        )
        # a refused command (an unknown card) queues nothing
        assert (await buy(http, network.shop_key, "7100-9999", "10.00")).status_code == 404
    await services.period_close.run(network.ref.id, "2020-01")
    queued = await _queued(services)
    kinds = [kind for kind, _ in queued]
    expected = ["member.enrolled", "purchase.recorded", "purchase.refunded"]
    expected += ["wallet.topped_up"] if topped.status_code == 201 else []
    assert kinds == [*expected, "period.closed"]
    by_kind = dict(queued)
    assert by_kind["member.enrolled"]["data"]["member_id"] == member["member"]["id"]
    assert by_kind["purchase.recorded"]["data"]["purchase_id"] == purchase_id
    assert by_kind["purchase.refunded"]["data"]["refund_minor"] == 50000
    assert by_kind["period.closed"]["data"]["month"] == "2020-01"
    await services.period_close.run(network.ref.id, "2020-01")  # closed again: the same event, not queued twice
    assert len(await _queued(services)) == len(queued)


async def test_nobody_listening_nothing_queued_and_the_cache_follows_changes(services) -> None:
    network = await make_network(services)
    async with client(services) as http:
        await enrol(http, network.shop_key, "7100-0002")
        assert (await buy(http, network.shop_key, "7100-0002", "100.00")).status_code == 201
        assert await _queued(services) == []
        made = await services.webhooks.create(
            network.ref, NewSubscription("https://hooks.example/p", ("purchase.recorded",))
        )
        assert (await buy(http, network.shop_key, "7100-0002", "100.00")).status_code == 201
        assert [kind for kind, _ in await _queued(services)] == ["purchase.recorded"]
        await services.webhooks.pause(network.ref, made.id)  # paused: its events are kept for its resume
        assert (await buy(http, network.shop_key, "7100-0002", "100.00")).status_code == 201
        assert len(await _queued(services)) == 2
        await services.webhooks.delete(network.ref, made.id)  # deleted: nobody listens any more
        assert (await buy(http, network.shop_key, "7100-0002", "100.00")).status_code == 201
        assert len(await _queued(services)) == 2


async def test_a_gift_granted_and_honoured_and_points_expired_queue_their_events(park) -> None:
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        _, keys, _ = await _network_with_gift_rules(services, http)
        network = await services.admin.network("park")
        await services.webhooks.create(network, NewSubscription("https://hooks.example/gifts", EVENT_KINDS))
        await enrol(http, keys["Tickets"], "8900-0001")
        ticket = await park_buy(http, keys["Tickets"], "8900-0001", "2000.00")
        [gift] = ticket["gifts_granted"]
        honoured = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert honoured.status_code == 200, honoured.text
    queued = await _queued(services)
    assert [kind for kind, _ in queued] == ["member.enrolled", "purchase.recorded", "gift.granted", "gift.honoured"]
    granted, handed = queued[2][1]["data"], queued[3][1]["data"]
    assert granted["gift_id"] == gift["id"] == handed["gift_id"] and granted["purchase_id"] == ticket["id"]
    assert handed["price_minor"] == 30000 and handed["currency"] == "RUB"


async def test_points_expired_is_queued_by_the_expiry_job(expiring) -> None:
    services, clock, key = expiring
    network = await services.admin.network("expiring")
    await services.webhooks.create(network, NewSubscription("https://hooks.example/expiry", ("points.expired",)))
    async with client(services) as http:
        await enrol(http, key, "3201")
        assert (await buy(http, key, "3201", "5000.00")).status_code == 201
    clock.moment += timedelta(days=31)
    await services.pos.expire_points(network.id)
    await services.pos.expire_points(network.id)  # nothing left: no second event
    [(kind, event)] = await _queued(services)
    assert kind == "points.expired" and event["data"]["points"] == 150 and event["data"]["points_balance"] == 0


async def test_a_batch_queues_one_event_per_purchase(services) -> None:
    network = await make_network(services)
    await services.webhooks.create(network.ref, NewSubscription("https://hooks.example/b", ("purchase.recorded",)))
    async with client(services) as http:
        await enrol(http, network.shop_key, "7500-0001")
        batch = [
            {"idempotency_key": f"b{n}", "customer": "7500-0001", "amount": "100.00", "receipt": f"B{n}"}
            for n in range(3)
        ]
        answer = await http.post("/v1/purchases/batch", json={"purchases": batch}, headers=auth(network.shop_key))
        assert answer.status_code == 200, answer.text
        ids = [result["body"]["id"] for result in answer.json()["results"]]
    queued = await _queued(services)
    assert [event["data"]["purchase_id"] for _, event in queued] == ids


async def test_a_purchase_that_moves_a_member_to_another_tier_queues_tier_changed(services) -> None:
    network = await make_network(services)
    saved = await services.rules.save_draft(network.ref, TIER_RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(network.ref, None)
    await services.webhooks.create(network.ref, NewSubscription("https://hooks.example/t", ("member.tier_changed",)))
    async with client(services) as http:
        await enrol(http, network.shop_key, "7600-0001")
        assert (await buy(http, network.shop_key, "7600-0001", "100.00")).status_code == 201  # below: no change
        promoted = await buy(http, network.shop_key, "7600-0001", "10000.00")
        assert promoted.status_code == 201, promoted.text
    [(kind, event)] = await _queued(services)
    assert kind == "member.tier_changed"
    assert event["data"] == {
        "member_id": event["data"]["member_id"],
        "tier": "gold",
        "purchase_id": promoted.json()["id"],
    }


async def test_a_period_close_queues_tier_changes_and_the_close_once(park) -> None:
    services, clock = park
    clock.moment = datetime(2026, 7, 10, 12, tzinfo=UTC)
    async with client(services) as http:
        _, keys, _ = await water_park(services)
        net = await services.admin.network("park")
        assert (await services.rules.save_draft(net, CLOSE_RULES))["errors"] == 0
        await services.rules.publish(net, None)
        kinds = ("member.tier_changed", "period.closed")
        await services.webhooks.create(net, NewSubscription("https://hooks.example/close", kinds))
        await enrol(http, keys["Tickets"], "M-A")
        await park_buy(http, keys["Tickets"], "M-A", "3000.00")
    clock.moment = datetime(2026, 8, 1, 1, tzinfo=UTC)
    await services.period_close.run(net.id, "2026-07")
    await services.period_close.run(net.id, "2026-07")  # run again: the member is silver already, the close the same
    queued = await _queued(services)
    assert [kind for kind, _ in queued] == ["member.tier_changed", "period.closed"]
    assert queued[0][1]["data"]["tier"] == "silver" and queued[0][1]["data"]["period"] == "2026-07"
