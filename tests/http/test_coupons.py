"""Coupons valid for a period and a number of uses, registered or issued by rules (issue 3, point 3)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import assert_problem, auth, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {"code": "spring", "condition": '"spring" in coupon_campaigns', "effects": [{"discount": {"percent": "10"}}]},
        {
            "code": "thanks-back",
            "condition": '"thanks" in coupon_campaigns',
            "effects": [{"discount": {"percent": "5"}}],
        },
        {
            "code": "thanks",
            "condition": "basket.total_minor >= 500000",
            "effects": [{"issue_coupon": {"campaign": "thanks", "valid_days": 7, "uses": 1}}],
        },
    ]
}
WEEK = timedelta(days=7)


async def _network_with_rules(services):
    net = await make_network(services)
    saved = await services.rules.save_draft(net.ref, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net.ref, None)
    return net


async def _register(http, net, **body):
    body.setdefault("valid_until", (datetime.now(UTC) + WEEK).isoformat())
    response = await http.post("/v1/admin/coupons", json=body, headers=auth(net.admin_key))
    assert response.status_code == 201, response.text
    return response.json()


async def _buy(http, key, card, amount, coupons):
    body = {"customer": card, "amount": amount, "receipt": new_key(), "coupons": coupons}
    return await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))


async def _uses(http, net, campaign):
    listing = await http.get(f"/v1/admin/coupons?campaign={campaign}", headers=auth(net.admin_key))
    return {coupon["code"]: coupon["uses"] for coupon in listing.json()["coupons"]}


async def test_a_coupon_gives_its_discount_for_a_limited_number_of_uses(services):
    net = await _network_with_rules(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5500-0001")
        await _register(http, net, campaign="spring", codes=["SPRING10"], uses=2)

        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": "5500-0001", "amount": "1000.00", "coupons": ["spring10"]},
            headers=auth(net.shop_key),
        )
        assert quote.json()["discount"] == "100.00"
        assert await _uses(http, net, "spring") == {"SPRING10": 0}  # a quote uses nothing

        for _ in range(2):
            used = await _buy(http, net.shop_key, "5500-0001", "1000.00", [" spring10 "])
            assert used.status_code == 201, used.text
            assert (used.json()["discount"], used.json()["coupons_used"]) == ("100.00", ["SPRING10"])
        assert await _uses(http, net, "spring") == {"SPRING10": 2}

        before = await table_counts(services)
        spent = await _buy(http, net.shop_key, "5500-0001", "1000.00", ["SPRING10"])
        problem = assert_problem(spent, 409, "conflict", "coupons[0]")
        assert "used up (2 of 2 uses)" in problem["detail"]
        assert await table_counts(services) == before
        # without the coupon the purchase goes through, at full price
        plain = await _buy(http, net.shop_key, "5500-0001", "1000.00", [])
        assert (plain.status_code, plain.json()["discount"]) == (201, "0.00")
    assert await verify(services.engine) == []
    async with services.engine.begin() as connection:  # a count that no longer matches the recorded uses
        await connection.execute(sa.text("UPDATE coupons SET uses = uses - 1"))
    assert [violation.check.name for violation in await verify(services.engine)] == ["coupon-uses-counted"]


async def test_unknown_expired_early_and_other_members_coupons_are_refused(services):
    net = await _network_with_rules(services)
    past = datetime(2026, 1, 1, tzinfo=UTC)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5500-0011")
        await enrol(http, net.shop_key, "5500-0012")
        await _register(
            http,
            net,
            campaign="spring",
            codes=["OLD"],
            valid_from=past.isoformat(),
            valid_until=(past + WEEK).isoformat(),
        )
        future = datetime.now(UTC) + WEEK
        await _register(
            http,
            net,
            campaign="spring",
            codes=["LATER"],
            valid_from=future.isoformat(),
            valid_until=(future + WEEK).isoformat(),
        )
        await _register(http, net, campaign="spring", codes=["ANNA"], member="5500-0012")
        before = await table_counts(services)
        for codes, detail in (
            (["NOPE"], "there is no coupon 'NOPE'"),
            (["OLD"], "expired"),
            (["LATER"], "is valid from"),
            (["ANNA"], "issued to another member"),
            (["bad code!"], "is not a coupon code"),
        ):
            refused = await _buy(http, net.shop_key, "5500-0011", "1000.00", codes)
            assert detail in assert_problem(refused, 422, "invalid-input", "coupons[0]")["detail"]
        assert await table_counts(services) == before
        # the member's own coupon works for them
        own = await _buy(http, net.shop_key, "5500-0012", "1000.00", ["ANNA"])
        assert own.json()["coupons_used"] == ["ANNA"]


async def test_a_rule_issues_a_coupon_that_only_its_member_can_use_once(services):
    net = await _network_with_rules(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5500-0021")
        await enrol(http, net.shop_key, "5500-0022")
        big = await _buy(http, net.shop_key, "5500-0021", "6000.00", [])
        assert big.status_code == 201, big.text
        [issued] = big.json()["coupons_issued"]
        assert (issued["campaign"], issued["uses"]) == ("thanks", 1)
        assert len(issued["code"]) == 10

        stranger = await _buy(http, net.shop_key, "5500-0022", "1000.00", [issued["code"]])
        assert_problem(stranger, 422, "invalid-input", "coupons[0]")
        back = await _buy(http, net.shop_key, "5500-0021", "1000.00", [issued["code"]])
        assert (back.json()["discount"], back.json()["coupons_used"]) == ("50.00", [issued["code"]])
        again = await _buy(http, net.shop_key, "5500-0021", "1000.00", [issued["code"]])
        assert_problem(again, 409, "conflict", "coupons[0]")

        generated = await _register(http, net, campaign="flyer", count=3, prefix="FLY")
        assert len(set(generated["codes"])) == 3 and all(code.startswith("FLY") for code in generated["codes"])
        # no applied rule reads a flyer coupon: presenting it uses nothing
        flyer = await _buy(http, net.shop_key, "5500-0022", "1000.00", [generated["codes"][0]])
        assert flyer.status_code == 201 and "coupons_used" not in flyer.json()
        assert set((await _uses(http, net, "flyer")).values()) == {0}


async def test_a_batch_counts_coupon_uses_across_its_purchases(services):
    net = await _network_with_rules(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5500-0031")
        await _register(http, net, campaign="spring", codes=["ONCE"])
        items = [
            {
                "customer": "5500-0031",
                "amount": "1000.00",
                "receipt": new_key(),
                "idempotency_key": new_key(),
                "coupons": ["ONCE"],
            }
            for _ in range(2)
        ] + [{"customer": "5500-0031", "amount": "1000.00", "receipt": "  ", "idempotency_key": new_key()}]
        batch = await http.post("/v1/purchases/batch", json={"purchases": items}, headers=auth(net.shop_key))
        assert batch.status_code == 200, batch.text
        first, second, blank = batch.json()["results"]
        assert (first["status"], first["body"]["coupons_used"]) == (201, ["ONCE"])
        assert (second["status"], second["problem"]["field"]) == (409, "coupons[0]")
        assert (blank["status"], blank["problem"]["field"]) == (422, "receipt")
        assert await _uses(http, net, "spring") == {"ONCE": 1}


@pytest.mark.postgres
async def test_concurrent_purchases_never_use_a_coupon_more_often_than_allowed(pg_database_url):
    services = build_services(Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"))
    try:
        net = await _network_with_rules(services)
        async with client(services) as http:
            cards = [f"5500-01{n:02d}" for n in range(10)]
            for card in cards:
                await enrol(http, net.shop_key, card)
            await _register(http, net, campaign="spring", codes=["THREE"], uses=3)
            answers = await asyncio.gather(*(_buy(http, net.shop_key, card, "1000.00", ["THREE"]) for card in cards))
            assert Counter(answer.status_code for answer in answers) == {201: 3, 409: 7}
            assert await _uses(http, net, "spring") == {"THREE": 3}
        assert await verify(services.engine) == []
    finally:
        await services.close()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"campaign": "spring", "codes": ["A"], "count": 2}, "codes"),
        ({"campaign": "spring"}, "codes"),
        ({"campaign": "Spring Sale", "codes": ["A"]}, "campaign"),
        ({"campaign": "spring", "codes": ["A", "a"]}, "codes"),
        ({"campaign": "spring", "codes": ["A"], "valid_from": "2030-01-02T00:00:00Z"}, "valid_until"),
        ({"campaign": "spring", "codes": ["A"], "member": "9999"}, "member"),
    ],
)
async def test_bad_coupon_registrations_are_refused(services, body, field):
    net = await make_network(services)
    async with client(services) as http:
        body = {"valid_until": "2030-01-01T00:00:00Z"} | body
        refused = await http.post("/v1/admin/coupons", json=body, headers=auth(net.admin_key))
        assert refused.status_code in (404, 422), refused.text
        assert refused.json()["field"] == field
        assert (await http.get("/v1/admin/coupons", headers=auth(net.admin_key))).json()["coupons"] == []
