"""The seed's cashier flow, step by step, through the HTTP API on both engines."""

from __future__ import annotations

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import auth, buy, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio


async def test_identify_quote_commit_with_bonuses_then_refund(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000 0001", phone="+7 912 111 22 33")
        # Build a balance: 5,000 at 3 % → 150 points.
        first = await buy(http, net.shop_key, "5000-0001", "5000.00")
        assert first.status_code == 201, first.text
        assert first.json()["points_earned"] == 150

        # 1. Identify by any identifier: the terminal shows the balance.
        member = await http.get("/v1/members/+79121112233", headers=auth(net.shop_key))
        assert member.status_code == 200, member.text
        assert member.json()["points_balance"] == 150
        assert member.json()["card"] is None  # found by phone, not by a card
        assert member.json()["cards"] == [{"number": "50000001", "state": "active"}]

        # 2. Enter the amount: the most points the rules allow (15 % of 800 = 120, balance 150).
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": "50000001", "amount": "800.00"}, headers=auth(net.shop_key)
        )
        assert quote.json()["max_redeemable_points"] == 0  # below the 1,500 minimum check
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": "50000001", "amount": "2000.00"}, headers=auth(net.shop_key)
        )
        assert quote.status_code == 200, quote.text
        assert quote.json()["max_redeemable_points"] == 150  # cap is 300, balance 150
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": "50000001", "amount": "1600.00"}, headers=auth(net.shop_key)
        )
        assert quote.json()["max_redeemable_points"] == 150  # 15 % of 1,600 = 240 → balance limits

        # 3–4. Enter the points to use: the amount to collect.
        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": "50000001", "amount": "2000.00", "redeem_points": 100},
            headers=auth(net.shop_key),
        )
        body = quote.json()
        assert body["amount_due"] == "1900.00"
        assert body["points_to_earn"] == 57  # 3 % of 1,900 rounded down

        # 5. Confirm: the purchase is saved.
        purchase = await buy(http, net.shop_key, "50000001", "2000.00", redeem=100, receipt="R-2")
        assert purchase.status_code == 201, purchase.text
        saved = purchase.json()
        assert (saved["amount_due"], saved["points_redeemed"], saved["points_earned"], saved["points_balance"]) == (
            "1900.00",
            100,
            57,
            107,
        )

        # A full refund restores the balance as it was before the purchase.
        refund = await http.post(
            f"/v1/purchases/{saved['id']}/refunds", json={"amount": "2000.00"}, headers=auth(net.shop_key, new_key())
        )
        assert refund.status_code == 201, refund.text
        assert refund.json()["points_balance"] == 150
        assert refund.json()["money_back"] == "1900.00"
        assert refund.json()["points_returned"] == 100
        assert refund.json()["points_clawed_back"] == 57
    assert await verify(services.engine) == []


async def test_tiers_follow_lifetime_spend(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7001")
        assert (await buy(http, net.shop_key, "7001", "9000.00")).json()["points_earned"] == 270  # 3 %
        assert (await buy(http, net.shop_key, "7001", "1000.00")).json()["points_earned"] == 30  # still 3 %
        assert (await buy(http, net.shop_key, "7001", "1000.00")).json()["points_earned"] == 50  # 10,000 → 5 %
        assert (await buy(http, net.shop_key, "7001", "39000.00")).json()["points_earned"] == 1950
        assert (await buy(http, net.shop_key, "7001", "1000.00")).json()["points_earned"] == 50  # 50,000 is not above
        assert (await buy(http, net.shop_key, "7001", "1000.00")).json()["points_earned"] == 70  # 51,000 → 7 %
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": "7001", "amount": "2000.00"}, headers=auth(net.shop_key)
        )
        assert quote.json()["max_redeemable_points"] == 1000  # 50 % of 2,000
