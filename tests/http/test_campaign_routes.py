"""Campaigns over HTTP (/v1/admin/campaigns), both engines: created, listed, shown with counts, the audience and the
message previewed, scheduled and cancelled, each write audited; bad input is a 422 problem naming the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from coalition.wiring import Services
from tests.jobs.campaign_support import crafted_network
from tests.jobs.message_support import START
from tests.support import SettableClock, assert_problem, auth, client

pytestmark = pytest.mark.anyio


@pytest.fixture()
async def timed(settings) -> Any:
    from coalition.wiring import build_services

    clock = SettableClock(START)
    services = build_services(settings, clock=clock)
    try:
        yield services, clock
    finally:
        await services.close()


BODY = {
    "name": "December offer",
    "segment": {"tier": "gold", "spend_from": "10000.00", "visited_within_days": 30},
    "channels": ["email"],
    "subject": "A gift for {{ member_name }}",
    "body": "{{ member_name }}, double points on Saturday!",
}


async def _actions(services: Services) -> list[str]:
    from sqlalchemy import text

    async with services.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT action FROM audit_entries WHERE action LIKE 'campaign.%' ORDER BY id")
        )
        return [row[0] for row in rows]


async def test_create_preview_schedule_and_cancel(timed) -> None:
    services, clock = timed
    network, ids = await crafted_network(services, clock)
    headers = auth(network.admin_key)
    async with client(services) as http:
        audience = await http.post("/v1/admin/campaigns/audience", json=BODY["segment"], headers=headers)
        assert audience.status_code == 200 and audience.json() == {"audience": 2}
        created = await http.post("/v1/admin/campaigns", json=BODY, headers=headers)
        assert created.status_code == 201, created.text
        campaign = created.json()
        assert (campaign["status"], campaign["segment"]["spend_from"], campaign["segment"]["spend_to"]) == (
            "draft",
            "10000.00",
            None,
        )
        number = campaign["id"]
        preview = await http.post(
            f"/v1/admin/campaigns/{number}/preview", json={"member_id": ids["Anna"]}, headers=headers
        )
        assert preview.json() == {
            "channel": "email",
            "member_id": ids["Anna"],
            "subject": "A gift for Anna",
            "body": "Anna, double points on Saturday!",
        }
        when = (START + timedelta(days=1)).isoformat()
        scheduled = await http.post(
            f"/v1/admin/campaigns/{number}/schedule", json={"scheduled_at": when}, headers=headers
        )
        assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled", scheduled.text
        shown = await http.get(f"/v1/admin/campaigns/{number}", headers=headers)
        assert shown.json()["counts"]["total"] == 0
        listed = await http.get("/v1/admin/campaigns", headers=headers)
        assert [item["id"] for item in listed.json()["campaigns"]] == [number]
        cancelled = await http.post(f"/v1/admin/campaigns/{number}/cancel", headers=headers)
        assert cancelled.json()["status"] == "cancelled"
        again = await http.post(f"/v1/admin/campaigns/{number}/cancel", headers=headers)
        assert_problem(again, 409, "conflict", "status")
        assert_problem(await http.get("/v1/admin/campaigns/999999", headers=headers), 404, "not-found", "campaign_id")
    assert await _actions(services) == ["campaign.create", "campaign.schedule", "campaign.cancel"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"segment": {"tier": "platinum"}}, "segment.tier"),
        ({"segment": {"spend_from": "500.00", "spend_to": "100.00"}}, "segment.spend_to"),
        ({"segment": {"spend_from": "12.345"}}, "segment.spend_from"),
        ({"segment": {"last_visit_after": "2026-13-01"}}, "segment.last_visit_after"),
        ({"segment": {"colour": "red"}}, "segment.colour"),
        ({"scheduled_at": "2020-01-01T10:00:00+03:00"}, "scheduled_at"),
        ({"body": "Hello\n{{ member_name }"}, "body"),
        ({"channels": ["fax"]}, "channels"),
        ({"channels": []}, "channels"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(timed, change: dict[str, Any], field: str) -> None:
    services, clock = timed
    network, _ = await crafted_network(services, clock)
    async with client(services) as http:
        answer = await http.post("/v1/admin/campaigns", json=BODY | change, headers=auth(network.admin_key))
    problem = assert_problem(answer, 422, "template-invalid" if field == "body" else "invalid-input", field)
    if field == "body":
        assert problem["detail"].startswith("line 2: "), problem
    assert await _actions(services) == []
