"""A delivered or failed webhook message is sent again on request (issue 16), both engines: a new series of attempts
with the same Coalition-Webhook-Id; a pending one is refused (409), another network's ids are 404 naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from coalition.adapters.jobs.outbox_loop import HttpxPoster, http_client
from coalition.application.webhooks import NewSubscription
from coalition.wiring import Services
from tests.support import assert_problem, auth, buy, client, enrol, make_network
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio


async def _deliver_all(services: Services) -> None:
    async with http_client(5.0) as http:
        outbox = services.outbox(HttpxPoster(http))
        while await outbox.run_once("w1"):
            pass


async def test_a_failed_then_a_delivered_message_is_sent_again_with_the_same_id(services: Services) -> None:
    network = await make_network(services)
    with receiver([404]) as endpoint:  # the first answer refuses for good: the message fails
        hook = await services.webhooks.create(network.ref, NewSubscription(endpoint.url, ("purchase.recorded",)))
        async with client(services) as http:
            await enrol(http, network.shop_key, "7300-0001")
            assert (await buy(http, network.shop_key, "7300-0001", "100.00")).status_code == 201
            await _deliver_all(services)
            [failed] = (await http.get(f"/v1/admin/webhooks/{hook.id}", headers=auth(network.admin_key))).json()[
                "deliveries"
            ]
            assert failed["status"] == "failed" and failed["response_status"] == 404
            path = f"/v1/admin/webhooks/{hook.id}/deliveries/{failed['id']}/resend"
            again = await http.post(path, headers=auth(network.admin_key))
            assert again.status_code == 202, again.text
            assert again.json()["status"] == "pending" and again.json()["attempts"] == 0
            refused = await http.post(path, headers=auth(network.admin_key))  # pending: nothing to send again
            assert_problem(refused, 409, "conflict", "message_id")
            await _deliver_all(services)
            assert (await http.post(path, headers=auth(network.admin_key))).status_code == 202  # delivered: again
            await _deliver_all(services)
        ids = [request.headers["Coalition-Webhook-Id"] for request in endpoint.requests]
        assert ids == [f"msg_{failed['id']}"] * 3 and endpoint.delivered_ids() == ids[1:]
    async with services.engine.connect() as connection:
        attempts = await connection.execute(text("SELECT attempt, outcome FROM outbox_attempts ORDER BY id"))
        assert [tuple(row) for row in attempts] == [(1, "refused"), (1, "delivered"), (1, "delivered")]
        resends = await connection.execute(text("SELECT count(*) FROM audit_entries WHERE action = 'webhook.resend'"))
        assert resends.scalar_one() == 2


async def test_another_networks_ids_are_not_found(services: Services) -> None:
    ours, theirs = await make_network(services, "ours"), await make_network(services, "theirs")
    with receiver() as endpoint:
        their_hook = await services.webhooks.create(theirs.ref, NewSubscription(endpoint.url, ("purchase.recorded",)))
        our_hook = await services.webhooks.create(ours.ref, NewSubscription(endpoint.url, ("purchase.recorded",)))
        async with client(services) as http:
            await enrol(http, theirs.shop_key, "7300-0002")
            assert (await buy(http, theirs.shop_key, "7300-0002", "100.00")).status_code == 201
            await _deliver_all(services)
            [theirs_sent] = await services.webhooks.deliveries(theirs.ref, their_hook.id)
            answer = await http.post(
                f"/v1/admin/webhooks/{their_hook.id}/deliveries/{theirs_sent.id}/resend", headers=auth(ours.admin_key)
            )
            assert_problem(answer, 404, "not-found", "subscription_id")
            answer = await http.post(
                f"/v1/admin/webhooks/{our_hook.id}/deliveries/{theirs_sent.id}/resend", headers=auth(ours.admin_key)
            )
            assert_problem(answer, 404, "not-found", "message_id")
            answer = await http.post(
                f"/v1/admin/webhooks/{our_hook.id}/deliveries/0/resend", headers=auth(ours.admin_key)
            )
            assert answer.status_code == 422 and answer.json()["field"] == "message_id"
        assert len(endpoint.requests) == 1
