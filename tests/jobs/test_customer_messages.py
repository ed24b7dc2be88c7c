"""Customer messages through the outbox (issue 16, point 3), on both engines, to a real SMTP server (aiosmtpd) and
the SMS file gateway: each event's message arrives once per channel; a member without the contact or who opted out
is skipped with the reason; quiet hours and the cap defer without counting an attempt; the balance threshold fires
once per crossing; a network that turned nothing on queues nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from coalition.adapters.jobs.outbox_loop import outbox_loop
from coalition.domain.messages import Channel, MessageKind
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.http.test_gifts import _network_with_gift_rules
from tests.http.water_park import DAY_START
from tests.http.water_park import buy as park_buy
from tests.jobs.message_support import ALL_ON, START, enrol_member, message_settings, rounds, rows, sms_lines
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock, auth, buy, client, make_network

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]


@pytest.fixture()
async def messaging(settings: Settings, smtp: tuple[Inbox, int], tmp_path: Path):
    inbox, port = smtp
    clock = SettableClock(START)
    sms = tmp_path / "sms.jsonl"
    services = build_services(message_settings(settings, port, sms), clock=clock)
    try:
        yield services, clock, inbox, sms
    finally:
        await services.close()


async def _turned_on(services: Services, **changes):
    network = await make_network(services)
    await services.customer_messages.set(network.ref.id, {"enabled": ALL_ON} | changes)
    return network


async def test_a_network_that_turned_nothing_on_queues_nothing(messaging) -> None:
    services, _, _, _ = messaging
    network = await make_network(services)
    assert not await services.pos.listens(network.ref.id, "purchase.recorded")
    async with client(services) as http:
        await enrol_member(http, network.shop_key, "7000-0001")
        assert (await buy(http, network.shop_key, "7000-0001", "1000.00")).status_code == 201
    assert await rows(services, "SELECT id FROM outbox_messages") == []


async def test_welcome_and_thank_you_arrive_once_by_email_and_by_sms(messaging) -> None:
    services, _, inbox, sms = messaging
    network = await _turned_on(services)
    assert await services.pos.listens(network.ref.id, "purchase.recorded")
    async with client(services) as http:
        member_id = await enrol_member(http, network.shop_key, "7000-0001")
        answer = await buy(http, network.shop_key, "7000-0001", "1000.00")
        assert answer.status_code == 201, answer.text
    queued = await rows(services, "SELECT channel, event_kind, event_id, target FROM outbox_messages ORDER BY id")
    purchase_id = answer.json()["id"]
    assert queued == [
        {"channel": c, "event_kind": k, "event_id": e, "target": str(member_id)}
        for k, e in (("welcome", f"welcome:member:{member_id}"), ("thank_you", f"thank_you:purchase:{purchase_id}"))
        for c in ("email", "sms")
    ]
    await rounds(services)
    assert await rounds(services) == 0  # nothing more is due
    assert sorted(str(m["Subject"]) for m in inbox.messages) == [
        "Thank you for your purchase",
        "Welcome to Test network",
    ]
    thanks = next(m for m in inbox.messages if "Thank" in str(m["Subject"]))
    body = thanks.get_content()
    assert "Thank you, Anna!" in body and "Shop till" in body and "/unsubscribe/" in body, body
    assert thanks["To"] == "anna@example.com" and thanks["List-Unsubscribe"].startswith("<http://testserver/")
    assert thanks["Message-ID"].startswith("<coalition-message-") and thanks["Message-ID"].endswith("@shop.example>")
    texts = sms_lines(sms)
    assert sorted(line["kind"] for line in texts) == ["thank_you", "welcome"]
    assert all(line["to"] == "+79001234567" for line in texts)
    statuses = await rows(services, "SELECT status, attempts FROM outbox_messages")
    assert statuses == [{"status": "delivered", "attempts": 1}] * 4


async def test_a_member_without_an_address_or_who_opted_out_is_skipped_with_the_reason(messaging) -> None:
    services, _, inbox, sms = messaging
    network = await _turned_on(services)
    async with client(services) as http:
        member_id = await enrol_member(http, network.shop_key, "7000-0001", email=None)
        link = await services.unsubscribes.link(network.ref.id, member_id, MessageKind.THANK_YOU, Channel.SMS)
        await services.unsubscribes.confirm(link.rsplit("/", 1)[1])
        assert (await buy(http, network.shop_key, "7000-0001", "1000.00")).status_code == 201
    await rounds(services)
    found = await rows(
        services, "SELECT channel, event_kind, status, last_error, attempts FROM outbox_messages ORDER BY id"
    )
    assert found == [
        {"channel": "email", "event_kind": "welcome", "status": "skipped", "last_error": "no_contact", "attempts": 0},
        {"channel": "sms", "event_kind": "welcome", "status": "delivered", "last_error": None, "attempts": 1},
        {"channel": "email", "event_kind": "thank_you", "status": "skipped", "last_error": "no_contact", "attempts": 0},
        {"channel": "sms", "event_kind": "thank_you", "status": "skipped", "last_error": "opted_out", "attempts": 0},
    ]
    assert inbox.messages == [] and [line["kind"] for line in sms_lines(sms)] == ["welcome"]


async def test_a_purchase_at_22_10_in_moscow_is_thanked_once_at_09_00(messaging) -> None:
    services, clock, inbox, _ = messaging
    network = await _turned_on(services, enabled={"thank_you": ["email"]})
    clock.moment = START.replace(hour=19, minute=10)  # 22:10 in Moscow, 7 December
    async with client(services) as http:
        await enrol_member(http, network.shop_key, "7000-0001")
        assert (await buy(http, network.shop_key, "7000-0001", "1000.00")).status_code == 201
    await rounds(services)
    [message] = await rows(services, "SELECT status, attempts, next_attempt_at, last_error FROM outbox_messages")
    assert (message["status"], message["attempts"], message["last_error"]) == ("pending", 0, "quiet_hours")
    assert str(message["next_attempt_at"]).startswith("2026-12-08 06:00:00")  # 09:00 in Moscow
    assert inbox.messages == []
    clock.moment = START.replace(day=8, hour=5, minute=59)
    assert await rounds(services) == 0  # not due yet
    clock.moment = START.replace(day=8, hour=6, minute=0)
    assert await rounds(services) == 1
    assert await rounds(services) == 0
    [mail] = inbox.messages
    assert (
        mail.get_content()
        .replace("\r\n", "\n")
        .startswith(
            "Thank you, Anna! You earned 30 points at Shop till. Your balance is 30 points.\n\nTo stop these messages: "
            "http://testserver/unsubscribe/"
        )
    )
    assert await rows(services, "SELECT status, attempts FROM outbox_messages") == [
        {"status": "delivered", "attempts": 1}
    ]
    assert len(await rows(services, "SELECT id FROM outbox_attempts")) == 1  # the deferral counted no attempt


async def test_the_cap_defers_the_second_message_of_the_day(messaging) -> None:
    services, clock, inbox, _ = messaging
    network = await _turned_on(services, enabled={"thank_you": ["email"]}, cap_per_day=1)
    async with client(services) as http:
        await enrol_member(http, network.shop_key, "7000-0001")
        assert (await buy(http, network.shop_key, "7000-0001", "1000.00")).status_code == 201
        assert (await buy(http, network.shop_key, "7000-0001", "500.00")).status_code == 201
    await rounds(services)
    found = await rows(
        services, "SELECT status, attempts, last_error, next_attempt_at FROM outbox_messages ORDER BY id"
    )
    assert [(r["status"], r["attempts"], r["last_error"]) for r in found] == [
        ("delivered", 1, None),
        ("pending", 0, "frequency_cap"),
    ]
    assert str(found[1]["next_attempt_at"]).startswith("2026-12-08 10:00:00")  # 24 h after the first was sent
    clock.moment = START + timedelta(days=1)
    await rounds(services)
    assert len(inbox.messages) == 2


async def test_the_balance_threshold_fires_once_per_crossing(messaging) -> None:
    services, _, inbox, _ = messaging
    network = await _turned_on(services, enabled={"balance_threshold": ["email"]}, balance_threshold=60)
    async with client(services) as http:
        await enrol_member(http, network.shop_key, "7000-0001")
        balances = []
        for amount, redeem in (("1000.00", None), ("1000.00", None), ("1000.00", None), ("1500.00", 90)):
            answer = await buy(http, network.shop_key, "7000-0001", amount, redeem)
            assert answer.status_code == 201, answer.text
            balances.append(answer.json()["points_balance"])
        assert balances[0] < 60 <= balances[1] < balances[2] and balances[3] < 60, balances  # up, up, down
        again = await buy(http, network.shop_key, "7000-0001", "1000.00")  # and up again
        balances.append(again.json()["points_balance"])
        assert balances[4] >= 60, balances
    queued = await rows(services, "SELECT event_kind, payload FROM outbox_messages ORDER BY id")
    assert [q["event_kind"] for q in queued] == ["balance_threshold"] * 2
    assert [json.loads(q["payload"])["variables"]["balance"] for q in queued] == [balances[1], balances[4]]
    state = await rows(services, "SELECT threshold_armed FROM member_message_state")
    assert [bool(s["threshold_armed"]) for s in state] == [False]
    await rounds(services)
    assert sorted(str(m["Subject"]) for m in inbox.messages) == sorted(
        f"You have {balance} points" for balance in (balances[1], balances[4])
    )


async def test_a_gift_granted_is_announced_once_on_each_channel(messaging) -> None:
    services, clock, inbox, sms = messaging
    clock.moment = DAY_START + timedelta(hours=1)  # 10:00 in Moscow
    async with client(services) as http:
        _, keys, _ = await _network_with_gift_rules(services, http)
        network = await services.admin.network("park")
        await services.customer_messages.set(network.id, {"enabled": {"gift_granted": ["email", "sms"]}})
        await enrol_member(http, keys["Tickets"], "8900-0001")
        ticket = await park_buy(http, keys["Tickets"], "8900-0001", "2000.00")
        [gift] = ticket["gifts_granted"]
    queued = await rows(services, "SELECT channel, event_id FROM outbox_messages ORDER BY id")
    assert queued == [{"channel": c, "event_id": f"gift_granted:gift:{gift['id']}"} for c in ("email", "sms")]
    await rounds(services)
    assert [str(m["Subject"]) for m in inbox.messages] == ["A gift for you: A free photo"]
    assert [line["text"] for line in sms_lines(sms)] == [
        "Anna, you have a gift: A free photo. Show your card to receive it."
    ]


async def test_two_workers_at_once_send_each_message_once(settings: Settings, smtp, tmp_path: Path) -> None:
    inbox, port = smtp
    configured = message_settings(settings, port, tmp_path / "sms.jsonl")
    first, second = build_services(configured), build_services(configured)
    try:
        network = await make_network(first)
        await first.customer_messages.set(
            network.ref.id,
            {"enabled": {"thank_you": ["email"]}, "quiet_start": None, "quiet_end": None, "cap_per_day": 100},
        )
        async with client(first) as http:
            for n in range(12):
                await enrol_member(http, network.shop_key, f"7000-{n:04d}", email=f"m{n}@example.com", phone=None)
                assert (await buy(http, network.shop_key, f"7000-{n:04d}", "100.00")).status_code == 201
        stop = asyncio.Event()
        loops = [asyncio.create_task(outbox_loop(s, stop, idle_wait_s=0.05)) for s in (first, second)]
        for _ in range(1200):  # up to a minute on a loaded host; ends as soon as none is pending
            if not await rows(first, "SELECT id FROM outbox_messages WHERE status = 'pending'"):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*loops)
        ids = [str(message["Message-ID"]) for message in inbox.messages]
        assert len(ids) == 12 and len(set(ids)) == 12
        assert len(await rows(first, "SELECT id FROM outbox_attempts")) == 12
    finally:
        await first.close()
        await second.close()


async def test_a_batch_of_purchases_thanks_each_member_once(messaging) -> None:
    services, _, inbox, _ = messaging
    network = await _turned_on(services, enabled={"thank_you": ["email"]})
    async with client(services) as http:
        await enrol_member(http, network.shop_key, "7000-0001")
        await enrol_member(http, network.shop_key, "7000-0002", email="boris@example.com", phone=None, name="Boris")
        purchases = [
            {"idempotency_key": f"k{n}", "customer": card, "amount": "1000.00", "receipt": f"B-{n}"}
            for n, card in enumerate(("7000-0001", "7000-0002"))
        ]
        answer = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(network.shop_key))
        assert [r["status"] for r in answer.json()["results"]] == [201, 201], answer.text
        again = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(network.shop_key))
        assert again.status_code == 200  # replayed: nothing queued twice
    assert [r["event_kind"] for r in await rows(services, "SELECT event_kind FROM outbox_messages")] == [
        "thank_you"
    ] * 2
    await rounds(services)
    assert sorted(str(m["To"]) for m in inbox.messages) == ["anna@example.com", "boris@example.com"]
