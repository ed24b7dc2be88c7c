"""Device use (issue 3's `device_use` trigger): a machine reports a member's use and its outlet's rules fire — a
bonus owed by the device's partner, coupons — idempotently, on both engines."""

from __future__ import annotations

import pytest

from coalition.adapters.storage.verify import verify
from tests.http.water_park import buy, water_park
from tests.support import assert_problem, auth, client, enrol, new_key

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {"code": "points", "effects": [{"accrue_percent": {"percent": "10"}}]},
        {
            "code": "arcade-play",
            "trigger": "device_use",
            "scope": {"partners": ["Arcade"]},
            "effects": [{"accrue_fixed": {"points": 5, "expiry": {"kind": "end_of_visit"}}}],
        },
        {
            "code": "big-spender-coffee",
            "trigger": "device_use",
            "scope": {"partners": ["Arcade"]},
            "condition": "member.lifetime_spend_minor >= 100000",
            "effects": [{"issue_coupon": {"campaign": "coffee", "valid_days": 1}}],
        },
    ]
}


async def _arcade(services, http):
    admin_key, keys, _ = await water_park(services)
    net = await services.admin.network("park")
    saved = await services.rules.save_draft(net, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net, None)
    return admin_key, keys


async def _use(http, key, card, idempotency_key=None):
    return await http.post("/v1/device-uses", json={"customer": card}, headers=auth(key, idempotency_key or new_key()))


async def test_a_play_earns_the_device_rules_bonus_owed_by_its_partner(park) -> None:
    services, _clock = park
    async with client(services) as http:
        _, keys = await _arcade(services, http)
        await enrol(http, keys["Tickets"], "W-1")
        await buy(http, keys["Tickets"], "W-1", "1500.00")  # 150 points, and 1,500.00 spent: the coupon's condition
        key = new_key()
        played = await _use(http, keys["Arcade"], "W-1", key)
        assert played.status_code == 201, played.text
        body = played.json()
        assert body["device"] == "Arcade desk"
        assert body["bonus"] == {"points": 5, "rules": ["arcade-play"]}
        assert body["points_balance"] == 155
        assert body["applied_rules"] == ["arcade-play", "big-spender-coffee"]
        assert [coupon["campaign"] for coupon in body["coupons_issued"]] == ["coffee"]
        again = await _use(http, keys["Arcade"], "W-1", key)
        assert again.json() == body
        assert again.headers.get("idempotent-replayed") == "true"
        other = await http.post("/v1/device-uses", json={"customer": "W-2"}, headers=auth(keys["Arcade"], key))
        assert_problem(other, 422, "idempotency-key-reused")
        member = await http.get("/v1/members/W-1", headers=auth(keys["Arcade"]))
        assert member.json()["points_balance"] == 155
    assert await verify(services.engine) == []


async def test_a_device_outside_the_rules_scope_gives_nothing_and_writes_no_transaction(park) -> None:
    services, _clock = park
    async with client(services) as http:
        admin_key, keys = await _arcade(services, http)
        await enrol(http, keys["Tickets"], "W-1")
        played = await _use(http, keys["Cafe"], "W-1")
        assert played.status_code == 201
        assert played.json() == {
            "member": played.json()["member"],
            "device": "Cafe desk",
            "visit": None,
            "points_balance": 0,
            "applied_rules": [],
        }
        statement = await http.get("/v1/admin/members/W-1/statement", headers=auth(admin_key))
        assert statement.json()["transactions"] == []


async def test_points_won_during_a_visit_end_with_it(park) -> None:
    services, _clock = park
    async with client(services) as http:
        _, keys = await _arcade(services, http)
        await enrol(http, keys["Tickets"], "W-1")
        visit = await http.post("/v1/visits", json={"customer": "W-1"}, headers=auth(keys["Tickets"], new_key()))
        played = await _use(http, keys["Arcade"], "W-1")
        assert played.json()["visit"] == visit.json()["id"]
        assert played.json()["points_balance"] == 5
        ended = await http.post(f"/v1/visits/{visit.json()['id']}/end", headers=auth(keys["Tickets"], new_key()))
        assert ended.status_code == 200, ended.text
        assert ended.json()["points_expired"] == 5  # the play's lot ended with the visit
        member = await http.get("/v1/members/W-1", headers=auth(keys["Arcade"]))
        assert member.json()["points_balance"] == 0


async def test_an_unknown_or_blocked_card_is_refused_and_nothing_is_written(park) -> None:
    services, _clock = park
    async with client(services) as http:
        _, keys = await _arcade(services, http)
        assert_problem(await _use(http, keys["Arcade"], "NOBODY"), 404, "member-not-found", "customer")
        await enrol(http, keys["Tickets"], "W-1")
        blocked = await http.post("/v1/cards/W-1/block", headers=auth(keys["Tickets"], new_key()))
        assert blocked.status_code == 200, blocked.text
        assert_problem(await _use(http, keys["Arcade"], "W-1"), 409, "card-not-active")
        missing = await http.post("/v1/device-uses", json={}, headers=auth(keys["Arcade"], new_key()))
        assert_problem(missing, 422, "invalid-input", "customer")
