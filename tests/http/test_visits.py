"""Visits to a closed venue: the entry starts one (with an entry bonus), the exit ends it and resets what the visit
left unused — points and gifts — while the points the member came with stay (issues 3 and 4), on both engines."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from coalition.adapters.storage.verify import verify
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.water_park import Clock, buy, water_park
from tests.support import assert_problem, auth, client, enrol, new_key

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {
            "code": "entry-bonus",
            "trigger": "visit_start",
            "scope": {"partners": ["Tickets"]},
            "effects": [{"accrue_fixed": {"points": 30}}],
        },
        {
            "code": "points",
            "effects": [
                {"accrue_percent": {"percent": "10"}},
                {"set_redemption": {"cap_percent": "50", "min_check": "0.00"}},
            ],
        },
        {
            "code": "ticket-gives-photo",
            "scope": {"partners": ["Tickets"]},
            "condition": "basket.total_minor >= 150000",
            "effects": [{"grant_gift": {"gift_type": "free-photo", "valid_days": 1}}],
        },
        {
            "code": "exit-reset",
            "trigger": "visit_end",
            "scope": {"partners": ["Tickets"]},
            "effects": [{"reset_balances": {"points": True, "gifts": True}}],
        },
    ]
}


async def _park_with_visit_rules(services, http):
    admin_key, keys, _ = await water_park(services)
    gift_type = {
        "code": "free-photo",
        "name": "A free photo",
        "price": "300.00",
        "valid_days": 7,
        "partners": ["Photo"],
    }
    created = await http.post("/v1/admin/gift-types", json=gift_type, headers=auth(admin_key))
    assert created.status_code == 201, created.text
    net = await services.admin.network("park")
    saved = await services.rules.save_draft(net, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net, None)
    return admin_key, keys


async def _start(http, key, card, idempotency_key=None):
    return await http.post("/v1/visits", json={"customer": card}, headers=auth(key, idempotency_key or new_key()))


async def _end(http, key, visit_id, idempotency_key=None):
    return await http.post(f"/v1/visits/{visit_id}/end", headers=auth(key, idempotency_key or new_key()))


async def _points(http, key, card) -> int:
    response = await http.get(f"/v1/members/{card}", headers=auth(key))
    assert response.status_code == 200, response.text
    return int(response.json()["points_balance"])


async def test_a_visit_grants_an_entry_bonus_and_its_end_resets_only_what_the_visit_left(park):
    services, clock = park
    async with client(services) as http:
        admin_key, keys = await _park_with_visit_rules(services, http)
        await enrol(http, keys["Tickets"], "W-1")
        await buy(http, keys["Cafe"], "W-1", "400.00")  # before the visit: 40 points the member comes with
        clock.moment += timedelta(minutes=5)

        started = await _start(http, keys["Tickets"], "W-1")
        assert started.status_code == 201, started.text
        visit = started.json()
        assert visit["state"] == "open" and visit["entry_outlet"] == "Tickets desk"
        assert visit["bonus"] == {"points": 30, "rules": ["entry-bonus"]}
        assert visit["points_balance"] == 70
        again = await _start(http, keys["Tickets"], "W-1")  # a second entry without an exit
        assert_problem(again, 409, "conflict", "customer")

        clock.moment += timedelta(minutes=5)
        ticket = await buy(http, keys["Tickets"], "W-1", "1500.00")  # +150 points and a free photo
        assert ticket["points_earned"] == 150
        (gift,) = ticket["gifts_granted"]
        lunch = await buy(http, keys["Cafe"], "W-1", "200.00", redeem=100)  # −100, then +10 on the 100.00 paid
        assert lunch["points_earned"] == 10
        assert await _points(http, keys["Tickets"], "W-1") == 130

        # Leaving through the ticket office: the visit added 30 + 150 − 100 + 10 = 90 points; they are reset, the
        # 40 the member came with stay; the photo not handed over expires.
        clock.moment += timedelta(hours=3)
        exit_key = new_key()
        ended = await _end(http, keys["Tickets"], visit["id"], exit_key)
        assert ended.status_code == 200, ended.text
        body = ended.json()
        assert body["state"] == "ended" and body["exit_outlet"] == "Tickets desk"
        assert body["reset"] == {"points": 90, "gifts": [gift["id"]], "rules": ["exit-reset"]}
        assert body["points_balance"] == 40
        assert await _points(http, keys["Tickets"], "W-1") == 40

        replayed = await _end(http, keys["Tickets"], visit["id"], exit_key)  # a retry of the same exit
        assert replayed.json() == body and replayed.headers["Idempotent-Replayed"] == "true"
        assert_problem(await _end(http, keys["Tickets"], visit["id"]), 409, "conflict", "visit_id")
        photo = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert photo.status_code == 409, photo.text

        shown = await http.get(f"/v1/visits/{visit['id']}", headers=auth(keys["Cafe"]))
        assert shown.status_code == 200, shown.text
        assert shown.json()["state"] == "ended" and shown.json()["ended_at"] == clock.moment.isoformat()

        statement = await http.get("/v1/admin/members/W-1/statement", headers=auth(admin_key))
        assert statement.status_code == 200, statement.text
        lines = statement.json()["transactions"]
        reset = [line for line in lines if "unused points reset" in line["memo"]]
        assert [(line["kind"], line["points"], line["balance_after"]) for line in reset] == [("expiry", -90, 40)]

        # the next day's visit starts afresh
        clock.moment += timedelta(hours=12)
        next_day = await _start(http, keys["Tickets"], "W-1")
        assert next_day.status_code == 201 and next_day.json()["points_balance"] == 70
    assert await verify(services.engine) == []


async def test_a_visit_ended_where_no_reset_rule_applies_resets_nothing(park):
    services, clock = park
    async with client(services) as http:
        _, keys = await _park_with_visit_rules(services, http)
        await enrol(http, keys["Tickets"], "W-2")
        visit = (await _start(http, keys["Cafe"], "W-2")).json()  # no entry bonus outside the ticket office
        assert "bonus" not in visit and visit["points_balance"] == 0
        await buy(http, keys["Cafe"], "W-2", "300.00")
        clock.moment += timedelta(hours=1)
        ended = await _end(http, keys["Cafe"], visit["id"])  # the reset rule is the ticket office's
        assert ended.status_code == 200, ended.text
        assert ended.json()["reset"] == {"points": 0, "gifts": [], "rules": []}
        assert await _points(http, keys["Cafe"], "W-2") == 30


async def test_visits_refuse_bad_input_and_write_nothing(park):
    services, _ = park
    async with client(services) as http:
        _, keys = await _park_with_visit_rules(services, http)
        assert_problem(await _start(http, keys["Tickets"], "NO-SUCH-CARD"), 404, "member-not-found", "customer")
        assert_problem(await _end(http, keys["Tickets"], "no-such-visit"), 404, "not-found", "visit_id")
        missing_key = await http.post("/v1/visits", json={"customer": "W-3"}, headers=auth(keys["Tickets"]))
        assert_problem(missing_key, 422, "invalid-input", "Idempotency-Key")
        empty = await http.post("/v1/visits", json={"customer": ""}, headers=auth(keys["Tickets"], new_key()))
        assert_problem(empty, 422, "invalid-input", "customer")
        unknown_field = {"customer": "W-3", "extra": 1}
        extra = await http.post("/v1/visits", json=unknown_field, headers=auth(keys["Tickets"], new_key()))
        assert extra.status_code == 422, extra.text
        async with services.engine.connect() as connection:
            from sqlalchemy import text

            assert (await connection.execute(text("SELECT COUNT(*) FROM visits"))).scalar_one() == 0


@pytest.mark.postgres
async def test_one_entry_and_one_exit_win_under_concurrency(pg_database_url):
    clock = Clock()
    services = build_services(Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"), clock)
    try:
        async with client(services) as http:
            _, keys = await _park_with_visit_rules(services, http)
            await enrol(http, keys["Tickets"], "W-9")
            entries = await asyncio.gather(*(_start(http, keys["Tickets"], "W-9") for _ in range(8)))
            assert Counter(answer.status_code for answer in entries) == {201: 1, 409: 7}
            [visit] = [answer.json() for answer in entries if answer.status_code == 201]
            assert visit["points_balance"] == 30  # one entry bonus
            clock.moment += timedelta(hours=1)
            exits = await asyncio.gather(*(_end(http, keys["Tickets"], visit["id"]) for _ in range(8)))
            assert Counter(answer.status_code for answer in exits) == {200: 1, 409: 7}
            assert await _points(http, keys["Tickets"], "W-9") == 0  # the entry bonus reset once
        assert await verify(services.engine) == []
    finally:
        await services.close()
