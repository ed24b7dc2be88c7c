"""The console's webhook actions refuse what they must, both engines: a delete without its confirmation ticked is a
422 naming `confirm` that deletes nothing; sending again a message still pending is a 409 naming `message_id`, in
Russian for a Russian browser."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from coalition.adapters.http.app import create_app
from coalition.application.webhooks import NewSubscription
from coalition.demo import DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, load_demo
from coalition.wiring import Services
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio


async def test_a_delete_needs_its_confirmation_and_a_pending_message_is_not_sent_again(services: Services) -> None:
    await load_demo(services)
    network = await services.admin.network("demo")
    hook = await services.webhooks.create(network, NewSubscription("https://hooks.example/c", ("member.enrolled",)))
    async with services.engine.begin() as connection:
        message_id = (
            await connection.execute(
                text(
                    "INSERT INTO outbox_messages (network_id, channel, event_kind, event_id, target, payload, status, "
                    "attempts, next_attempt_at, created_at) VALUES (:n, 'webhook', 'member.enrolled', 'member:1', "
                    ":t, '{}', 'pending', 0, '2026-12-01 10:00:00', '2026-12-01 10:00:00') RETURNING id"
                ),
                {"n": network.id, "t": str(hook.id)},
            )
        ).scalar_one()
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as console:
        assert (await sign_in_console(console, "demo", DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD)).status_code == 303
        token = csrf_token((await console.get("/console")).text)
        kept = await console.post(f"/console/webhooks/{hook.id}/delete", data={"csrf_token": token})
        assert kept.status_code == 422 and 'id="confirm-error"' in kept.text
        resend = f"/console/webhooks/{hook.id}/deliveries/{message_id}/resend"
        refused = await console.post(resend, data={"csrf_token": token}, headers={"Accept-Language": "ru"})
        assert refused.status_code == 409 and "снова отправить можно только" in refused.text, refused.text[:3000]
        assert [s.id for s in await services.webhooks.subscriptions(network)] == [hook.id]
        gone = await console.post(f"/console/webhooks/{hook.id}/delete", data={"csrf_token": token, "confirm": "yes"})
        assert gone.status_code == 303 and gone.headers["location"] == "/console/webhooks?done=deleted"
    assert await services.webhooks.subscriptions(network) == []
