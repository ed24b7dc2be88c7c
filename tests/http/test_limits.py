"""Limits on one purchase, per network (issue 12, hole 6), amounts in ASCII digits only (hole 11), and no number
that could overflow a 64-bit column: each is a 422 naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import assert_problem, auth, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "6000-0001"
DEFAULTS = {
    "max_amount": "100000000.00",
    "max_quantity": "100000",
    "max_lines_per_purchase": 500,
    "max_points_per_purchase": 1_000_000_000,
}


def _items(quantity: object, unit_price: str, count: int = 1) -> list[dict[str, Any]]:
    return [{"sku": f"sku-{i}", "quantity": quantity, "unit_price": unit_price} for i in range(count)]


async def test_a_huge_basket_is_a_422_naming_the_field_for_the_purchase_and_the_quote(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        before = await table_counts(services)
        cases = [
            (_items(1_000_000, "1000000000.00"), "items[0].quantity"),  # the basket
            (_items(1000, "1000000000.00"), "items[0].unit_price"),
            (_items(100_000, "100000.00"), "items[0].quantity"),  # each within its limit, the line total not
            (_items(1000, "99999.00", count=2), "amount"),  # each line within, the check not
        ]
        for items, field in cases:
            body = {"customer": CARD, "items": items, "receipt": new_key()}
            assert_problem(
                await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, new_key())),
                422,
                "invalid-input",
                field,
            )
            quote = await http.post(
                "/v1/purchases/quote", json={"customer": CARD, "items": items}, headers=auth(net.shop_key)
            )
            assert_problem(quote, 422, "invalid-input", field)
        assert_problem(await buy(http, net.shop_key, CARD, "100000000.01"), 422, "invalid-input", "amount")
        assert await table_counts(services) == before
        assert (await buy(http, net.shop_key, CARD, "100000000.00")).status_code == 201
        # README's example: a line of exactly the largest amount is accepted, one unit more is not
        at_limit = {"customer": CARD, "items": _items(1000, "100000.00"), "receipt": new_key()}
        response = await http.post("/v1/purchases", json=at_limit, headers=auth(net.shop_key, new_key()))
        assert response.status_code == 201, response.text
        over = {"customer": CARD, "items": _items(1001, "100000.00"), "receipt": new_key()}
        response = await http.post("/v1/purchases", json=over, headers=auth(net.shop_key, new_key()))
        assert_problem(response, 422, "invalid-input", "items[0].quantity")
    assert await verify(services.engine) == []


async def test_the_administrator_reads_and_sets_the_limits_and_they_bite_at_once(services):
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        assert (await http.get("/v1/admin/limits", headers=auth(net.admin_key))).json() == DEFAULTS
        changed = await http.put(
            "/v1/admin/limits",
            json={
                "max_amount": "5000.00",
                "max_quantity": "10",
                "max_lines_per_purchase": 2,
                "max_points_per_purchase": 100,
            },
            headers=auth(net.admin_key),
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {
            "max_amount": "5000.00",
            "max_quantity": "10",
            "max_lines_per_purchase": 2,
            "max_points_per_purchase": 100,
        }
        assert (await http.get("/v1/admin/limits", headers=auth(other.admin_key))).json() == DEFAULTS

        assert_problem(await buy(http, net.shop_key, CARD, "5000.01"), 422, "invalid-input", "amount")
        lines = {"customer": CARD, "items": _items(1, "1.00", count=3), "receipt": "L-1"}
        assert_problem(
            await http.post("/v1/purchases", json=lines, headers=auth(net.shop_key, new_key())),
            422,
            "invalid-input",
            "items",
        )
        many = {"customer": CARD, "items": _items("10.001", "1.00"), "receipt": "L-2"}
        assert_problem(
            await http.post("/v1/purchases", json=many, headers=auth(net.shop_key, new_key())),
            422,
            "invalid-input",
            "items[0].quantity",
        )
        assert (await buy(http, net.shop_key, CARD, "3000.00")).json()["points_earned"] == 90
        earns_too_much = await buy(http, net.shop_key, CARD, "4000.00")  # 120 points
        assert "120 points" in assert_problem(earns_too_much, 422, "invalid-input", "amount")["detail"]
        await http.put("/v1/admin/limits", json={"max_points_per_purchase": 50}, headers=auth(net.admin_key))
        spends_too_much = await buy(http, net.shop_key, CARD, "1600.00", redeem=60)
        assert_problem(spends_too_much, 422, "invalid-input", "redeem_points")
        # the other network's tills are not bound by these
        await enrol(http, other.shop_key, "6000-0009")
        assert (await buy(http, other.shop_key, "6000-0009", "9000.00")).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_amount": "0"}, "max_amount"),
        ({"max_amount": "100000000000.01"}, "max_amount"),
        ({"max_amount": "١٠٠"}, "max_amount"),
        ({"max_quantity": "1000000000000"}, "max_quantity"),
        ({"max_lines_per_purchase": 501}, "max_lines_per_purchase"),
        ({"max_lines_per_purchase": 0}, "max_lines_per_purchase"),
        ({"max_points_per_purchase": 10**30}, "max_points_per_purchase"),
        ({"max_points": 5}, "max_points"),
    ],
)
async def test_limits_out_of_range_are_refused(services, body, field):
    net = await make_network(services)
    async with client(services) as http:
        response = await http.put("/v1/admin/limits", json=body, headers=auth(net.admin_key))
        assert_problem(response, 422, "invalid-input", field)
        assert (await http.get("/v1/admin/limits", headers=auth(net.admin_key))).json() == DEFAULTS


async def test_one_purchase_over_a_limit_in_a_batch_is_refused_alone(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        purchases = [
            {"idempotency_key": "k1", "customer": CARD, "amount": "100.00", "receipt": "B-1"},
            {"idempotency_key": "k2", "customer": CARD, "items": _items(1_000_000, "1000000000.00"), "receipt": "B-2"},
            {"idempotency_key": "k3", "customer": CARD, "amount": "100.00", "receipt": "B-3"},
        ]
        response = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(net.shop_key))
        assert [r["status"] for r in response.json()["results"]] == [201, 422, 201]
        assert response.json()["results"][1]["problem"]["field"] == "items[0].quantity"
    assert await verify(services.engine) == []


@pytest.mark.parametrize(
    "amount", ["١٥٠٠", "１５００.００", "1500.٠٠", " 1500.00", "1500.00 ", "1500.00\n", "\u00a01500", "+1500"]
)
async def test_amounts_take_only_ascii_digits_without_spaces(services, amount):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        before = await table_counts(services)
        assert_problem(await buy(http, net.shop_key, CARD, amount), 422, "invalid-input", "amount")
        item = {"customer": CARD, "items": [{"sku": "a", "unit_price": amount}], "receipt": "U-1"}
        response = await http.post("/v1/purchases", json=item, headers=auth(net.shop_key, new_key()))
        assert_problem(response, 422, "invalid-input", "items[0].unit_price")
        quantity = {"customer": CARD, "items": [{"sku": "a", "quantity": amount, "unit_price": "1.00"}], "receipt": "U"}
        response = await http.post("/v1/purchases", json=quantity, headers=auth(net.shop_key, new_key()))
        assert_problem(response, 422, "invalid-input", "items[0].quantity")
        assert await table_counts(services) == before


async def test_huge_integers_anywhere_are_a_422(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        huge = 10**30
        body = {"customer": CARD, "amount": "10.00", "receipt": "H-1", "redeem_points": huge}
        response = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, new_key()))
        assert_problem(response, 422, "invalid-input", "redeem_points")
        body = {"customer": CARD, "items": [{"sku": "a", "quantity": huge, "unit_price": "1.00"}], "receipt": "H-2"}
        response = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, new_key()))
        assert_problem(response, 422, "invalid-input", "items[0].quantity")
        response = await http.delete(f"/v1/admin/terminals/{huge}", headers=auth(net.admin_key))
        assert_problem(response, 422, "invalid-input", "terminal_id")
        response = await http.get(f"/v1/admin/members/{CARD}/statement?limit={huge}", headers=auth(net.admin_key))
        assert_problem(response, 422, "invalid-input", "limit")
        share = await http.put(
            "/v1/admin/points-breakage", json={"policy": "shared", "share_bp": huge}, headers=auth(net.admin_key)
        )
        assert share.status_code == 422, share.text
        rule = {"rules": [{"code": "big", "effects": [{"accrue_fixed": {"points": huge}}]}]}
        draft = await http.put("/v1/admin/rule-sets/draft", json=rule, headers=auth(net.admin_key))
        assert_problem(draft, 422, "invalid-input", "rules[0].effects[0].accrue_fixed.points")
