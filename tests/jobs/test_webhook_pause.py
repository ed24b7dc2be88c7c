"""A subscription whose messages keep failing is paused after FAILURES_BEFORE_PAUSE failed messages in a row, and
its contact is told through the real SMTP test server (issue 16); a success in between starts the count again.
Both engines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from coalition.adapters.jobs.outbox_loop import HttpxPoster, http_client
from coalition.application.webhooks import NewSubscription
from coalition.domain.outbox import FAILURES_BEFORE_PAUSE
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.mail_support import smtp
from tests.support import SettableClock, buy, client, enrol, make_network
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find


async def test_a_failing_subscription_is_paused_and_its_contact_told(settings: Settings, smtp) -> None:
    inbox, port = smtp
    services = build_services(
        replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=SettableClock(datetime(2026, 12, 1, tzinfo=UTC))
    )
    try:
        network = await make_network(services)
        # 404: refused for good, so each message fails at its first attempt
        with receiver([404] * (FAILURES_BEFORE_PAUSE + 5)) as endpoint:
            made = await services.webhooks.create(
                network.ref, NewSubscription(endpoint.url, ("purchase.recorded",), contact_email="dev@erp.example")
            )
            async with client(services) as http:
                await enrol(http, network.shop_key, "7200-0001")
                for _ in range(FAILURES_BEFORE_PAUSE + 2):
                    assert (await buy(http, network.shop_key, "7200-0001", "100.00")).status_code == 201
            async with http_client(5.0) as http_out:
                outbox = services.outbox(HttpxPoster(http_out))
                while await outbox.run_once("w1"):
                    pass
            # the messages after the pause are not sent
            assert len(endpoint.requests) == FAILURES_BEFORE_PAUSE
        [shown] = [s for s in await services.webhooks.subscriptions(network.ref) if s.id == made.id]
        assert shown.status.value == "paused" and "failed messages in a row" in str(shown.paused_reason)
        [mail] = inbox.to("dev@erp.example")
        assert f"Webhook {made.id} paused" in str(mail["Subject"])
        async with services.engine.connect() as connection:
            statuses = (await connection.execute(text("SELECT status FROM outbox_messages ORDER BY id"))).scalars()
            # the two after the pause are kept for its resume (docs/webhooks.md: a paused subscription keeps them)
            assert list(statuses) == ["failed"] * FAILURES_BEFORE_PAUSE + ["pending"] * 2
            action = await connection.execute(text("SELECT action FROM audit_entries WHERE action = 'webhook.pause'"))
            assert len(action.all()) == 1
    finally:
        await services.close()
