"""Campaigns and the scheduled message kinds (issue 16, point 3), on both engines, delivered to a real SMTP server
(aiosmtpd): a segment's filters count exactly the crafted members; a campaign's send queues each member once however
often the job runs, and resumes after a kill without doubling; its counts are read from the outbox rows
(delivered, skipped with the reason); points_expiring goes once per member and expiry date; birthday once a year.
The worked example of docs/messages.md ("Campaigns") is `test_the_worked_example_of_the_docs`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from coalition.application.campaigns import Campaigns
from coalition.domain.campaigns import CampaignStatus
from coalition.domain.errors import InvalidInput
from coalition.domain.messages import Channel, MessageKind
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.jobs.campaign_support import crafted_network
from tests.jobs.message_support import START, message_settings, rounds, rows
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock, buy, client

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]

WORKED_EXAMPLE = {"tier": "gold", "spend_from": "10000.00", "visited_within_days": 30}


@pytest.fixture()
async def messaging(settings: Settings, smtp: tuple[Inbox, int], tmp_path: Path):
    inbox, port = smtp
    clock = SettableClock(START)
    services = build_services(message_settings(settings, port, tmp_path / "sms.jsonl"), clock=clock)
    try:
        yield services, clock, inbox
    finally:
        await services.close()


async def _campaign_rows(services) -> list[dict[str, Any]]:
    return await rows(
        services,
        "SELECT channel, event_id, target, status, last_error FROM outbox_messages "
        "WHERE event_kind = 'campaign' ORDER BY id",
    )


async def test_each_filter_of_a_segment_counts_exactly_the_crafted_members(messaging) -> None:
    services, _, _ = messaging
    network, _ = await crafted_network(services, services.clock)
    net = network.ref.id
    local_today = date(2026, 12, 7)
    expected: list[tuple[Mapping[str, Any], int]] = [
        ({}, 6),
        ({"tier": "gold"}, 5),
        ({"tier": "silver"}, 1),
        ({"segment": "vip"}, 2),  # Anna, Clara
        ({"segment": "social"}, 2),  # Clara, Dmitri
        ({"visited_within_days": 7}, 3),  # Anna 5, Clara 3, Dmitri 2
        ({"visited_within_days": 30}, 4),  # Anna, Boris, Clara, Dmitri (Elena: 40 days ago; Fyodor: never)
        ({"last_visit_after": (local_today - timedelta(days=8)).isoformat()}, 3),
        ({"last_visit_before": (local_today - timedelta(days=20)).isoformat()}, 1),  # Elena
        ({"spend_from": "10000.00", "spend_to": "15000.00"}, 3),  # Anna, Boris, Elena (to is inclusive)
        ({"spend_from": "10000.00"}, 5),  # all but Dmitri (9,999.99)
        ({"spend_to": "9999.99"}, 1),  # Dmitri
        (WORKED_EXAMPLE, 2),  # Anna, Boris
    ]
    for segment, count in expected:
        assert await services.campaigns.audience(net, segment) == count, segment


async def test_the_worked_example_of_the_docs(messaging) -> None:
    """docs/messages.md, "Campaigns": gold, spent ≥ 10,000.00, visited in the last 30 days → audience 2 (Anna,
    Boris) → delivered 1, skipped opted-out 1 (Boris unsubscribed from campaign e-mail)."""
    services, clock, inbox = messaging
    network, ids = await crafted_network(services, clock)
    net = network.ref.id
    link = await services.unsubscribes.link(net, ids["Boris"], MessageKind.CAMPAIGN, Channel.EMAIL)
    await services.unsubscribes.confirm(link.rsplit("/", 1)[1])
    assert await services.campaigns.audience(net, WORKED_EXAMPLE) == 2
    campaign = await services.campaigns.create(
        net,
        {
            "name": "December offer",
            "segment": WORKED_EXAMPLE,
            "channels": ["email"],
            "subject": "A gift for {{ member_name }}",
            "body": "{{ member_name }}, you have {{ balance }} points: double points on Saturday!",
            "scheduled_at": (START + timedelta(hours=1)).isoformat(),
        },
    )
    assert campaign.status is CampaignStatus.SCHEDULED
    assert await services.campaigns.send_due(net) == {"campaigns_sent": [], "queued": 0}  # not yet
    clock.moment = START + timedelta(hours=1, minutes=2)
    first = await services.campaigns.send_due(net)
    clock.moment = START + timedelta(hours=1, minutes=7)  # the job's next slot
    second = await services.campaigns.send_due(net)
    assert first == {"campaigns_sent": [campaign.id], "queued": 2} and second == {"campaigns_sent": [], "queued": 0}
    queued = await _campaign_rows(services)
    assert [(r["event_id"], r["target"]) for r in queued] == [
        (f"campaign:{campaign.id}:{ids[name]}", str(ids[name])) for name in ("Anna", "Boris")
    ]
    await rounds(services)
    counts = await services.campaigns.counts(net, campaign.id)
    assert (counts.delivered, counts.skipped_opted_out, counts.skipped_no_consent, counts.pending, counts.failed) == (
        1, 1, 0, 0, 0,
    )  # fmt: skip
    [mail] = inbox.messages
    assert mail["To"] == "anna@example.com" and str(mail["Subject"]) == "A gift for Anna"
    assert "Anna, you have" in mail.get_content() and "double points on Saturday!" in mail.get_content()
    shown = await services.campaigns.show(net, campaign.id)
    assert (shown.status, shown.audience, shown.queued) == (CampaignStatus.SENT, 2, 2)


async def test_the_scheduler_sends_a_campaign_once_and_counts_a_member_without_consent(messaging) -> None:
    services, clock, inbox = messaging
    network, ids = await crafted_network(services, clock)
    net = network.ref.id
    campaign = await services.campaigns.create(
        net,
        {
            "name": "Gold members",
            "segment": {"tier": "gold"},
            "channels": ["email"],
            "subject": "Hello",
            "body": "Hello {{ member_name }}",
            "scheduled_at": (START + timedelta(minutes=3)).isoformat(),
        },
    )
    clock.moment = START + timedelta(minutes=6)
    await services.scheduler.tick()
    clock.moment = START + timedelta(minutes=12)  # the next slot runs the job again: nothing more is queued
    await services.scheduler.tick()
    queued = await _campaign_rows(services)
    gold = sorted(ids[name] for name in ("Anna", "Boris", "Dmitri", "Elena", "Fyodor"))
    assert sorted(int(r["target"]) for r in queued) == gold
    await rounds(services)
    counts = await services.campaigns.counts(net, campaign.id)
    assert (counts.delivered, counts.skipped_no_consent, counts.skipped_opted_out) == (4, 1, 0)
    skipped = [r for r in await _campaign_rows(services) if r["status"] == "skipped"]
    assert [(int(r["target"]), r["last_error"]) for r in skipped] == [(ids["Fyodor"], "no_newsletter_consent")]
    assert len(inbox.messages) == 4
    runs = await rows(services, "SELECT job, status FROM job_runs WHERE job = 'campaigns' ORDER BY id")
    assert runs == [{"job": "campaigns", "status": "done"}] * 2


class _Killed(Exception):
    pass


class _DiesAfter:
    """The customer messages' queue, killed after so many messages (in the middle of a chunk)."""

    def __init__(self, queue: Any, limit: int) -> None:
        self.queue, self.limit, self.count = queue, limit, 0

    async def enqueue(self, *args: Any, **kwargs: Any) -> int:
        if self.count >= self.limit:
            raise _Killed()
        self.count += 1
        return int(await self.queue.enqueue(*args, **kwargs))

    async def turned_on(self, network_id: int, kind: MessageKind) -> tuple[Channel, ...]:
        return tuple(await self.queue.turned_on(network_id, kind))


async def test_a_send_killed_midway_resumes_without_doubling(messaging) -> None:
    services, clock, _ = messaging
    network, ids = await crafted_network(services, clock)
    net = network.ref.id
    campaign = await services.campaigns.create(
        net,
        {"name": "All", "segment": {}, "channels": ["email"], "subject": "Hi", "body": "Hi {{ member_name }}"},
    )
    await services.campaigns.schedule(net, campaign.id, (START + timedelta(minutes=1)).isoformat())
    clock.moment = START + timedelta(minutes=2)
    dying = Campaigns(
        services.campaigns.store, _DiesAfter(services.customer_messages, 3), services.message_store, clock
    )
    with pytest.raises(_Killed):
        await dying.send_due(net, chunk=2)  # the first chunk (2) committed; the second dies after one message
    half = await services.campaigns.show(net, campaign.id)
    assert (half.status, half.audience, half.cursor_member_id) == (CampaignStatus.SENDING, 2, ids["Boris"])
    assert len(await _campaign_rows(services)) == 2  # the dead chunk's message rolled back with it
    # a campaign still sending is due: the next run resumes after the cursor, and another finds nothing more
    assert (await services.campaigns.send_due(net, chunk=2))["queued"] == 4
    assert (await services.campaigns.send_due(net, chunk=2))["queued"] == 0
    queued = await _campaign_rows(services)
    assert sorted(int(r["target"]) for r in queued) == sorted(ids.values())
    done = await services.campaigns.show(net, campaign.id)
    assert (done.status, done.audience, done.queued) == (CampaignStatus.SENT, 6, 6)


async def test_two_senders_of_one_campaign_queue_each_member_once(messaging) -> None:
    services, clock, _ = messaging
    network, ids = await crafted_network(services, clock)
    net = network.ref.id
    campaign = await services.campaigns.create(
        net,
        {"name": "All", "segment": {}, "channels": ["email"], "subject": "Hi", "body": "Hi",
         "scheduled_at": (START + timedelta(minutes=1)).isoformat()},
    )  # fmt: skip
    clock.moment = START + timedelta(minutes=2)
    await services.campaigns.send(net, campaign.id, chunk=2, chunks=1)
    # a second sender read the same cursor and queues the same chunk: its cursor guard rolls it back
    store = services.campaigns.store
    async with store.sending() as uow:
        assert not await uow.advance(campaign.id, 0, ids["Boris"], 2, 2)
    await services.campaigns.send(net, campaign.id, chunk=2)
    await services.campaigns.send(net, campaign.id, chunk=2)
    assert len(await _campaign_rows(services)) == 6
    assert (await services.campaigns.show(net, campaign.id)).audience == 6


async def test_points_expiring_goes_once_per_member_and_expiry_date(messaging) -> None:
    services, clock, inbox = messaging
    network, ids = await crafted_network(services, clock)
    net = network.ref.id
    await services.customer_messages.set(
        network.ref.id, {"enabled": {"points_expiring": ["email"]}, "expiring_days_before": 7}
    )
    # Anna's lots: two expire on 10 December (Moscow), one on 20 December (outside the 7 days); Clara's on the 12th.
    # A purchase's points top up the member's open never-expiring lot, so each lot is given its date before the next
    # purchase opens a new one.
    anna, clara = ids["Anna"], ids["Clara"]

    async def expire_open_lot(member_id: int, moment: str) -> int:
        [lot] = await rows(
            services,
            "SELECT l.id, l.remaining FROM lots l JOIN member_balances b ON b.account_id = l.account_id "
            f"WHERE b.member_id = {member_id} AND l.expires_at IS NULL",
        )
        async with services.engine.begin() as connection:
            await connection.execute(
                text("UPDATE lots SET expires_at = :at WHERE id = :id"),
                {"at": START.fromisoformat(moment), "id": lot["id"]},
            )
        return int(lot["remaining"])

    expiring = await expire_open_lot(anna, "2026-12-10 08:00:00+00:00")
    async with client(services) as http:
        assert (await buy(http, network.shop_key, "7100-0001", "1000.00")).status_code == 201
        expiring += await expire_open_lot(anna, "2026-12-10 20:00:00+00:00")  # 23:00 in Moscow: still the 10th
        assert (await buy(http, network.shop_key, "7100-0001", "1000.00")).status_code == 201
    await expire_open_lot(anna, "2026-12-20 08:00:00+00:00")
    await expire_open_lot(clara, "2026-12-12 08:00:00+00:00")
    first = await services.points_expiring.run(net)
    clock.moment = START + timedelta(days=1)
    again = await services.points_expiring.run(net)
    assert (first["members"], first["messages"]) == (2, 2) and again["messages"] == 2
    queued = await rows(
        services,
        "SELECT event_id, target, payload FROM outbox_messages WHERE event_kind = 'points_expiring' ORDER BY id",
    )
    assert [(r["event_id"], r["target"]) for r in queued] == [
        (f"points_expiring:{anna}:2026-12-10", str(anna)),
        (f"points_expiring:{clara}:2026-12-12", str(clara)),
    ]
    variables = json.loads(queued[0]["payload"])["variables"]
    assert variables == {"points_expiring": expiring, "expiry_date": "2026-12-10", "days_left": 3}
    await rounds(services)
    assert sorted(str(m["To"]) for m in inbox.messages) == ["anna@example.com", "clara@example.com"]
    assert f"{expiring} points expire in 3 days" in [str(m["Subject"]) for m in inbox.messages]


async def test_a_birthday_greeting_goes_once_a_year(messaging) -> None:
    services, clock, inbox = messaging
    network, ids = await crafted_network(services, clock)
    net = network.ref.id
    async with services.engine.begin() as connection:
        await connection.execute(
            text("UPDATE members SET birth_date = :born WHERE id IN (:anna, :fyodor)"),
            {"born": date(1990, 12, 7), "anna": ids["Anna"], "fyodor": ids["Fyodor"]},
        )
    for _ in range(2):
        result = await services.birthdays.grant(net, date(2026, 12, 7))
        assert result["members"] == 2
    await services.birthdays.grant(net, date(2027, 12, 7))
    queued = await rows(
        services, "SELECT event_id, status FROM outbox_messages WHERE event_kind = 'birthday' ORDER BY id"
    )
    assert [r["event_id"] for r in queued] == [
        f"birthday:{ids['Anna']}:2026",
        f"birthday:{ids['Fyodor']}:2026",
        f"birthday:{ids['Anna']}:2027",
        f"birthday:{ids['Fyodor']}:2027",
    ]
    await rounds(services)
    found = await rows(
        services, "SELECT target, status, last_error FROM outbox_messages WHERE event_kind = 'birthday' ORDER BY id"
    )
    assert [(r["status"], r["last_error"]) for r in found[:2]] == [
        ("delivered", None),
        ("skipped", "no_newsletter_consent"),  # a birthday greeting carries an offer: a marketing kind
    ]
    assert [str(m["Subject"]) for m in inbox.messages].count("Happy birthday, Anna!") == 2


async def test_refusals_name_the_field(messaging) -> None:
    services, clock, _ = messaging
    network, _ = await crafted_network(services, clock)
    net = network.ref.id
    good = {"name": "x", "segment": {}, "channels": ["email"], "subject": "Hi", "body": "Hi"}
    cases = [
        ({"segment": {"tier": "platinum"}}, "segment.tier"),
        ({"segment": {"segment": "nobody"}}, "segment.segment"),
        ({"segment": {"spend_from": "500.00", "spend_to": "100.00"}}, "segment.spend_to"),
        ({"segment": {"spend_from": "-1"}}, "segment.spend_from"),
        ({"segment": {"visited_within_days": 0}}, "segment.visited_within_days"),
        ({"segment": {"colour": "red"}}, "segment.colour"),
        ({"scheduled_at": (START - timedelta(minutes=1)).isoformat()}, "scheduled_at"),
        ({"body": "Hi {{ member_name }\n"}, "body"),
        ({"body": "Hi\n{{ gift_name }}"}, "body"),
        ({"subject": ""}, "subject"),
        ({"channels": ["fax"]}, "channels"),
        ({"name": " "}, "name"),
    ]
    for change, field in cases:
        with pytest.raises(InvalidInput) as refused:
            await services.campaigns.create(net, good | change)
        assert refused.value.field == field, (change, refused.value.detail)
    with pytest.raises(InvalidInput) as refused:
        await services.campaigns.create(net, good | {"body": "Hi\n{{ gift_name }}"})
    assert refused.value.detail.startswith("line 2: unknown variable 'gift_name'")
