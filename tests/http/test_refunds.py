"""Refunds through the HTTP API: partial by amount and by items, prorated points, never more than bought, debts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import assert_problem, auth, balance_of, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "8000-0001"


async def _refund(http, key: str, purchase_id: str, body: dict[str, Any]):
    return await http.post(f"/v1/purchases/{purchase_id}/refunds", json=body, headers=auth(key, new_key()))


async def _member(http, net, spend: str = "5000.00") -> int:
    await enrol(http, net.shop_key, CARD)
    first = await buy(http, net.shop_key, CARD, spend)
    assert first.status_code == 201, first.text
    points: int = first.json()["points_balance"]
    return points


async def _lifetime_spend(http, key: str) -> str:
    response = await http.get(f"/v1/members/{CARD}", headers=auth(key))
    spend: str = response.json()["lifetime_spend"]
    return spend


async def test_a_partial_refund_by_amount_prorates_earned_and_redeemed_points(services):
    net = await make_network(services)
    async with client(services) as http:
        assert await _member(http, net) == 150
        purchase = await buy(http, net.shop_key, CARD, "2000.00", redeem=100)
        saved = purchase.json()
        assert (saved["amount_due"], saved["points_earned"], saved["points_balance"]) == ("1900.00", 57, 107)

        refund = await _refund(http, net.shop_key, saved["id"], {"amount": "500.00"})
        assert refund.status_code == 201, refund.text
        body = refund.json()
        assert body["purchase_id"] == saved["id"]
        assert body["amount"] == "500.00"
        assert body["money_back"] == "475.00"  # a quarter of the 1,900 paid in money
        assert body["points_clawed_back"] == 14  # a quarter of 57, rounded down
        assert body["points_returned"] == 25  # a quarter of the 100 spent
        assert body["points_balance"] == 107 - 14 + 25
        assert body["refundable_left"] == "1500.00"
        assert await balance_of(http, net.shop_key, CARD) == 118
        assert await _lifetime_spend(http, net.shop_key) == "6500.00"
    assert await verify(services.engine) == []


async def test_several_partial_refunds_adding_up_to_the_whole_return_exactly_everything(services):
    net = await make_network(services)
    async with client(services) as http:
        assert await _member(http, net) == 150
        purchase = await buy(http, net.shop_key, CARD, "1733.33", redeem=77)
        saved = purchase.json()
        assert (saved["amount_due"], saved["points_earned"], saved["points_balance"]) == ("1656.33", 49, 122)

        expected = [  # (amount, money back, clawed back, returned, balance after): each share rounds down
            ("333.33", "318.52", 9, 14, 127),
            ("500.00", "477.79", 14, 23, 136),
            ("900.00", "860.02", 26, 40, 150),
        ]
        for amount, money_back, clawed, returned, balance in expected:
            refund = await _refund(http, net.shop_key, saved["id"], {"amount": amount})
            assert refund.status_code == 201, refund.text
            body = refund.json()
            assert (
                body["money_back"],
                body["points_clawed_back"],
                body["points_returned"],
                body["points_balance"],
            ) == (money_back, clawed, returned, balance)
        assert body["refundable_left"] == "0.00"
        # Together: the whole 1,656.33 paid, all 49 earned points and all 77 spent ones — as before the purchase.
        assert await balance_of(http, net.shop_key, CARD) == 150
        assert await _lifetime_spend(http, net.shop_key) == "5000.00"

        before = await table_counts(services)
        more = await _refund(http, net.shop_key, saved["id"], {"amount": "0.01"})
        assert_problem(more, 422, "refund-not-allowed", "amount")
        assert await table_counts(services) == before
    assert await verify(services.engine) == []


async def test_refunds_by_items_prorate_by_line_and_never_exceed_the_quantity_bought(services):
    net = await make_network(services)
    async with client(services) as http:
        assert await _member(http, net) == 150
        items = [
            {"sku": "A", "category": "food", "quantity": 2, "unit_price": "500.00"},
            {"sku": "B", "category": "food", "quantity": "1.5", "unit_price": "400.00"},
            {"sku": "C", "category": "drinks", "quantity": 1, "unit_price": "900.00"},
        ]
        purchase = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "items": items, "redeem_points": 100, "receipt": "R-items"},
            headers=auth(net.shop_key, new_key()),
        )
        assert purchase.status_code == 201, purchase.text
        saved = purchase.json()
        assert (saved["amount"], saved["amount_due"], saved["points_earned"], saved["points_balance"]) == (
            "2500.00",
            "2400.00",
            72,
            122,
        )
        pid = saved["id"]

        one_a = await _refund(http, net.shop_key, pid, {"items": [{"sku": "A", "quantity": 1}]})
        assert one_a.status_code == 201, one_a.text
        assert (one_a.json()["amount"], one_a.json()["money_back"]) == ("500.00", "480.00")
        assert (one_a.json()["points_clawed_back"], one_a.json()["points_returned"]) == (14, 20)
        assert one_a.json()["points_balance"] == 128

        half_b = await _refund(http, net.shop_key, pid, {"items": [{"sku": "B", "quantity": "0.5"}]})
        assert half_b.status_code == 201, half_b.text
        assert half_b.json()["amount"] == "200.00"
        assert (half_b.json()["points_clawed_back"], half_b.json()["points_returned"]) == (6, 8)
        assert half_b.json()["points_balance"] == 130

        before = await table_counts(services)
        too_many_a = await _refund(http, net.shop_key, pid, {"items": [{"sku": "A", "quantity": 2}]})
        assert_problem(too_many_a, 422, "refund-not-allowed", "items[0].quantity")
        split = await _refund(
            http, net.shop_key, pid, {"items": [{"sku": "C", "quantity": 1}, {"sku": "C", "quantity": 1}]}
        )
        assert_problem(split, 422, "refund-not-allowed")
        unknown = await _refund(http, net.shop_key, pid, {"items": [{"sku": "Z", "quantity": 1}]})
        assert_problem(unknown, 422, "invalid-input", "items[0].sku")
        both = await _refund(http, net.shop_key, pid, {"amount": "10.00", "items": [{"sku": "C"}]})
        assert_problem(both, 422, "invalid-input", "amount")
        assert await table_counts(services) == before

        rest = await _refund(
            http,
            net.shop_key,
            pid,
            {"items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}, {"sku": "C", "quantity": 1}]},
        )
        assert rest.status_code == 201, rest.text
        assert rest.json()["amount"] == "1800.00"
        assert rest.json()["refundable_left"] == "0.00"
        assert rest.json()["points_clawed_back"] == 72 - 14 - 6
        assert rest.json()["points_returned"] == 100 - 20 - 8
        assert rest.json()["points_balance"] == 150
        assert one_a.json()["money_back"] == "480.00"
        assert sum(Decimal(r.json()["money_back"]) for r in (one_a, half_b, rest)) == Decimal("2400.00")

        nothing_left = await _refund(http, net.shop_key, pid, {"items": [{"sku": "C", "quantity": 1}]})
        assert_problem(nothing_left, 422, "refund-not-allowed", "items[0].quantity")
        by_amount = await _refund(http, net.shop_key, pid, {"amount": "0.01"})
        assert_problem(by_amount, 422, "refund-not-allowed", "amount")
    assert await verify(services.engine) == []


async def test_a_refund_by_amount_never_exceeds_what_is_left(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member(http, net)
        purchase = await buy(http, net.shop_key, CARD, "1000.00")
        pid = purchase.json()["id"]
        assert (await _refund(http, net.shop_key, pid, {"amount": "600.00"})).status_code == 201
        before = await table_counts(services)
        over = await _refund(http, net.shop_key, pid, {"amount": "400.01"})
        assert_problem(over, 422, "refund-not-allowed", "amount")
        assert await table_counts(services) == before
        last = await _refund(http, net.shop_key, pid, {"amount": "400.00"})
        assert last.status_code == 201, last.text
        assert last.json()["refundable_left"] == "0.00"
        assert await balance_of(http, net.shop_key, CARD) == 150
    assert await verify(services.engine) == []


async def test_items_are_needed_to_refund_by_items(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member(http, net)
        purchase = await buy(http, net.shop_key, CARD, "1000.00")
        refund = await _refund(http, net.shop_key, purchase.json()["id"], {"items": [{"sku": "A"}]})
        assert_problem(refund, 422, "invalid-input", "items")


async def test_clawing_back_spent_points_leaves_a_debt_the_next_accrual_pays_off(services):
    net = await make_network(services)
    async with client(services) as http:
        assert await _member(http, net, "3000.00") == 90
        earning = (await buy(http, net.shop_key, CARD, "5000.00")).json()  # +150 → 240
        assert earning["points_balance"] == 240
        spending = (await buy(http, net.shop_key, CARD, "2000.00", redeem=240)).json()
        assert (spending["amount_due"], spending["points_earned"], spending["points_balance"]) == ("1760.00", 52, 52)

        # The 150 points of the earning purchase were spent: the refund claws them back, 98 of them as a debt.
        refund = await _refund(http, net.shop_key, earning["id"], {"amount": "5000.00"})
        assert refund.status_code == 201, refund.text
        assert refund.json()["points_clawed_back"] == 150
        assert refund.json()["points_balance"] == -98
        member = (await http.get(f"/v1/members/{CARD}", headers=auth(net.shop_key))).json()
        assert member["points_balance"] == -98
        assert member["lifetime_spend"] == "5000.00"
        assert await verify(services.engine) == []

        # A debt can pay nothing.
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": "2000.00"}, headers=auth(net.shop_key)
        )
        assert quote.json()["points_balance"] == -98
        assert quote.json()["max_redeemable_points"] == 0
        assert_problem(
            await buy(http, net.shop_key, CARD, "2000.00", redeem=1), 409, "insufficient-points", "redeem_points"
        )

        # The next accruals pay the debt off first.
        partly = await buy(http, net.shop_key, CARD, "1000.00")
        assert (partly.json()["points_earned"], partly.json()["points_balance"]) == (30, -68)
        assert await verify(services.engine) == []
        paid = await buy(http, net.shop_key, CARD, "3000.00")
        assert (paid.json()["points_earned"], paid.json()["points_balance"]) == (90, 22)
        assert await balance_of(http, net.shop_key, CARD) == 22
        usable = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": "2000.00"}, headers=auth(net.shop_key)
        )
        assert usable.json()["max_redeemable_points"] == 22
        spent = await buy(http, net.shop_key, CARD, "2000.00", redeem=22)
        assert spent.status_code == 201, spent.text
        assert spent.json()["points_balance"] == 0 + 59  # 3 % of 1,978
    assert await verify(services.engine) == []


async def test_points_returned_by_a_refund_pay_a_debt_first(services):
    net = await make_network(services)
    async with client(services) as http:
        assert await _member(http, net, "3000.00") == 90
        earning = (await buy(http, net.shop_key, CARD, "5000.00")).json()
        spending = (await buy(http, net.shop_key, CARD, "2000.00", redeem=240)).json()
        debt = await _refund(http, net.shop_key, earning["id"], {"amount": "5000.00"})
        assert debt.json()["points_balance"] == -98
        # Refunding the spending purchase returns its 240 points and claws back its 52: −98 − 52 + 240 = 90.
        back = await _refund(http, net.shop_key, spending["id"], {"amount": "2000.00"})
        assert back.status_code == 201, back.text
        assert (back.json()["points_clawed_back"], back.json()["points_returned"]) == (52, 240)
        assert back.json()["points_balance"] == 90
        assert await balance_of(http, net.shop_key, CARD) == 90
        assert await _lifetime_spend(http, net.shop_key) == "3000.00"
        # The restored 90 points are spendable again.
        spent = await buy(http, net.shop_key, CARD, "2000.00", redeem=90)
        assert spent.status_code == 201, spent.text
    assert await verify(services.engine) == []


async def test_a_refund_reverses_the_purchase_transaction_in_the_statement(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member(http, net)
        purchase = (await buy(http, net.shop_key, CARD, "2000.00", redeem=100)).json()
        await _refund(http, net.shop_key, purchase["id"], {"amount": "2000.00"})
        statement = await http.get(f"/v1/admin/members/{CARD}/statement", headers=auth(net.admin_key))
        assert statement.status_code == 200, statement.text
        lines = statement.json()["transactions"]
        assert [line["kind"] for line in lines] == ["purchase", "purchase", "refund"]
        assert [line["points"] for line in lines] == [150, -43, 43]
        assert lines[2]["reverses_tx_id"] == lines[1]["tx_id"]
        assert [line["balance_after"] for line in lines] == [150, 107, 150]
    assert await verify(services.engine) == []


async def test_only_the_selling_partner_may_refund(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member(http, net)
        purchase = (await buy(http, net.shop_key, CARD, "2000.00")).json()
        before = await table_counts(services)
        refund = await _refund(http, net.cafe_key, purchase["id"], {"amount": "100.00"})
        assert_problem(refund, 404, "purchase-not-found", "purchase_id")  # not revealed: 404, not 403
        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 210


async def test_refund_refusals_state_what_is_left_in_the_units_of_the_request(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member(http, net)
        by_amount = (await buy(http, net.shop_key, CARD, "1000.00")).json()
        await _refund(http, net.shop_key, by_amount["id"], {"amount": "600.00"})
        over = await _refund(http, net.shop_key, by_amount["id"], {"amount": "400.01"})
        items = [{"sku": "A", "quantity": 2, "unit_price": "100.00"}]
        by_items = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "items": items, "receipt": "R-A"},
            headers=auth(net.shop_key, new_key()),
        )
        await _refund(http, net.shop_key, by_items.json()["id"], {"items": [{"sku": "A", "quantity": 1}]})
        too_many = await _refund(http, net.shop_key, by_items.json()["id"], {"items": [{"sku": "A", "quantity": 2}]})
        amount_detail = assert_problem(over, 422, "refund-not-allowed", "amount")["detail"]
        items_detail = assert_problem(too_many, 422, "refund-not-allowed", "items[0].quantity")["detail"]
        assert "400.00" in amount_detail, amount_detail
        assert "1 of 2" in items_detail, items_detail
