"""/v1/admin/message-settings (issue 16, point 3) on both engines: every kind off by default with the server's quiet
hours and cap; a change saved, audited (`message_settings.set`) and read back; bad input refused with 422 naming the
field, nothing written; a stale version is a 409; another network keeps its own."""

from __future__ import annotations

import pytest

from coalition.wiring import Services
from tests.support import assert_problem, auth, client, make_network

pytestmark = pytest.mark.anyio
PATH = "/v1/admin/message-settings"


async def test_settings_read_changed_audited(services: Services) -> None:
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        admin = auth(net.admin_key)
        shown = (await http.get(PATH, headers=admin)).json()
        assert shown["enabled"]["thank_you"] == [] and all(not channels for channels in shown["enabled"].values())
        assert (shown["quiet_start"], shown["quiet_end"], shown["cap_per_day"]) == ("21:00", "09:00", 3)
        assert (shown["balance_threshold"], shown["expiring_days_before"], shown["version"]) == (None, 7, 0)

        change = {"enabled": {"thank_you": ["email", "sms"]}, "balance_threshold": 500, "cap_per_day": 2}
        saved = await http.put(PATH, json=change, headers=admin)
        assert saved.status_code == 200, saved.text
        body = saved.json()
        assert body["enabled"]["thank_you"] == ["email", "sms"] and body["enabled"]["welcome"] == []
        assert (body["balance_threshold"], body["cap_per_day"], body["version"]) == (500, 2, 1)
        assert body["quiet_start"] == "21:00"  # left out: kept
        off = await http.put(PATH, json={"quiet_start": None, "quiet_end": None, "version": 1}, headers=admin)
        assert off.status_code == 200 and off.json()["quiet_start"] is None and off.json()["version"] == 2
        stale = await http.put(PATH, json={"cap_per_day": 5, "version": 1}, headers=admin)
        assert_problem(stale, 409, "conflict", "version")
        assert (await http.get(PATH, headers=auth(other.admin_key))).json()["version"] == 0

        audit = (await http.get("/v1/admin/audit", params={"action": "message_settings.set"}, headers=admin)).json()
        entries = audit["entries"]
        assert len(entries) == 2 and entries[-1]["after"]["balance_threshold"] == 500


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": {"thank_you": ["fax"]}}, "enabled.thank_you"),
        ({"enabled": {"spam": ["email"]}}, "enabled.spam"),
        ({"enabled": None}, "enabled"),
        ({"cap_per_day": 0}, "cap_per_day"),
        ({"cap_per_day": 101}, "cap_per_day"),
        ({"cap_per_day": "3"}, "cap_per_day"),
        ({"balance_threshold": 0}, "balance_threshold"),
        ({"expiring_days_before": 91}, "expiring_days_before"),
        ({"quiet_start": "25:00"}, "quiet_start"),
        ({"quiet_start": "9am"}, "quiet_start"),
        ({"quiet_start": None}, "quiet_start"),
        ({"quiet_start": "09:00", "quiet_end": "09:00"}, "quiet_end"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(services: Services, body: dict, field: str) -> None:
    net = await make_network(services)
    async with client(services) as http:
        refused = await http.put(PATH, json=body, headers=auth(net.admin_key))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json().get("field") == field, refused.json()
        assert (await http.get(PATH, headers=auth(net.admin_key))).json()["version"] == 0
