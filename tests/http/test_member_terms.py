"""The till's member summary shows the terms in force (issue 13): a published rule set's accrual, cap and minimum
check — not the built-in program's — and the program's own tier terms when nothing is published; on both engines."""

from __future__ import annotations

import pytest

from tests.support import auth, buy, client, enrol, make_network

pytestmark = pytest.mark.anyio

CARD = "2200-0101"
RULES = {
    "rules": [
        {
            "code": "base",
            "name": "Everyone",
            "effects": [
                {"accrue_percent": {"percent": "8"}},
                {"set_redemption": {"cap_percent": "40", "min_check": "200.00"}},
            ],
        },
        {
            "code": "gold",
            "name": "Gold tier",
            "condition": 'member.tier == "gold"',
            "priority": 10,
            "effects": [
                {"accrue_fixed": {"points": 2}},
                {"set_redemption": {"cap_percent": "60", "min_check": "0.00"}},
            ],
        },
        {"code": "cafe-off", "scope": {"partners": ["Cafe"]}, "effects": [{"discount": {"percent": "10"}}]},
    ]
}


async def _publish(services, net) -> int:
    saved = await services.rules.save_draft(net.ref, RULES)
    assert saved["errors"] == 0, saved
    published = await services.rules.publish(net.ref, None)
    return int(published["version"])


async def test_with_a_published_rule_set_the_summary_shows_the_rule_sets_terms(services):
    net = await make_network(services)
    version = await _publish(services, net)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        found = await http.get(f"/v1/members/{CARD}", headers=auth(net.shop_key))
        assert found.status_code == 200, found.text
        body = found.json()
        # the program says 3 % and 15 % from 1,500.00; the published set says 8 % and 40 % from 200.00
        assert body["tier"] == {
            "from_lifetime_spend": None,  # a published set does not speak of the program's tiers
            "accrual": "8 %",
            "fixed_points_per_check": 0,
            "redeem_cap": "40 %",
            "min_check_for_redeem": "200.00",
        }
        assert body["terms"] == {
            "rule_set_version": version,
            "accrual_bp": 800,
            "fixed_points_per_check": 0,
            "redeem_cap_bp": 4000,
            "min_check_for_redeem": "200.00",
            "discount_bp": 0,
            "accrual_rules": [{"code": "base", "name": "Everyone"}],
            "redemption_rule": {"code": "base", "name": "Everyone"},
            "discount_rules": [],
        }

        # at the cafe's till the cafe's discount is a term too
        at_cafe = (await http.get(f"/v1/members/{CARD}", headers=auth(net.cafe_key))).json()["terms"]
        assert (at_cafe["discount_bp"], at_cafe["discount_rules"]) == (1000, [{"code": "cafe-off", "name": ""}])

        # the terms are what the purchase then gives: 8 % of 500.00, and 40 % of it may be paid with points
        bought = await buy(http, net.shop_key, CARD, "500.00")
        assert bought.json()["points_earned"] == 40
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": "250.00"}, headers=auth(net.shop_key)
        )
        assert quote.json()["max_redeemable_points"] == 40  # 40 % of 250.00 = 100 points, the member has 40


async def test_a_member_moved_to_a_tier_label_sees_that_tiers_terms(services):
    """A rule reading `member.tier` needs the member's history: the summary reads it as the purchase does."""
    net = await make_network(services)
    await _publish(services, net)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        labelled = await http.patch(f"/v1/admin/members/{CARD}", json={"tier": "gold"}, headers=auth(net.admin_key))
        assert labelled.status_code == 200, labelled.text
        body = (await http.get(f"/v1/members/{CARD}", headers=auth(net.shop_key))).json()
    assert (body["tier"]["accrual"], body["tier"]["fixed_points_per_check"], body["tier"]["redeem_cap"]) == (
        "8 %",
        2,
        "60 %",
    )
    assert body["terms"]["redemption_rule"] == {"code": "gold", "name": "Gold tier"}
    assert body["terms"]["accrual_rules"] == [
        {"code": "gold", "name": "Gold tier"},
        {"code": "base", "name": "Everyone"},
    ]


async def test_without_a_published_set_the_summary_shows_the_programs_tier_as_rules(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        before = (await http.get(f"/v1/members/{CARD}", headers=auth(net.shop_key))).json()
        assert before["tier"] == {
            "from_lifetime_spend": "0.00",
            "accrual": "3 %",
            "fixed_points_per_check": 0,
            "redeem_cap": "15 %",
            "min_check_for_redeem": "1500.00",
        }
        assert before["terms"]["rule_set_version"] is None  # the built-in program
        assert (before["terms"]["accrual_bp"], before["terms"]["redeem_cap_bp"]) == (300, 1500)
        assert before["terms"]["redemption_rule"]["code"] == "tier-1"

        assert (await buy(http, net.shop_key, CARD, "10000.00")).status_code == 201  # now in the second tier
        after = (await http.get(f"/v1/members/{CARD}", headers=auth(net.shop_key))).json()
    assert after["tier"] == {
        "from_lifetime_spend": "10000.00",
        "accrual": "5 %",
        "fixed_points_per_check": 0,
        "redeem_cap": "30 %",
        "min_check_for_redeem": "1500.00",
    }
    assert after["terms"]["accrual_rules"] == [
        {"code": "tier-2", "name": "Tier 2: from a lifetime spend of 10000.00 RUB"}
    ]
