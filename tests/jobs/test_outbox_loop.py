"""The outbox delivers webhooks to a real local HTTP endpoint (issue 16), on both engines: each message once with a
signature the documented recipe verifies; a 500 is retried with backoff and then delivered once; an abandoned claim
is taken over after its lease; two loops at once deliver each message once; a paused subscription gets nothing
until it resumes, then all of it in order, and what waited more than 3 days is dropped."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from coalition.adapters.jobs.outbox_loop import HttpxPoster, http_client, outbox_loop
from coalition.application.webhooks import NewSubscription
from coalition.domain.webhooks import PAUSED_KEPT, PAUSED_TOO_LONG, verify
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import SettableClock, buy, client, enrol, make_network
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def _rows(services: Services, sql: str) -> list[dict]:
    async with services.engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(text(sql))).mappings()]


async def _subscribed(services: Services, url: str, kinds: tuple[str, ...] = ("purchase.recorded",)):
    network = await make_network(services)
    subscription = await services.webhooks.create(network.ref, _new(url, kinds))
    return network, subscription


def _new(url: str, kinds: tuple[str, ...]) -> NewSubscription:
    return NewSubscription(url, kinds)


async def _purchases(services: Services, network, count: int) -> None:
    async with client(services) as http:
        await enrol(http, network.shop_key, "7000-0001")
        for _ in range(count):
            assert (await buy(http, network.shop_key, "7000-0001", "1000.00")).status_code == 201


async def _run_rounds(services: Services, worker: str = "w1") -> int:
    async with http_client(5.0) as http:
        return await services.outbox(HttpxPoster(http)).run_once(worker)


@pytest.fixture()
async def clocked(settings: Settings):
    clock = SettableClock(START)
    services = build_services(settings, clock=clock)
    try:
        yield services, clock
    finally:
        await services.close()


async def test_a_purchase_is_delivered_once_signed_as_the_recipe_verifies(clocked) -> None:
    services, _ = clocked
    with receiver() as endpoint:
        network, subscription = await _subscribed(services, endpoint.url)
        await _purchases(services, network, 1)
        assert await _run_rounds(services) == 1
        assert await _run_rounds(services) == 0  # nothing more is due: delivered once
        assert len(endpoint.requests) == 1
        request = endpoint.requests[0]
        timestamp = int(request.headers["Coalition-Webhook-Timestamp"])
        assert verify(
            subscription.secret, request.headers["Coalition-Webhook-Signature"], timestamp, request.body, timestamp
        )
        wrong = "whsec_wrong"
        assert not verify(wrong, request.headers["Coalition-Webhook-Signature"], timestamp, request.body, timestamp)
        event = json.loads(request.body)
        assert event["kind"] == "purchase.recorded" and event["network_id"] == network.ref.id
        assert event["data"]["check_minor"] == 100000 and event["data"]["currency"] == "RUB"
        assert request.headers["Coalition-Webhook-Event"] == "purchase.recorded"
    rows = await _rows(services, "SELECT status, attempts, delivered_at FROM outbox_messages")
    assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 1)] and rows[0]["delivered_at"]
    attempts = await _rows(services, "SELECT outcome, response_status FROM outbox_attempts")
    assert attempts == [{"outcome": "delivered", "response_status": 200}]


async def test_no_listener_no_message(clocked) -> None:
    services, _ = clocked
    network = await make_network(services)
    await services.webhooks.create(network.ref, _new("http://127.0.0.1:9/x", ("gift.honoured",)))
    await _purchases(services, network, 2)
    assert await _rows(services, "SELECT id FROM outbox_messages") == []


async def test_a_500_is_retried_after_its_backoff_and_delivered_once(clocked) -> None:
    services, clock = clocked
    with receiver([500]) as endpoint:
        network, _ = await _subscribed(services, endpoint.url)
        await _purchases(services, network, 1)
        assert await _run_rounds(services) == 1
        [message] = await _rows(services, "SELECT status, attempts, next_attempt_at, last_error FROM outbox_messages")
        assert message["status"] == "pending" and message["attempts"] == 1 and "500" in message["last_error"]
        assert await _run_rounds(services) == 0  # not due before its 10 s
        clock.moment = START + timedelta(seconds=11)
        assert await _run_rounds(services) == 1
        assert await _run_rounds(services) == 0
        assert [r.headers["X-Answered"] for r in endpoint.requests] == ["500", "2xx"]
        assert len(set(r.headers["Coalition-Webhook-Id"] for r in endpoint.requests)) == 1  # the same delivery id
    attempts = await _rows(services, "SELECT outcome, response_status FROM outbox_attempts ORDER BY id")
    assert [(a["outcome"], a["response_status"]) for a in attempts] == [("retry", 500), ("delivered", 200)]


async def test_a_404_fails_at_once(clocked) -> None:
    services, _ = clocked
    with receiver([404]) as endpoint:
        network, _ = await _subscribed(services, endpoint.url)
        await _purchases(services, network, 1)
        await _run_rounds(services)
    [message] = await _rows(services, "SELECT status, attempts FROM outbox_messages")
    assert (message["status"], message["attempts"]) == ("failed", 1)


async def test_an_abandoned_claim_is_taken_over_after_its_lease_and_delivered_once(clocked) -> None:
    services, clock = clocked
    with receiver() as endpoint:
        network, _ = await _subscribed(services, endpoint.url)
        await _purchases(services, network, 1)
        async with http_client() as http:
            outbox = services.outbox(HttpxPoster(http))
            assert len(await outbox.claim("killed-worker")) == 1  # claimed, then the worker dies before sending
            assert await outbox.run_once("w2") == 0  # its lease still holds
            clock.moment = START + timedelta(seconds=61)
            assert await outbox.run_once("w2") == 1
            assert await outbox.run_once("w2") == 0
        assert len(endpoint.requests) == 1
    [attempt] = await _rows(services, "SELECT worker, outcome FROM outbox_attempts")
    assert attempt == {"worker": "w2", "outcome": "delivered"}


async def test_two_loops_at_once_deliver_each_message_once(settings: Settings) -> None:
    first, second = build_services(settings), build_services(settings)
    try:
        with receiver() as endpoint:
            endpoint.delay_s = 0.01
            network, _ = await _subscribed(first, endpoint.url)
            await _purchases(first, network, 12)
            stop = asyncio.Event()
            loops = [asyncio.create_task(outbox_loop(s, stop, idle_wait_s=0.05)) for s in (first, second)]
            for _ in range(1200):  # up to a minute on a loaded host; ends as soon as none is pending
                pending = await _rows(first, "SELECT id FROM outbox_messages WHERE status = 'pending'")
                if not pending:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*loops)
            ids = endpoint.delivered_ids()
            assert len(ids) == 12 and len(set(ids)) == 12
        workers = await _rows(first, "SELECT DISTINCT worker FROM outbox_attempts")
        assert len(await _rows(first, "SELECT id FROM outbox_attempts")) == 12
        assert workers  # one loop or both took the work; never the same message twice
    finally:
        await first.close()
        await second.close()


async def test_a_paused_subscription_keeps_its_events_until_it_resumes(clocked) -> None:
    services, clock = clocked
    with receiver() as endpoint:
        network, subscription = await _subscribed(services, endpoint.url)
        await _purchases(services, network, 1)  # queued while active
        await services.webhooks.pause(network.ref, subscription.id)
        await _purchases_again(services, network)  # queued while paused too
        assert await _run_rounds(services) == 0  # claims pass a paused subscription by
        assert endpoint.requests == []
        pending = await _rows(services, "SELECT status, attempts FROM outbox_messages ORDER BY id")
        assert pending == [{"status": "pending", "attempts": 0}] * 2
        clock.moment = START + timedelta(hours=1)
        await services.webhooks.resume(network.ref, subscription.id)
        assert await _run_rounds(services) == 2
        bodies = [json.loads(request.body) for request in endpoint.requests]
        assert [body["data"]["check_minor"] for body in bodies] == [100000, 50000]  # in the order of their events
    assert {row["status"] for row in await _rows(services, "SELECT status FROM outbox_messages")} == {"delivered"}


async def test_what_waited_more_than_3_days_while_paused_is_dropped_on_resume(clocked) -> None:
    services, clock = clocked
    with receiver() as endpoint:
        network, subscription = await _subscribed(services, endpoint.url)
        await services.webhooks.pause(network.ref, subscription.id)
        await _purchases(services, network, 1)  # queued at START
        clock.moment = START + PAUSED_KEPT - timedelta(minutes=1)
        await _purchases_again(services, network)  # queued 3 days less a minute later
        clock.moment = START + PAUSED_KEPT + timedelta(minutes=1)
        await services.webhooks.resume(network.ref, subscription.id)
        assert await _run_rounds(services) == 1
        assert [json.loads(r.body)["data"]["check_minor"] for r in endpoint.requests] == [50000]
    rows = await _rows(services, "SELECT status, last_error FROM outbox_messages ORDER BY id")
    assert rows == [
        {"status": "skipped", "last_error": PAUSED_TOO_LONG},
        {"status": "delivered", "last_error": None},
    ]


async def test_a_subscription_paused_after_the_claim_hands_its_message_back(clocked) -> None:
    services, _ = clocked
    with receiver() as endpoint:
        network, subscription = await _subscribed(services, endpoint.url)
        await _purchases(services, network, 1)
        async with http_client(5.0) as http:
            outbox = services.outbox(HttpxPoster(http))
            [message] = await outbox.claim("w1")
            await services.webhooks.pause(network.ref, subscription.id)
            await outbox.deliver("w1", message)
        assert endpoint.requests == []
    rows = await _rows(services, "SELECT status, attempts, leased_by FROM outbox_messages")
    assert rows == [{"status": "pending", "attempts": 0, "leased_by": None}]


async def _purchases_again(services: Services, network) -> None:
    async with client(services) as http:
        assert (await buy(http, network.shop_key, "7000-0001", "500.00")).status_code == 201


async def test_a_slow_targets_queue_is_handed_back_before_its_lease_runs_short(clocked) -> None:
    services, clock = clocked

    class SlowPoster(HttpxPoster):
        """Posts for real; the test's clock moves 30 s with each post, as a receiver taking that long would."""

        async def post(self, url, body, headers):  # type: ignore[no-untyped-def]
            posted = await super().post(url, body, headers)
            clock.moment = (clock.moment or START) + timedelta(seconds=30)
            return posted

    with receiver() as endpoint:
        network, _ = await _subscribed(services, endpoint.url)
        await _purchases(services, network, 3)
        async with http_client() as http:
            assert await services.outbox(SlowPoster(http)).run_once("w1") == 3
            assert len(endpoint.requests) == 2  # the third would have started after 40 s of a 60 s lease
            [third] = await _rows(services, "SELECT attempts, lease_until, status FROM outbox_messages WHERE id = 3")
            assert third == {"attempts": 0, "lease_until": None, "status": "pending"}
            assert await services.outbox(HttpxPoster(http)).run_once("w2") == 1
        assert len(endpoint.delivered_ids()) == 3 and len(set(endpoint.delivered_ids())) == 3
