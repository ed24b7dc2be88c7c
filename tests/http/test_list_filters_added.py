"""The filters added to the lists that lacked them (issue 17, point 5; docs/api.md "Conventions"), on both engines:
coupons by member, devices by outlet, webhook deliveries and job runs by time. Rows in and out of each filter;
another network's member or outlet answers an empty page, as on every list; a window that ends before it starts,
a naive time, a huge id or a NUL byte is a 422 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.test_devices_registry import vending
from tests.support import SettableClock, assert_problem, auth, buy, client, enrol, make_network

pytestmark = pytest.mark.anyio
HOOK = {"url": "https://hooks.example/coalition", "event_kinds": ["member.enrolled"]}
HUGE = 2**63  # one past the largest id
WINDOW = ("since", "until")


async def _get(http: Any, key: str, path: str, **params: Any) -> dict[str, Any]:
    answer = await http.get(path, params=params, headers=auth(key))
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def _refusals(http: Any, key: str, path: str, bad: list[tuple[dict[str, Any], str]]) -> None:
    for params, field in bad:
        refused = await http.get(path, params=params, headers=auth(key))
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["field"] == field, (params, refused.json())


async def test_the_coupons_list_filters_by_member(services) -> None:
    net, other = await make_network(services), await make_network(services, "other")
    async with client(services) as http:
        anna = (await enrol(http, net.shop_key, "5500-0101"))["member"]["id"]
        boris = (await enrol(http, net.shop_key, "5500-0102"))["member"]["id"]
        stranger = (await enrol(http, other.shop_key, "5500-0103"))["member"]["id"]
        until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        for codes, member in ((["ANNA1", "ANNA2", "ANNA3"], "5500-0101"), (["BORIS"], "5500-0102"), (["ALL"], None)):
            body = {"campaign": "spring", "codes": codes, "valid_until": until, "member": member}
            made = await http.post("/v1/admin/coupons", json=body, headers=auth(net.admin_key))
            assert made.status_code == 201, made.text
        path = "/v1/admin/coupons"
        first = await _get(http, net.admin_key, path, member_id=anna, limit=2)
        second = await _get(http, net.admin_key, path, member_id=anna, limit=2, cursor=first["next_cursor"])
        assert [c["code"] for c in first["coupons"] + second["coupons"]] == ["ANNA1", "ANNA2", "ANNA3"]
        assert second["next_cursor"] is None
        assert {c["member_id"] for c in first["coupons"] + second["coupons"]} == {anna}
        both = await _get(http, net.admin_key, path, member_id=boris, campaign="spring")
        assert [c["code"] for c in both["coupons"]] == ["BORIS"]
        assert (await _get(http, net.admin_key, path, member_id=boris, campaign="autumn"))["coupons"] == []
        assert len((await _get(http, net.admin_key, path))["coupons"]) == 5  # unfiltered: every coupon
        for foreign in (stranger, 999_999_999):  # another network's member, or none: an empty page
            assert await _get(http, net.admin_key, path, member_id=foreign) == {"coupons": [], "next_cursor": None}
        bad = [({"member_id": 0}, "member_id"), ({"member_id": HUGE}, "member_id"), ({"member_id": "x"}, "member_id")]
        await _refusals(http, net.admin_key, path, bad)


async def test_the_devices_list_filters_by_outlet(services) -> None:
    net, other = await make_network(services), await make_network(services, "other")
    async with client(services) as http:
        partners = {p["name"]: p["id"] for p in (await _get(http, net.admin_key, "/v1/admin/partners"))["partners"]}
        made = []
        for name in ("Hall A", "Hall B"):
            answer = await http.post(
                "/v1/admin/devices", json=vending(partners["Cafe"], name=name), headers=auth(net.admin_key)
            )
            assert answer.status_code == 201, answer.text
            made.append(answer.json())
        theirs = (await _get(http, other.admin_key, "/v1/admin/outlets"))["outlets"][0]["id"]
        path = "/v1/admin/devices"
        for device in made:
            found = await _get(http, net.admin_key, path, outlet_id=device["outlet_id"])
            assert [d["id"] for d in found["devices"]] == [device["id"]] and found["next_cursor"] is None
        assert len((await _get(http, net.admin_key, path))["devices"]) == 2
        till = (await _get(http, net.admin_key, "/v1/admin/outlets"))["outlets"][0]["id"]  # an outlet, no device
        for outlet in (till, theirs, 999_999_999):
            assert await _get(http, net.admin_key, path, outlet_id=outlet) == {"devices": [], "next_cursor": None}
        bad = [
            ({"outlet_id": 0}, "outlet_id"),
            ({"outlet_id": HUGE}, "outlet_id"),
            ({"outlet_id": "1\x00"}, "outlet_id"),
        ]
        await _refusals(http, net.admin_key, path, bad)


def _window_refusals() -> list[tuple[dict[str, Any], str]]:
    return [
        ({"since": "2026-12-03T00:00:00+00:00", "until": "2026-12-02T00:00:00+00:00"}, "until"),
        ({"since": "2026-12-03T00:00:00+00:00", "until": "2026-12-03T00:00:00+00:00"}, "until"),
        ({"since": "2026-12-03T00:00:00"}, "since"),  # no offset
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-12-03T00:00:00+00:00\x00"}, "since"),
    ]


async def test_a_subscriptions_deliveries_filter_by_time(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    try:
        net, other = await make_network(services), await make_network(services, "other")
        async with client(services) as http:
            hook = (await http.post("/v1/admin/webhooks", json=HOOK, headers=auth(net.admin_key))).json()
            for day, card in ((1, "5500-0201"), (2, "5500-0202"), (3, "5500-0203")):
                clock.moment = datetime(2026, 12, day, 10, 0, tzinfo=UTC)
                await enrol(http, net.shop_key, card)
            path = f"/v1/admin/webhooks/{hook['id']}/deliveries"

            async def days(**params: Any) -> list[int]:
                found = (await _get(http, net.admin_key, path, **params))["deliveries"]
                return [datetime.fromisoformat(d["created_at"]).day for d in found]

            assert await days() == [3, 2, 1]
            assert await days(since="2026-12-02T10:00:00+00:00") == [3, 2]  # since: inclusive
            assert await days(until="2026-12-02T10:00:00+00:00") == [1]  # until: exclusive
            moscow = {"since": "2026-12-02T12:00:00+03:00", "until": "2026-12-03T12:00:00+03:00"}  # = 09:00Z
            assert await days(**moscow) == [2]
            first = await _get(http, net.admin_key, path, since="2026-12-01T00:00:00Z", limit=1)
            rest = await _get(http, net.admin_key, path, since="2026-12-01T00:00:00Z", cursor=first["next_cursor"])
            assert len(first["deliveries"]) == 1 and len(rest["deliveries"]) == 2 and rest["next_cursor"] is None
            assert await days(since="2026-12-04T00:00:00+00:00") == []
            await _refusals(http, net.admin_key, path, _window_refusals())
            foreign = await http.get(path, params={"since": "2026-12-01T00:00:00Z"}, headers=auth(other.admin_key))
            assert_problem(foreign, 404, "not-found", "subscription_id")
    finally:
        await services.close()


async def test_the_job_runs_filter_by_start_time(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 6, 22, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    try:
        net = await make_network(services)
        await services.scheduler.tick()
        clock.moment = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
        await services.scheduler.tick()
        async with client(services) as http:
            path = "/v1/admin/schedules/runs"

            async def runs(**params: Any) -> list[tuple[str, str]]:
                found = (await _get(http, net.admin_key, path, job="birthdays", **params))["runs"]
                return [(run["period"], run["started_at"][:10]) for run in found]

            everything = await runs()
            assert [started for _, started in everything] == ["2026-12-07", "2026-12-06"], everything
            assert [s for _, s in await runs(since="2026-12-07T00:00:00+00:00")] == ["2026-12-07"]
            assert [s for _, s in await runs(until="2026-12-07T00:00:00+00:00")] == ["2026-12-06"]
            assert await runs(since="2026-12-07T22:00:00+00:00", until="2026-12-07T22:00:01+00:00") == everything[:1]
            assert await runs(since="2026-12-08T00:00:00+00:00") == []
            every_job = await _get(http, net.admin_key, path, since="2026-12-07T00:00:00Z", limit=2)
            assert every_job["next_cursor"] is not None
            assert {run["started_at"][:10] for run in every_job["runs"]} == {"2026-12-07"}
            await _refusals(http, net.admin_key, path, _window_refusals())
    finally:
        await services.close()


async def test_the_campaigns_list_filters_by_creation_time(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    body = {"segment": {"visited_within_days": 30}, "channels": ["email"], "subject": "Hello", "body": "Double points!"}
    try:
        net, other = await make_network(services), await make_network(services, "other")
        async with client(services) as http:
            for day in (1, 2, 3):
                clock.moment = datetime(2026, 12, day, 10, 0, tzinfo=UTC)
                made = await http.post(
                    "/v1/admin/campaigns", json=body | {"name": f"Day {day}"}, headers=auth(net.admin_key)
                )
                assert made.status_code == 201, made.text
            path = "/v1/admin/campaigns"

            async def names(key: str = net.admin_key, **params: Any) -> list[str]:
                return [c["name"] for c in (await _get(http, key, path, **params))["campaigns"]]

            assert await names() == ["Day 3", "Day 2", "Day 1"]
            assert await names(since="2026-12-02T10:00:00Z") == ["Day 3", "Day 2"]
            assert await names(until="2026-12-02T10:00:00Z") == ["Day 1"]
            assert await names(since="2026-12-02T12:00:00+03:00", until="2026-12-03T12:00:00+03:00") == ["Day 2"]
            first = await _get(http, net.admin_key, path, since="2026-12-01T00:00:00Z", limit=2)
            rest = await _get(http, net.admin_key, path, since="2026-12-01T00:00:00Z", cursor=first["next_cursor"])
            assert [c["name"] for c in rest["campaigns"]] == ["Day 1"] and rest["next_cursor"] is None
            assert await names(other.admin_key, since="2026-12-01T00:00:00Z") == []  # another network's: its own
            await _refusals(http, net.admin_key, path, _window_refusals())
    finally:
        await services.close()


async def test_every_time_filter_reads_any_offset_and_the_calendars_edges(services) -> None:
    """A bound with any offset means the same moment (SQLite compares stored moments as text, in UTC: the bound is
    put in UTC first), and one whose UTC lies past the calendar's edge is that edge: an empty page, never a 500."""
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5500-0301")
        assert (await buy(http, net.shop_key, "5500-0301", "100.00")).status_code == 201
        hook = (await http.post("/v1/admin/webhooks", json=HOOK, headers=auth(net.admin_key))).json()["id"]
        now = datetime.now(UTC)
        an_hour_ago = (now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=3))).isoformat()
        in_an_hour = (now + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-5))).isoformat()
        lists = {  # path: (its key, its window's names, the list in the answer, the rows there are now)
            "/v1/admin/transactions": (net.admin_key, WINDOW, "transactions", 1),
            "/v1/admin/members": (net.admin_key, ("enrolled_since", "enrolled_until"), "members", 1),
            "/v1/admin/members/5500-0301/statement": (net.admin_key, WINDOW, "transactions", 1),
            "/v1/members/5500-0301/wallet/history": (net.shop_key, WINDOW, "lines", 0),
            "/v1/admin/audit": (net.admin_key, WINDOW, "entries", 1),  # the subscription's creation, at least
            "/v1/admin/campaigns": (net.admin_key, WINDOW, "campaigns", 0),
            "/v1/admin/schedules/runs": (net.admin_key, WINDOW, "runs", 0),
            f"/v1/admin/webhooks/{hook}/deliveries": (net.admin_key, WINDOW, "deliveries", 0),
        }
        for path, (key, (since, until), name, rows) in lists.items():
            found = await _get(http, key, path, **{since: an_hour_ago, until: in_an_hour})
            assert len(found[name]) >= rows if name == "entries" else len(found[name]) == rows, (path, found)
            for edge in ({since: "9999-12-31T23:00:00-05:00"}, {until: "0001-01-01T00:30:00+05:00"}):
                assert (await _get(http, key, path, **edge))[name] == [], (path, edge)
