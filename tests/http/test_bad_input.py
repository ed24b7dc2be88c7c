"""Bad input at the POS API: each gets a specific 4xx problem+json answer naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import (
    assert_problem,
    auth,
    balance_of,
    buy,
    client,
    enrol,
    make_network,
    new_key,
    table_counts,
)

pytestmark = pytest.mark.anyio

CARD = "3000-0001"


async def _member_with_points(services, http, net, amount: str = "5000.00") -> int:
    """Enrol CARD and give it the points of one purchase (3 % of `amount`)."""
    await enrol(http, net.shop_key, CARD, phone="+7 900 000 00 01")
    response = await buy(http, net.shop_key, CARD, amount)
    assert response.status_code == 201, response.text
    points: int = response.json()["points_balance"]
    return points


async def _post_purchase(http, key: str, body: dict[str, Any], idempotency_key: str | None = "new"):
    headers = auth(key, new_key() if idempotency_key == "new" else idempotency_key)
    return await http.post("/v1/purchases", json=body, headers=headers)


async def test_unknown_identifier_is_404_and_writes_nothing(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)

        found = await http.get("/v1/members/9999-9999", headers=auth(net.shop_key))
        body = assert_problem(found, 404, "member-not-found", "identifier")
        assert "9999-9999" in body["detail"]

        purchase = await _post_purchase(
            http, net.shop_key, {"customer": "9999-9999", "amount": "100.00", "receipt": "1"}
        )
        assert_problem(purchase, 404, "member-not-found", "customer")
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": "9999-9999", "amount": "100.00"}, headers=auth(net.shop_key)
        )
        assert_problem(quote, 404, "member-not-found", "customer")

        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 150
    assert await verify(services.engine) == []


async def test_blocked_card_is_refused_and_writes_nothing(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        blocked = await http.post(f"/v1/cards/{CARD}/block", headers=auth(net.shop_key, new_key()))
        assert blocked.status_code == 200, blocked.text
        assert blocked.json()["state"] == "blocked"
        before = await table_counts(services)

        response = await buy(http, net.shop_key, CARD, "2000.00", redeem=100)
        body = assert_problem(response, 409, "card-not-active", "customer")
        assert "blocked" in body["detail"]
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": "2000.00"}, headers=auth(net.shop_key)
        )
        assert_problem(quote, 409, "card-not-active", "customer")

        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 150
    assert await verify(services.engine) == []


async def test_redeeming_more_than_the_cap_is_422(services):
    net = await make_network(services)
    async with client(services) as http:
        assert await _member_with_points(services, http, net, "9000.00") == 270
        before = await table_counts(services)
        # 15 % of 1,500 = 225 points; the member has 270.
        response = await buy(http, net.shop_key, CARD, "1500.00", redeem=226)
        body = assert_problem(response, 422, "redeem-not-allowed", "redeem_points")
        assert "225" in body["detail"]
        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": CARD, "amount": "1500.00", "redeem_points": 226},
            headers=auth(net.shop_key),
        )
        assert_problem(quote, 422, "redeem-not-allowed", "redeem_points")
        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 270
        # Exactly the cap is fine.
        ok = await buy(http, net.shop_key, CARD, "1500.00", redeem=225)
        assert ok.status_code == 201, ok.text
        assert ok.json()["points_redeemed"] == 225
    assert await verify(services.engine) == []


async def test_redeeming_on_a_check_below_the_minimum_is_422(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        response = await buy(http, net.shop_key, CARD, "1499.99", redeem=1)
        body = assert_problem(response, 422, "redeem-not-allowed", "redeem_points")
        assert "1500.00" in body["detail"]
        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 150
        # The same check without points is an ordinary purchase.
        ok = await buy(http, net.shop_key, CARD, "1499.99")
        assert ok.status_code == 201, ok.text
        assert ok.json()["points_earned"] == 44
    assert await verify(services.engine) == []


async def test_redeeming_more_than_the_balance_is_409(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)  # 150 points
        before = await table_counts(services)
        response = await buy(http, net.shop_key, CARD, "2000.00", redeem=151)  # cap 300, balance 150
        body = assert_problem(response, 409, "insufficient-points", "redeem_points")
        assert "150" in body["detail"]
        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 150
    assert await verify(services.engine) == []


async def test_negative_points_to_redeem_are_422(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        response = await buy(http, net.shop_key, CARD, "2000.00", redeem=-5)
        assert_problem(response, 422, "invalid-input", "redeem_points")
        assert await table_counts(services) == before


@pytest.mark.parametrize(
    "amount",
    ["-5.00", "12,50", "1e3", "abc", 1500, "1.001", "", " ", "0.00", "+5", "1 500", "NaN", True, None],
    ids=[
        "negative",
        "comma",
        "exponent",
        "letters",
        "json-number",
        "too-precise",
        "empty",
        "blank",
        "zero",
        "plus-sign",
        "inner-space",
        "nan",
        "bool",
        "null",
    ],
)
async def test_negative_malformed_or_too_precise_amounts_are_422_on_amount(services, amount):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        body = {"customer": CARD, "amount": amount, "receipt": "R-1"}
        response = await _post_purchase(http, net.shop_key, body)
        assert_problem(response, 422, "invalid-input", "amount")
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": amount}, headers=auth(net.shop_key)
        )
        assert_problem(quote, 422, "invalid-input", "amount")
        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 150


async def test_malformed_item_price_and_quantity_name_the_item_field(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        price = await _post_purchase(
            http,
            net.shop_key,
            {
                "customer": CARD,
                "receipt": "R-1",
                "items": [
                    {"sku": "A", "quantity": 1, "unit_price": "10.00"},
                    {"sku": "B", "quantity": 1, "unit_price": "1.001"},
                ],
            },
        )
        assert_problem(price, 422, "invalid-input", "items[1].unit_price")
        quantity = await _post_purchase(
            http,
            net.shop_key,
            {"customer": CARD, "receipt": "R-1", "items": [{"sku": "A", "quantity": "-1", "unit_price": "10.00"}]},
        )
        assert_problem(quantity, 422, "invalid-input", "items[0].quantity")
        zero = await _post_purchase(
            http,
            net.shop_key,
            {"customer": CARD, "receipt": "R-1", "items": [{"sku": "A", "quantity": 0, "unit_price": "10.00"}]},
        )
        assert_problem(zero, 422, "invalid-input", "items[0].quantity")
        assert await table_counts(services) == before


async def test_missing_idempotency_key_is_refused_naming_the_header(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        body = {"customer": CARD, "amount": "2000.00", "redeem_points": 10, "receipt": "R-1"}
        response = await _post_purchase(http, net.shop_key, body, idempotency_key=None)
        problem = assert_problem(response, 422, "invalid-input", "Idempotency-Key")
        assert "Idempotency-Key" in problem["detail"]
        blank = await _post_purchase(http, net.shop_key, body, idempotency_key="   ")
        assert_problem(blank, 422, "invalid-input", "Idempotency-Key")
        too_long = await _post_purchase(http, net.shop_key, body, idempotency_key="k" * 201)
        assert_problem(too_long, 422, "invalid-input", "Idempotency-Key")

        refund = await http.post("/v1/purchases/whatever/refunds", json={"amount": "1.00"}, headers=auth(net.shop_key))
        assert_problem(refund, 422, "invalid-input", "Idempotency-Key")
        enrolment = await http.post(
            "/v1/members", json={"kind": "anonymous", "card_number": "3000-0002"}, headers=auth(net.shop_key)
        )
        assert_problem(enrolment, 422, "invalid-input", "Idempotency-Key")
        block = await http.post(f"/v1/cards/{CARD}/block", headers=auth(net.shop_key))
        assert_problem(block, 422, "invalid-input", "Idempotency-Key")

        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == 150


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer term_unknown"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}],
    ids=["missing", "unknown", "basic-scheme", "empty-bearer"],
)
async def test_missing_or_unknown_terminal_key_is_401(services, headers):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        member = await http.get(f"/v1/members/{CARD}", headers=headers)
        assert_problem(member, 401, "unauthorized")
        assert member.headers["www-authenticate"] == "Bearer"
        purchase = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "100.00", "receipt": "1"},
            headers={**headers, "Idempotency-Key": new_key()},
        )
        assert_problem(purchase, 401, "unauthorized")
        # The network's admin key is not a terminal key.
        admin_as_terminal = await http.get(f"/v1/members/{CARD}", headers=auth(net.admin_key))
        assert_problem(admin_as_terminal, 401, "unauthorized")
        assert await table_counts(services) == before


async def test_another_networks_member_is_not_found_with_this_networks_key(services):
    ours = await make_network(services, "ours")
    theirs = await make_network(services, "theirs")
    async with client(services) as http:
        await enrol(http, theirs.shop_key, "4000-0001", phone="+7 900 400 00 01")
        earned = await buy(http, theirs.shop_key, "4000-0001", "5000.00")
        assert earned.status_code == 201, earned.text
        before = await table_counts(services)

        found = await http.get("/v1/members/4000-0001", headers=auth(ours.shop_key))
        assert_problem(found, 404, "member-not-found", "identifier")
        by_phone = await http.get("/v1/members/+79004000001", headers=auth(ours.shop_key))
        assert_problem(by_phone, 404, "member-not-found", "identifier")
        purchase = await buy(http, ours.shop_key, "4000-0001", "2000.00", redeem=100)
        assert_problem(purchase, 404, "member-not-found", "customer")
        # Nor can this network refund the other network's purchase.
        refund = await http.post(
            f"/v1/purchases/{earned.json()['id']}/refunds",
            json={"amount": "5000.00"},
            headers=auth(ours.shop_key, new_key()),
        )
        assert_problem(refund, 404, "purchase-not-found")
        block = await http.post("/v1/cards/4000-0001/block", headers=auth(ours.shop_key, new_key()))
        assert_problem(block, 404, "member-not-found", "number")

        assert await table_counts(services) == before
        assert await balance_of(http, theirs.shop_key, "4000-0001") == 150
    assert await verify(services.engine) == []


async def test_items_whose_total_disagrees_with_amount_are_422(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        body = {
            "customer": CARD,
            "receipt": "R-1",
            "amount": "1000.00",
            "items": [
                {"sku": "A", "category": "food", "quantity": 2, "unit_price": "300.00"},
                {"sku": "B", "quantity": "0.5", "unit_price": "700.00"},
            ],
        }  # 600 + 350 = 950
        response = await _post_purchase(http, net.shop_key, body)
        problem = assert_problem(response, 422, "invalid-input", "amount")
        assert "950.00" in problem["detail"]
        assert await table_counts(services) == before
        # With the right amount it is recorded.
        ok = await _post_purchase(http, net.shop_key, {**body, "amount": "950.00"})
        assert ok.status_code == 201, ok.text
        assert ok.json()["amount"] == "950.00"
        assert ok.json()["points_earned"] == 28


async def test_refund_more_than_bought_is_422_and_writes_nothing(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        purchase = await buy(http, net.shop_key, CARD, "2000.00", redeem=100)
        assert purchase.status_code == 201, purchase.text
        purchase_id = purchase.json()["id"]
        before = await table_counts(services)
        balance = await balance_of(http, net.shop_key, CARD)

        too_much = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={"amount": "2000.01"}, headers=auth(net.shop_key, new_key())
        )
        assert_problem(too_much, 422, "refund-not-allowed", "amount")
        zero = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={"amount": "0.00"}, headers=auth(net.shop_key, new_key())
        )
        assert_problem(zero, 422, "invalid-input", "amount")
        malformed = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={"amount": "-1"}, headers=auth(net.shop_key, new_key())
        )
        assert_problem(malformed, 422, "invalid-input", "amount")
        neither = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={}, headers=auth(net.shop_key, new_key())
        )
        assert_problem(neither, 422, "invalid-input", "amount")
        by_items = await http.post(
            f"/v1/purchases/{purchase_id}/refunds",
            json={"items": [{"sku": "A"}]},
            headers=auth(net.shop_key, new_key()),
        )
        assert_problem(by_items, 422, "invalid-input", "items")

        assert await table_counts(services) == before
        assert await balance_of(http, net.shop_key, CARD) == balance


async def test_refund_of_an_unknown_purchase_is_404(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        response = await http.post(
            "/v1/purchases/00000000-0000-0000-0000-000000000000/refunds",
            json={"amount": "10.00"},
            headers=auth(net.shop_key, new_key()),
        )
        assert_problem(response, 404, "purchase-not-found", "purchase_id")
        assert await table_counts(services) == before


async def test_unknown_json_fields_are_422(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        purchase = await _post_purchase(
            http, net.shop_key, {"customer": CARD, "amount": "100.00", "receipt": "R", "discount": "5"}
        )
        assert_problem(purchase, 422, "invalid-input", "discount")
        item = await _post_purchase(
            http,
            net.shop_key,
            {"customer": CARD, "receipt": "R", "items": [{"sku": "A", "unit_price": "1.00", "colour": "red"}]},
        )
        assert_problem(item, 422, "invalid-input", "items[0].colour")
        enrolment = await http.post(
            "/v1/members",
            json={"kind": "anonymous", "card_number": "3000-0009", "vip": True},
            headers=auth(net.shop_key, new_key()),
        )
        assert_problem(enrolment, 422, "invalid-input", "vip")
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": "100.00", "x": 1}, headers=auth(net.shop_key)
        )
        assert_problem(quote, 422, "invalid-input", "x")
        assert await table_counts(services) == before


@pytest.mark.parametrize(
    "raw",
    [b'{"customer": "3000-0001", "amount": ', b"not json", b"[1, 2]", b""],
    ids=["truncated", "garbage", "array", "empty"],
)
async def test_malformed_json_body_is_422_and_writes_nothing(services, raw):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        headers = {**auth(net.shop_key, new_key()), "Content-Type": "application/json"}
        response = await http.post("/v1/purchases", content=raw, headers=headers)
        assert_problem(response, 422, "invalid-input")
        assert await table_counts(services) == before


async def test_malformed_json_body_names_the_body_as_the_field(services):
    net = await make_network(services)
    async with client(services) as http:
        headers = {**auth(net.shop_key, new_key()), "Content-Type": "application/json"}
        response = await http.post("/v1/purchases", content=b'{"customer": "3000-0001", "amount": ', headers=headers)
        assert_problem(response, 422, "invalid-input", "body")


async def test_a_refused_request_leaves_its_idempotency_key_free(services):
    """Nothing is stored for a refused request: the corrected request under the same key is recorded."""
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        key = new_key()
        refused = await _post_purchase(
            http,
            net.shop_key,
            {"customer": CARD, "amount": "2000.00", "redeem_points": 999, "receipt": "R"},
            idempotency_key=key,
        )
        assert_problem(refused, 422, "redeem-not-allowed", "redeem_points")
        accepted = await _post_purchase(
            http,
            net.shop_key,
            {"customer": CARD, "amount": "2000.00", "redeem_points": 100, "receipt": "R"},
            idempotency_key=key,
        )
        assert accepted.status_code == 201, accepted.text
        assert "Idempotent-Replayed" not in accepted.headers
        assert accepted.json()["points_balance"] == 150 - 100 + 57
    assert await verify(services.engine) == []


async def test_a_blank_or_missing_receipt_is_422(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        blank = await _post_purchase(http, net.shop_key, {"customer": CARD, "amount": "100.00", "receipt": "   "})
        assert_problem(blank, 422, "invalid-input", "receipt")
        missing = await _post_purchase(http, net.shop_key, {"customer": CARD, "amount": "100.00"})
        assert_problem(missing, 422, "invalid-input", "receipt")
        assert await table_counts(services) == before


async def test_an_amount_too_large_for_the_ledger_is_422_on_amount(services):
    net = await make_network(services)
    async with client(services) as http:
        await _member_with_points(services, http, net)
        before = await table_counts(services)
        huge = "999999999999999.99"
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": huge}, headers=auth(net.shop_key)
        )
        purchase = await _post_purchase(http, net.shop_key, {"customer": CARD, "amount": huge, "receipt": "R-huge"})
        assert await table_counts(services) == before
        assert_problem(purchase, 422, "invalid-input", "amount")
        assert_problem(quote, 422, "invalid-input", "amount")


TOO_BIG = 10**20  # beyond the databases' 64-bit keys


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            "/v1/admin/cashiers",
            {"outlet_id": TOO_BIG, "login": "ab", "name": "A", "password": "123456"},
            "outlet_id",
        ),
        ("POST", "/v1/admin/outlets", {"partner_id": TOO_BIG, "name": "x", "timezone": "UTC"}, "partner_id"),
        ("POST", "/v1/admin/terminals", {"outlet_id": TOO_BIG, "name": "x"}, "outlet_id"),
        ("PUT", f"/v1/admin/cashiers/{TOO_BIG}/password", {"password": "1234567"}, "cashier_id"),
        ("PUT", f"/v1/admin/partners/{TOO_BIG}/email", {"email": "a@b.cd"}, "partner_id"),
        ("DELETE", f"/v1/admin/terminals/{TOO_BIG}", None, "terminal_id"),
        ("GET", f"/v1/admin/rule-sets/{TOO_BIG}", None, "version"),
        ("GET", f"/v1/admin/settlement/statements/{TOO_BIG}", None, "number"),
        ("GET", f"/v1/admin/settlement/statements/1/partners/{TOO_BIG}", None, "partner_id"),
    ],
)
async def test_a_record_number_beyond_the_databases_keys_is_a_422_naming_it(
    services, method: str, path: str, body: Any, field: str
) -> None:
    net = await make_network(services)
    async with client(services) as http:
        response = await http.request(method, path, json=body, headers=auth(net.admin_key))
        assert_problem(response, 422, "invalid-input", field)
