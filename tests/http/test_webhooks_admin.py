"""Webhook subscriptions through the admin API (issue 16), both engines: created with a secret shown once, listed,
shown with deliveries, paused, resumed, rotated, deleted; bad input is a 4xx problem naming the field, and another
network's subscription is a 404."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support import assert_problem, auth, client, make_network

pytestmark = pytest.mark.anyio
HOOK = {"url": "https://hooks.example/coalition", "event_kinds": ["purchase.recorded", "member.enrolled"]}


async def test_a_subscription_lives_through_the_api(services) -> None:
    network = await make_network(services)
    async with client(services) as http:
        made = await http.post(
            "/v1/admin/webhooks", json=HOOK | {"description": "ERP"}, headers=auth(network.admin_key)
        )
        assert made.status_code == 201, made.text
        hook = made.json()
        assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
        assert hook["event_kinds"] == ["purchase.recorded", "member.enrolled"] and hook["description"] == "ERP"
        listed = (await http.get("/v1/admin/webhooks", headers=auth(network.admin_key))).json()["webhooks"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
        shown = await http.get(f"/v1/admin/webhooks/{hook['id']}", headers=auth(network.admin_key))
        assert shown.status_code == 200 and shown.json()["deliveries"] == [] and "secret" not in shown.json()

        paused = await http.post(f"/v1/admin/webhooks/{hook['id']}/pause", headers=auth(network.admin_key))
        assert paused.json()["status"] == "paused"
        resumed = await http.post(f"/v1/admin/webhooks/{hook['id']}/resume", headers=auth(network.admin_key))
        assert resumed.json()["status"] == "active" and resumed.json()["paused_reason"] is None
        rotated = await http.post(f"/v1/admin/webhooks/{hook['id']}/rotate-secret", headers=auth(network.admin_key))
        assert rotated.status_code == 200
        assert rotated.json()["secret"] != hook["secret"] and rotated.json()["previous_secret_until"]
        gone = await http.delete(f"/v1/admin/webhooks/{hook['id']}", headers=auth(network.admin_key))
        assert gone.status_code == 204
        missing = await http.get(f"/v1/admin/webhooks/{hook['id']}", headers=auth(network.admin_key))
        assert_problem(missing, 404, "not-found", "subscription_id")
    async with services.engine.connect() as connection:
        actions = await connection.execute(text("SELECT action FROM audit_entries WHERE object_type = 'webhook'"))
        assert sorted(row[0] for row in actions) == sorted(
            ["webhook.create", "webhook.pause", "webhook.resume", "webhook.rotate_secret", "webhook.delete"]
        )
        logged = await connection.execute(text("SELECT after FROM audit_entries WHERE action = 'webhook.create'"))
        assert "whsec_" not in str(logged.scalar_one())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (HOOK | {"url": "ftp://hooks.example/x"}, "url"),
        (HOOK | {"url": "https://hooks.example/" + "a" * 5000}, "url"),
        (HOOK | {"url": "https://hooks.example/\x00"}, "url"),
        (HOOK | {"description": "ERP\x00"}, "description"),
        (HOOK | {"event_kinds": ["purchase.recorded", "purchase.exploded"]}, "event_kinds[1]"),
        (HOOK | {"event_kinds": []}, "event_kinds"),
        (HOOK | {"contact_email": "nobody"}, "contact_email"),
        (HOOK | {"url": 5}, "url"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(services, body, field) -> None:
    network = await make_network(services)
    async with client(services) as http:
        refused = await http.post("/v1/admin/webhooks", json=body, headers=auth(network.admin_key))
        assert 400 <= refused.status_code < 500, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json().get("field") == field, refused.json()
    async with services.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM webhook_subscriptions"))).scalar_one() == 0


async def test_another_networks_subscription_is_not_found(services) -> None:
    ours, theirs = await make_network(services, "ours"), await make_network(services, "theirs")
    async with client(services) as http:
        made = (await http.post("/v1/admin/webhooks", json=HOOK, headers=auth(theirs.admin_key))).json()
        for method, path in [
            ("GET", f"/v1/admin/webhooks/{made['id']}"),
            ("GET", f"/v1/admin/webhooks/{made['id']}/deliveries"),
            ("POST", f"/v1/admin/webhooks/{made['id']}/pause"),
            ("POST", f"/v1/admin/webhooks/{made['id']}/rotate-secret"),
            ("DELETE", f"/v1/admin/webhooks/{made['id']}"),
        ]:
            answer = await http.request(method, path, headers=auth(ours.admin_key))
            assert_problem(answer, 404, "not-found", "subscription_id")
        assert (await http.get("/v1/admin/webhooks", headers=auth(ours.admin_key))).json()["webhooks"] == []


async def test_a_network_has_at_most_20_subscriptions(services) -> None:
    network = await make_network(services)
    async with client(services) as http:
        for n in range(20):
            body = HOOK | {"url": f"https://hooks.example/{n}"}
            assert (
                await http.post("/v1/admin/webhooks", json=body, headers=auth(network.admin_key))
            ).status_code == 201
        refused = await http.post("/v1/admin/webhooks", json=HOOK, headers=auth(network.admin_key))
        assert 400 <= refused.status_code < 500 and refused.json()["field"] == "url"
