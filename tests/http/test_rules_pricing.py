"""Purchases priced by the published rule set (issue 3, points 4 and 6), on both engines."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.support import assert_problem, auth, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "2200-0001"
RULES = {
    "rules": [
        {"code": "ten-off", "effects": [{"discount": {"percent": "10"}}]},
        {
            "code": "points",
            "effects": [
                {"accrue_percent": {"percent": "5"}},
                {"set_redemption": {"cap_percent": "50", "min_check": "100.00"}},
            ],
        },
        {
            "code": "cafe-only",
            "scope": {"partners": ["Cafe"]},
            "effects": [{"discount": {"percent": "20"}}],
        },
    ]
}


async def _published(services, net) -> None:
    saved = await services.rules.save_draft(net.ref, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net.ref, None)


async def test_a_published_rule_set_prices_quotes_purchases_and_batches(services):
    net = await make_network(services)
    await _published(services, net)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        first = await buy(http, net.shop_key, CARD, "1000.00")
        assert first.status_code == 201, first.text
        body = first.json()
        # 10 % off, then 5 % of the 900.00 paid in points
        assert (body["discount"], body["amount_due"], body["points_earned"]) == ("100.00", "900.00", 45)
        assert body["applied_rules"] == ["points", "ten-off"]
        version = body["rule_set_version"]

        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": CARD, "amount": "200.00", "redeem_points": 40},
            headers=auth(net.shop_key),
        )
        assert quote.status_code == 200, quote.text
        q = quote.json()
        # 200.00 − 20.00 discount = 180.00; at most 50 % = 90 points, the member has 45; 40 paid → 140.00 due → 7 points
        assert (q["discount"], q["max_redeemable_points"], q["amount_due"], q["points_to_earn"]) == (
            "20.00",
            45,
            "140.00",
            7,
        )

        # The cafe's own rule applies only at the cafe's outlets (partner scope).
        await enrol(http, net.cafe_key, "2200-0002")
        at_cafe = await buy(http, net.cafe_key, "2200-0002", "100.00")
        assert at_cafe.json()["discount"] == "30.00"
        assert at_cafe.json()["applied_rules"] == ["cafe-only", "points", "ten-off"]

        batch = await http.post(
            "/v1/purchases/batch",
            json={
                "purchases": [
                    {"customer": CARD, "amount": "500.00", "receipt": new_key(), "idempotency_key": new_key()}
                ]
            },
            headers=auth(net.shop_key),
        )
        assert batch.status_code == 200, batch.text
        item = batch.json()["results"][0]["body"]
        assert (item["discount"], item["amount_due"], item["points_earned"]) == ("50.00", "450.00", 22)

    async with services.engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.text("SELECT rule_set_version, applied_rules FROM purchases ORDER BY recorded_at")
            )
        ).all()
    assert [(r[0], r[1]) for r in rows] == [
        (version, "points,ten-off"),
        (version, "cafe-only,points,ten-off"),
        (version, "points,ten-off"),
    ]


async def test_a_redemption_the_rules_do_not_allow_is_refused_and_writes_nothing(services):
    net = await make_network(services)
    await _published(services, net)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        assert (await buy(http, net.shop_key, CARD, "1000.00")).status_code == 201  # 45 points
        before = await table_counts(services)
        below_minimum = await buy(http, net.shop_key, CARD, "99.99", redeem=10)
        assert_problem(below_minimum, 422, "redeem-not-allowed", "redeem_points")
        over_cap = await buy(http, net.shop_key, CARD, "60.00", redeem=30)  # 50 % of 54.00 after discount = 27
        assert_problem(over_cap, 422, "redeem-not-allowed", "redeem_points")
        assert await table_counts(services) == before


async def test_coupons_and_item_tags_reach_the_rules(services):
    net = await make_network(services)
    rules = {
        "rules": [
            {
                "code": "coupon",
                "condition": '"LATTE10" in coupons',
                "effects": [{"discount": {"percent": "10", "target": "lines", "lines": {"exclude_tags": ["sale"]}}}],
            }
        ]
    }
    assert (await services.rules.save_draft(net.ref, rules))["errors"] == 0
    await services.rules.publish(net.ref, None)
    items = [
        {"sku": "latte", "unit_price": "250.00", "quantity": 2},
        {"sku": "cake", "unit_price": "100.00", "tags": ["sale"]},
    ]
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        registered = await http.post(
            "/v1/admin/coupons",
            json={"campaign": "latte", "codes": ["LATTE10"], "valid_until": "2099-01-01T00:00:00Z", "uses": 10},
            headers=auth(net.admin_key),
        )
        assert registered.status_code == 201, registered.text
        with_coupon = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "items": items, "coupons": ["LATTE10"], "receipt": new_key()},
            headers=auth(net.shop_key, new_key()),
        )
        assert with_coupon.status_code == 201, with_coupon.text
        assert (with_coupon.json()["discount"], with_coupon.json()["amount_due"]) == ("50.00", "550.00")
        without = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "items": items}, headers=auth(net.shop_key)
        )
        assert without.json()["discount"] == "0.00"


async def test_rules_on_visits_and_last_months_spend_read_the_members_history(services):

    net = await make_network(services)
    rules = {
        "rules": [
            {"code": "returning", "condition": "member.visit_count >= 1", "effects": [{"discount": {"percent": "5"}}]},
            {
                "code": "next-month",
                "effects": [
                    {
                        "spend_tier_discount": {
                            "basis": "previous_period",
                            "tiers": [{"from": "1000.00", "percent": "10"}],
                        }
                    }
                ],
            },
        ]
    }
    assert (await services.rules.save_draft(net.ref, rules))["errors"] == 0
    await services.rules.publish(net.ref, None)
    assert (await services.rules.in_force(net.ref)).needs_member_history
    real_clock = services.pos.clock
    last_month = real_clock.now().replace(day=1) - timedelta(days=3)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        services.pos.clock = _At(last_month)  # the sale was recorded last month (a till's occurred_at is bounded)
        first = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "1500.00", "receipt": new_key()},
            headers=auth(net.shop_key, new_key()),
        )
        services.pos.clock = real_clock
        assert first.status_code == 201, first.text
        assert first.json()["discount"] == "0.00"  # a first visit, nothing spent the month before
        second = await buy(http, net.shop_key, CARD, "100.00")
        # a returning member (5 %) who spent 1,500.00 last month (10 %)
        assert second.json()["discount"] == "15.00", second.text
        assert second.json()["applied_rules"] == ["next-month", "returning"]


class _At:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment
