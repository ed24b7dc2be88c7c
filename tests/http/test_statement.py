"""The member statement (GET /v1/admin/members/{identifier}/statement): each transaction shows the points it added to
the balance and the points it took from it, beside their net and the running balance."""

from __future__ import annotations

import pytest

from tests.support import auth, buy, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

CARD = "8100-0001"


async def test_a_purchase_that_earns_and_spends_shows_both_not_only_their_net(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        assert (await buy(http, net.shop_key, CARD, "5000.00")).status_code == 201  # 150 points
        spent = (await buy(http, net.shop_key, CARD, "2000.00", redeem=100)).json()
        assert (spent["points_earned"], spent["points_redeemed"]) == (57, 100)
        refund = await http.post(
            f"/v1/purchases/{spent['id']}/refunds", json={"amount": "500.00"}, headers=auth(net.shop_key, new_key())
        )
        assert refund.status_code == 201, refund.text  # returns 25 of the points spent, takes back 14 earned

        response = await http.get(f"/v1/admin/members/{CARD}/statement", headers=auth(net.admin_key))
        assert response.status_code == 200, response.text
        lines = response.json()["transactions"]
        shown = [(line["kind"], line["points_earned"], line["points_spent"], line["points"]) for line in lines]
        assert shown == [("purchase", 150, 0, 150), ("purchase", 57, 100, -43), ("refund", 25, 14, 11)]
        assert [line["balance_after"] for line in lines] == [150, 107, 118]
