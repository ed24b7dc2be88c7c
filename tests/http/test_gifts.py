"""Gifts: granted by a purchase at one outlet, handed over once at another, settled at the agreed price (issue 4)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from coalition.adapters.storage.verify import verify
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.water_park import DAY_END, DAY_START, Clock, buy, water_park
from tests.support import assert_problem, auth, client, enrol, new_key, table_counts

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {
            "code": "ticket-gives-photo",
            "scope": {"partners": ["Tickets"]},
            "condition": "basket.total_minor >= 150000",
            "effects": [{"grant_gift": {"gift_type": "free-photo", "valid_days": 1}}],
        },
        {
            "code": "points",
            "effects": [
                {"accrue_percent": {"percent": "10"}},
                {"set_redemption": {"cap_percent": "50", "min_check": "0.00"}},
            ],
        },
    ]
}


async def _catalogue(http, admin_key):
    created = await http.post(
        "/v1/admin/gift-types",
        json={"code": "free-photo", "name": "A free photo", "price": "300.00", "valid_days": 7, "partners": ["Photo"]},
        headers=auth(admin_key),
    )
    assert created.status_code == 201, created.text
    return created.json()


async def _network_with_gift_rules(services, http):
    admin_key, keys, partner_ids = await water_park(services)
    net = await services.admin.network("park")
    assert (await services.rules.save_draft(net, RULES))["errors"] == 1  # the catalogue has no free-photo yet
    await _catalogue(http, admin_key)
    saved = await services.rules.save_draft(net, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net, None)
    return admin_key, keys, partner_ids


async def test_a_ticket_grants_a_photo_that_the_photo_booth_hands_over_once(park):
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        admin_key, keys, _ = await _network_with_gift_rules(services, http)
        await enrol(http, keys["Tickets"], "8800-0001")
        ticket = await buy(http, keys["Tickets"], "8800-0001", "2000.00")
        [gift] = ticket["gifts_granted"]
        assert (gift["gift_type"], gift["name"]) == ("free-photo", "A free photo")
        assert gift["valid_until"] == (clock.moment + timedelta(days=1)).isoformat()
        member = (await http.get("/v1/members/8800-0001", headers=auth(keys["Photo"]))).json()
        assert [g["id"] for g in member["gifts"]] == [gift["id"]]
        small = await buy(http, keys["Tickets"], "8800-0001", "1000.00")
        assert "gifts_granted" not in small  # below 1,500.00: no gift

        before = await table_counts(services)
        at_cafe = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Cafe"], new_key()))
        assert_problem(at_cafe, 403, "forbidden")
        assert "does not hand over 'A free photo'" in at_cafe.json()["detail"]
        unknown = await http.post("/v1/gifts/no-such-gift/honour", headers=auth(keys["Photo"], new_key()))
        assert unknown.status_code == 404
        assert await table_counts(services) == before

        key = new_key()
        honoured = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], key))
        assert honoured.status_code == 200, honoured.text
        assert (honoured.json()["state"], honoured.json()["price"], honoured.json()["outlet"]) == (
            "honoured",
            "300.00",
            "Photo desk",
        )
        replay = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], key))
        assert replay.json() == honoured.json()  # a retry of the same attempt
        twice = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert_problem(twice, 409, "conflict", "gift_id")
        member = (await http.get("/v1/members/8800-0001", headers=auth(keys["Photo"]))).json()
        assert member["gifts"] == []

        # the day's statement: Tickets owes the photo's price on top of its points, the node owes Photo the price
        clock.moment = DAY_END + timedelta(hours=1)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
            headers=auth(admin_key),
        )
        lines = {line["name"]: line for line in closed.json()["partners"]}
        assert (lines["Tickets"]["granted"], lines["Tickets"]["net"]) == ("600.00", "-600.00")  # 200 + 100 + 300
        assert (lines["Photo"]["honoured"], lines["Photo"]["net"]) == ("300.00", "300.00")
    assert await verify(services.engine) == []


async def test_an_expired_gift_is_not_handed_over(park):
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        _, keys, _ = await _network_with_gift_rules(services, http)
        await enrol(http, keys["Tickets"], "8800-0011")
        [gift] = (await buy(http, keys["Tickets"], "8800-0011", "1500.00"))["gifts_granted"]
        clock.moment += timedelta(days=1)
        late = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert "expired" in assert_problem(late, 409, "conflict", "gift_id")["detail"]


@pytest.mark.postgres
async def test_a_gift_is_handed_over_once_under_concurrency(pg_database_url):
    clock = Clock()
    clock.moment = DAY_START + timedelta(hours=1)
    services = build_services(Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"), clock)
    try:
        async with client(services) as http:
            _, keys, _ = await _network_with_gift_rules(services, http)
            await enrol(http, keys["Tickets"], "8800-0021")
            [gift] = (await buy(http, keys["Tickets"], "8800-0021", "1500.00"))["gifts_granted"]
            answers = await asyncio.gather(
                *(
                    http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], new_key()))
                    for _ in range(10)
                )
            )
            assert Counter(answer.status_code for answer in answers) == {200: 1, 409: 9}
        assert await verify(services.engine) == []
    finally:
        await services.close()


async def test_a_batch_grants_gifts_with_its_purchases(park):
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        _, keys, _ = await _network_with_gift_rules(services, http)
        await enrol(http, keys["Tickets"], "8800-0031")
        items = [
            {"customer": "8800-0031", "amount": amount, "receipt": new_key(), "idempotency_key": new_key()}
            for amount in ("1500.00", "100.00", "1600.00")
        ]
        batch = await http.post("/v1/purchases/batch", json={"purchases": items}, headers=auth(keys["Tickets"]))
        assert batch.status_code == 200, batch.text
        granted = [len(result["body"].get("gifts_granted", [])) for result in batch.json()["results"]]
        assert granted == [1, 0, 1]
        member = (await http.get("/v1/members/8800-0031", headers=auth(keys["Photo"]))).json()
        assert len(member["gifts"]) == 2
    assert await verify(services.engine) == []


@pytest.mark.parametrize(("policy", "tickets_net"), [("kept", "-500.00"), ("released", "-200.00")])
async def test_an_expired_gift_keeps_or_releases_the_granting_partners_obligation(park, policy, tickets_net):
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        admin_key, keys, _ = await _network_with_gift_rules(services, http)
        wrong = await http.put("/v1/admin/gift-breakage", json={"gifts": "lost"}, headers=auth(admin_key))
        assert_problem(wrong, 422, "invalid-input", "gifts")
        chosen = await http.put("/v1/admin/gift-breakage", json={"gifts": policy}, headers=auth(admin_key))
        assert chosen.json() == {"gifts": policy}
        await enrol(http, keys["Tickets"], "8800-0041")
        [gift] = (await buy(http, keys["Tickets"], "8800-0041", "2000.00"))["gifts_granted"]  # 200 points + photo

        clock.moment += timedelta(hours=2)  # still valid: the job leaves it alone
        early = await http.post("/v1/admin/jobs/expire", headers=auth(admin_key))
        assert early.json()["gifts"] == {"gifts": 0, "released": 0, "policy": policy}
        clock.moment = DAY_START + timedelta(days=1, hours=2)
        job = await http.post("/v1/admin/jobs/expire", headers=auth(admin_key))
        assert job.json()["gifts"] == {"gifts": 1, "released": int(policy == "released"), "policy": policy}
        again = await http.post("/v1/admin/jobs/expire", headers=auth(admin_key))
        assert again.json()["gifts"]["gifts"] == 0
        late = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert "expired" in assert_problem(late, 409, "conflict", "gift_id")["detail"]

        clock.moment = DAY_START + timedelta(days=2)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.isoformat(), "end": (DAY_START + timedelta(days=1, hours=3)).isoformat()},
            headers=auth(admin_key),
        )
        tickets = {line["name"]: line for line in closed.json()["partners"]}["Tickets"]
        # released: the grant's reversal shows as granted value taken back
        assert (tickets["granted"], tickets["net"]) == ("500.00", tickets_net)
    assert await verify(services.engine) == []


async def test_a_full_refund_revokes_the_gifts_its_purchase_granted_and_releases_the_obligation(park):
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        admin_key, keys, _ = await _network_with_gift_rules(services, http)
        await enrol(http, keys["Tickets"], "8800-0021")
        first = await buy(http, keys["Tickets"], "8800-0021", "2000.00")
        second = await buy(http, keys["Tickets"], "8800-0021", "1500.00")
        [kept], [revoked] = first["gifts_granted"], second["gifts_granted"]

        async def refund(purchase, amount):
            response = await http.post(
                f"/v1/purchases/{purchase['id']}/refunds",
                json={"amount": amount},
                headers=auth(keys["Tickets"], new_key()),
            )
            assert response.status_code == 201, response.text
            return response.json()

        assert (await refund(first, "500.00"))["gifts_revoked"] == []  # a partial refund keeps the gift
        assert (await refund(second, "1000.00"))["gifts_revoked"] == []
        assert (await refund(second, "500.00"))["gifts_revoked"] == [revoked["id"]]  # refunded in full now
        late = await http.post(f"/v1/gifts/{revoked['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert_problem(late, 409, "conflict", "gift_id")
        handed = await http.post(f"/v1/gifts/{kept['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert handed.status_code == 200, handed.text

        # Tickets granted 200 + 150 points and two photos (300.00 each); refunds took back 50 + 150 points and the
        # revoked photo: it owes 350 − 200 + 600 − 300 = 450.00
        clock.moment = DAY_END + timedelta(hours=1)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
            headers=auth(admin_key),
        )
        lines = {line["name"]: line for line in closed.json()["partners"]}
        tickets = lines["Tickets"]
        assert (tickets["granted"], tickets["granted_refunded"], tickets["net"]) == ("950.00", "500.00", "-450.00")
        assert lines["Photo"]["net"] == "300.00"
    assert await verify(services.engine) == []
