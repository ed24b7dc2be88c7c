"""Rules triggered by a refund (issue 3, point 1): a goodwill bonus and a coupon to bring the customer back, on both
engines. The refund's basket is one line of the refunded amount."""

from __future__ import annotations

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import auth, buy, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {"code": "points", "effects": [{"accrue_percent": {"percent": "5"}}]},
        {
            "code": "sorry-points",
            "trigger": "refund",
            "scope": {"partners": ["Shop"]},
            "condition": "basket.total_minor >= 50000",
            "effects": [{"accrue_fixed": {"points": 20}}],
        },
        {
            "code": "come-back",
            "trigger": "refund",
            "effects": [{"issue_coupon": {"campaign": "comeback", "valid_days": 7, "uses": 1}}],
        },
    ]
}


async def _refund(http, key, purchase_id, amount, idempotency_key=None):
    response = await http.post(
        f"/v1/purchases/{purchase_id}/refunds", json={"amount": amount}, headers=auth(key, idempotency_key or new_key())
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_refund_runs_the_refund_rules_once(services):
    net = await make_network(services)
    assert (await services.rules.save_draft(net.ref, RULES))["errors"] == 0
    await services.rules.publish(net.ref, None)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5500-0001")
        bought = (await buy(http, net.shop_key, "5500-0001", "2000.00")).json()
        assert bought["points_earned"] == 100

        key = new_key()
        refund = await _refund(http, net.shop_key, bought["id"], "600.00", key)
        # 5 % of 600.00 taken back (30 points), then 20 points of goodwill on a refund from 500.00, and a coupon
        assert (refund["points_clawed_back"], refund["bonus"]) == (30, {"points": 20, "rules": ["sorry-points"]})
        assert refund["points_balance"] == 90
        [coupon] = refund["coupons_issued"]
        assert (coupon["campaign"], coupon["uses"]) == ("comeback", 1)
        assert await _refund(http, net.shop_key, bought["id"], "600.00", key) == refund  # a retry grants nothing more

        small = await _refund(http, net.shop_key, bought["id"], "100.00")
        assert "bonus" not in small and small["points_balance"] == 85  # below 500.00: no goodwill points
        assert len(small["coupons_issued"]) == 1 and small["coupons_issued"][0]["code"] != coupon["code"]

        member = await http.get("/v1/members/5500-0001", headers=auth(net.shop_key))
        assert member.json()["points_balance"] == 85
        coupons = await http.get("/v1/admin/coupons?campaign=comeback", headers=auth(net.admin_key))
        assert sorted(c["code"] for c in coupons.json()["coupons"]) == sorted(
            [coupon["code"], small["coupons_issued"][0]["code"]]
        )
        # the coupon brings the customer back: it is accepted on the next purchase
        used = await http.post(
            "/v1/purchases",
            json={"customer": "5500-0001", "amount": "100.00", "receipt": new_key(), "coupons": [coupon["code"]]},
            headers=auth(net.cafe_key, new_key()),
        )
        assert used.status_code == 201, used.text
    assert await verify(services.engine) == []
