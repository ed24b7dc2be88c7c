"""Each accrual's points live as its rule says (issue 3, point 5): one lot per expiry, spent soonest-expiring first,
swept to breakage by the expiry job at the right moments — a month ends at the outlet's midnight (Moscow, UTC+3 in
the water park), not UTC's — and end_of_visit points with the visit; the batch path makes the same lots. Both
engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.http.water_park import buy, water_park
from tests.support import auth, client, enrol, new_key

pytestmark = pytest.mark.anyio

REDEMPTION = {"set_redemption": {"cap_percent": "50", "min_check": "0.00"}}
MONTH_AND_WEEK = {
    "rules": [
        {
            "code": "base",
            "effects": [{"accrue_percent": {"percent": "10", "expiry": {"kind": "end_of_month"}}}, REDEMPTION],
        },
        {"code": "week-bonus", "effects": [{"accrue_fixed": {"points": 20, "expiry": {"days": 7}}}]},
    ]
}
SPLASH = {
    "rules": [
        {"code": "base", "effects": [{"accrue_percent": {"percent": "10"}}, REDEMPTION]},
        {
            "code": "splash",
            "scope": {"partners": ["Photo"]},
            "effects": [{"accrue_fixed": {"points": 15, "expiry": {"kind": "end_of_visit"}}}],
        },
    ]
}
# 01:00 on 1 August in Moscow: UTC's month ends in two hours, Moscow's on 31 August at 21:00 UTC
AUGUST_FIRST = datetime(2026, 7, 31, 22, 0, tzinfo=UTC)
MOSCOW_AUGUST_END = "2026-08-31T21:00:00+00:00"


async def _park_with_rules(services, rules):
    admin_key, keys, _ = await water_park(services)
    net = await services.admin.network("park")
    saved = await services.rules.save_draft(net, rules)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net, None)
    return admin_key, keys


async def _lots(services, card: str) -> list[tuple[int, int, str | None, str | None]]:
    """(points, remaining, expires_at, visit) of the card holder's lots, oldest first."""
    query = sa.text(
        "SELECT l.points, l.remaining, l.expires_at, l.ends_with_visit_id FROM lots l "
        "JOIN member_balances b ON b.account_id = l.account_id "
        "JOIN identifiers i ON i.member_id = b.member_id WHERE i.value = :card ORDER BY l.id"
    )
    async with services.engine.connect() as connection:
        rows = (await connection.execute(query, {"card": card})).all()
    return [(int(r[0]), int(r[1]), _iso(r[2]), r[3]) for r in rows]


def _iso(moment: datetime | str | None) -> str | None:
    if moment is None:
        return None
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


async def _points(http, key, card) -> int:
    response = await http.get(f"/v1/members/{card}", headers=auth(key))
    assert response.status_code == 200, response.text
    return int(response.json()["points_balance"])


async def _expire(http, admin_key) -> int:
    response = await http.post("/v1/admin/jobs/expire", headers=auth(admin_key))
    assert response.status_code == 200, response.text
    return int(response.json()["points"]["points"])


async def test_two_expiries_make_two_lots_spent_soonest_first_and_expired_at_their_moments(park):
    services, clock = park
    clock.moment = AUGUST_FIRST
    async with client(services) as http:
        admin_key, keys = await _park_with_rules(services, MONTH_AND_WEEK)
        cafe = keys["Cafe"]
        await enrol(http, cafe, "7001")
        week_end = "2026-08-07T22:00:00+00:00"
        expected = [{"points": 20, "expires_at": week_end}, {"points": 100, "expires_at": MOSCOW_AUGUST_END}]

        body = {"customer": "7001", "amount": "1000.00"}
        quoted = (await http.post("/v1/purchases/quote", json=body, headers=auth(cafe))).json()
        assert (quoted["points_to_earn"], quoted["points_expiring"]) == (120, expected)
        bought = await buy(http, cafe, "7001", "1000.00")
        assert (bought["points_earned"], bought["points_expiring"]) == (120, expected)
        assert await _lots(services, "7001") == [(100, 100, MOSCOW_AUGUST_END, None), (20, 20, week_end, None)]
        member = (await http.get("/v1/members/7001", headers=auth(cafe))).json()
        assert member["next_expiry"] == {"points": 20, "expires_at": week_end}

        # A day later 30 points pay part of a 100.00 check: the 20 of the week first, then 10 of the month's.
        clock.moment = AUGUST_FIRST + timedelta(days=1)
        second = await buy(http, cafe, "7001", "100.00", redeem=30)
        next_week_end = "2026-08-08T22:00:00+00:00"
        assert second["points_earned"] == 27  # 10 % of the 70.00 paid, plus 20
        assert second["points_balance"] == 117
        assert await _lots(services, "7001") == [
            (100, 90, MOSCOW_AUGUST_END, None),
            (20, 0, week_end, None),
            (7, 7, MOSCOW_AUGUST_END, None),
            (20, 20, next_week_end, None),
        ]

        # The second week's 20 expire at their moment, not a minute before.
        clock.moment = datetime(2026, 8, 8, 21, 59, tzinfo=UTC)
        assert await _expire(http, admin_key) == 0
        clock.moment = datetime(2026, 8, 8, 22, 0, tzinfo=UTC)
        assert await _expire(http, admin_key) == 20
        assert await _points(http, cafe, "7001") == 97

        # The month's 97 expire at Moscow's midnight (21:00 UTC), three hours before UTC's month ends.
        clock.moment = datetime(2026, 8, 31, 20, 59, tzinfo=UTC)
        assert await _expire(http, admin_key) == 0
        clock.moment = datetime(2026, 8, 31, 21, 0, tzinfo=UTC)
        assert await _expire(http, admin_key) == 97
        assert await _points(http, cafe, "7001") == 0
    assert await verify(services.engine) == []


async def test_end_of_visit_points_are_spent_first_and_swept_when_the_visit_ends(park):
    services, clock = park
    async with client(services) as http:
        admin_key, keys = await _park_with_rules(services, SPLASH)
        await enrol(http, keys["Tickets"], "7101")
        await buy(http, keys["Cafe"], "7101", "500.00")  # 50 points that never expire, before the visit
        started = await http.post("/v1/visits", json={"customer": "7101"}, headers=auth(keys["Tickets"], new_key()))
        assert started.status_code == 201, started.text
        visit_id = started.json()["id"]

        clock.moment += timedelta(hours=1)
        photo = await buy(http, keys["Photo"], "7101", "300.00")
        moscow_midnight = "2026-07-01T21:00:00+00:00"  # the latest they live, should the exit not be scanned
        assert photo["points_earned"] == 45
        assert photo["points_expiring"] == [{"points": 15, "expires_at": moscow_midnight, "visit_id": visit_id}]
        cafe = await buy(http, keys["Cafe"], "7101", "100.00", redeem=10)  # the visit's points go first
        assert (cafe["points_earned"], cafe["points_balance"]) == (9, 94)
        assert await _lots(services, "7101") == [
            (59, 59, None, None),  # the Cafe's lot, topped up
            (30, 30, None, None),  # the Photo booth's own never-expiring lot
            (15, 5, moscow_midnight, visit_id),
        ]

        clock.moment += timedelta(hours=2)
        ended = await http.post(f"/v1/visits/{visit_id}/end", headers=auth(keys["Tickets"], new_key()))
        assert ended.status_code == 200, ended.text
        assert (ended.json()["points_expired"], ended.json()["points_balance"]) == (5, 89)
        assert ended.json()["reset"]["points"] == 0  # no reset rule: only the visit's own points went
        assert (await _lots(services, "7101"))[-1:] == [(15, 0, moscow_midnight, visit_id)]
        assert await _expire(http, admin_key) == 0

        # Without an open visit the same rule's points live until the outlet's midnight.
        late = await buy(http, keys["Photo"], "7101", "300.00")
        assert late["points_expiring"] == [{"points": 15, "expires_at": moscow_midnight}]
        clock.moment = datetime(2026, 7, 1, 20, 59, tzinfo=UTC)
        assert await _expire(http, admin_key) == 0
        clock.moment = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
        assert await _expire(http, admin_key) == 15
        assert await _points(http, keys["Cafe"], "7101") == 89 + 30
    assert await verify(services.engine) == []


async def test_a_batch_makes_the_same_lots_as_single_purchases(park):
    services, clock = park
    clock.moment = AUGUST_FIRST
    async with client(services) as http:
        _, keys = await _park_with_rules(services, MONTH_AND_WEEK)
        cafe = keys["Cafe"]
        for card in ("7201", "7202"):
            await enrol(http, cafe, card)
        checks = [("1000.00", 0), ("100.00", 30), ("250.00", 0)]
        for amount, redeem in checks:
            await buy(http, cafe, "7201", amount, redeem=redeem)
        purchases = [
            {"idempotency_key": new_key(), "customer": "7202", "amount": amount, "receipt": new_key()}
            | ({"redeem_points": redeem} if redeem else {})
            for amount, redeem in checks
        ]
        batch = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(cafe))
        assert batch.status_code == 200, batch.text
        assert [result["status"] for result in batch.json()["results"]] == [201, 201, 201]
        assert batch.json()["results"][0]["body"]["points_expiring"] == [
            {"points": 20, "expires_at": "2026-08-07T22:00:00+00:00"},
            {"points": 100, "expires_at": MOSCOW_AUGUST_END},
        ]
        single, batched = await _lots(services, "7201"), await _lots(services, "7202")
        assert batched == single
        assert len(single) == 6  # two lots per purchase
        assert await _points(http, cafe, "7202") == await _points(http, cafe, "7201") == 120 - 30 + 27 + 45
    assert await verify(services.engine) == []


EVENTS = {
    "rules": [
        {"code": "base", "effects": [{"accrue_percent": {"percent": "10"}}]},
        {
            "code": "welcome",
            "trigger": "enrolment",
            "effects": [{"accrue_fixed": {"points": 40, "expiry": {"days": 30}}}],
        },
        {
            "code": "entry",
            "trigger": "visit_start",
            "effects": [{"accrue_fixed": {"points": 25, "expiry": {"kind": "end_of_visit"}}}],
        },
    ]
}


async def test_event_bonuses_live_as_their_rules_say(park):
    services, clock = park
    async with client(services) as http:
        admin_key, keys = await _park_with_rules(services, EVENTS)
        enrolled = await enrol(http, keys["Tickets"], "7301")
        assert enrolled["points_balance"] == 40
        in_30_days = (clock.moment + timedelta(days=30)).isoformat()
        assert await _lots(services, "7301") == [(40, 40, in_30_days, None)]

        started = await http.post("/v1/visits", json={"customer": "7301"}, headers=auth(keys["Tickets"], new_key()))
        assert started.status_code == 201, started.text
        visit_id = started.json()["id"]
        assert started.json()["bonus"] == {"points": 25, "rules": ["entry"]}
        moscow_midnight = "2026-07-01T21:00:00+00:00"
        assert (await _lots(services, "7301"))[-1] == (25, 25, moscow_midnight, visit_id)

        clock.moment += timedelta(hours=2)
        ended = await http.post(f"/v1/visits/{visit_id}/end", headers=auth(keys["Tickets"], new_key()))
        assert (ended.json()["points_expired"], ended.json()["points_balance"]) == (25, 40)
        clock.moment += timedelta(days=30)
        assert await _expire(http, admin_key) == 40
        assert await _points(http, keys["Cafe"], "7301") == 0
    assert await verify(services.engine) == []
