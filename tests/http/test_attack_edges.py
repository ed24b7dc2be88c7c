"""Issue 13, second wave: attacks from outside on the merged pipeline (a dishonest till, a careless administrator, an
outsider). Each test here was a hole: it failed before its fix. Bad input is a 4xx problem+json naming the field."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from tests.support import assert_problem, auth, client, make_network

pytestmark = pytest.mark.anyio

MOSCOW = ZoneInfo("Europe/Moscow")
HALF_OFF = {"rules": [{"code": "half-off", "effects": [{"discount": {"percent": "50"}}]}]}
# a moment past the last day Python can convert to UTC, and one before the first
AFTER_THE_CALENDAR = "9999-12-31T23:59:59-14:00"
BEFORE_THE_CALENDAR = "0001-01-01T00:00:00+14:00"


def _windowed(window: dict[str, str]) -> dict[str, object]:
    return {"rules": [{"code": "edge", "window": window, "effects": [{"discount": {"percent": "1"}}]}]}


async def test_a_rule_window_at_the_calendar_s_edge_is_refused_naming_the_field(services):
    """The conflict check shifted such a window's bounds by days and hours (an OverflowError: a 500)."""
    net = await make_network(services)
    async with client(services) as http:
        for window, field in (
            ({"starts_at": AFTER_THE_CALENDAR}, "rules[0].window.starts_at"),
            ({"ends_at": BEFORE_THE_CALENDAR}, "rules[0].window.ends_at"),
            ({"starts_at": "9999-12-31T00:00:00Z"}, "rules[0].window.starts_at"),
        ):
            refused = await http.put("/v1/admin/rule-sets/draft", json=_windowed(window), headers=auth(net.admin_key))
            assert "between" in assert_problem(refused, 422, "invalid-input", field)["detail"]
        usual = await http.put(
            "/v1/admin/rule-sets/draft",
            json=_windowed({"starts_at": "2026-12-01T00:00:00+03:00", "ends_at": "2100-01-01T00:00:00Z"}),
            headers=auth(net.admin_key),
        )
        assert usual.status_code == 200, usual.text


async def test_a_publication_at_the_calendar_s_edge_is_refused_naming_the_field(services):
    """PostgreSQL's driver could not store the moment (a 500); SQLite stored it as another moment."""
    net = await make_network(services)
    async with client(services) as http:
        saved = await http.put("/v1/admin/rule-sets/draft", json=HALF_OFF, headers=auth(net.admin_key))
        assert saved.status_code == 200, saved.text
        for moment in (AFTER_THE_CALENDAR, "9999-12-31T23:59:59Z"):
            refused = await http.post(
                "/v1/admin/rule-sets/draft/publish", json={"effective_from": moment}, headers=auth(net.admin_key)
            )
            assert "between" in assert_problem(refused, 422, "invalid-input", "effective_from")["detail"]
        history = await http.get("/v1/admin/rule-sets", headers=auth(net.admin_key))
        assert [v["status"] for v in history.json()["versions"]] == ["draft"]
        # a moment long past is now, as before
        long_past = {"effective_from": BEFORE_THE_CALENDAR}
        published = await http.post("/v1/admin/rule-sets/draft/publish", json=long_past, headers=auth(net.admin_key))
        assert published.status_code == 200, published.text


async def test_explain_at_the_calendar_s_edge_is_refused_naming_the_field(services):
    """Explain converted such an `at` to the outlet's time (an OverflowError: a 500); the window's fix covers it."""
    net = await make_network(services)
    async with client(services) as http:
        saved = await http.put("/v1/admin/rule-sets/draft", json=HALF_OFF, headers=auth(net.admin_key))
        assert saved.status_code == 200, saved.text
        for moment in (BEFORE_THE_CALENDAR, AFTER_THE_CALENDAR):
            asked = {"at": moment, "amount": "10.00", "outlet": "Shop till"}
            refused = await http.post("/v1/admin/rule-sets/explain", json=asked, headers=auth(net.admin_key))
            assert_problem(refused, 422, "invalid-input", "at")
