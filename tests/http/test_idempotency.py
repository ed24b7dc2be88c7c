"""Idempotency of the POS writes: a retry replays the first answer and books once; a reused key is refused."""

from __future__ import annotations

import json

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import assert_problem, auth, balance_of, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "6000-0001"


async def _ready(services, http, net) -> None:
    await enrol(http, net.shop_key, CARD)
    first = await buy(http, net.shop_key, CARD, "5000.00")
    assert first.status_code == 201, first.text
    assert first.json()["points_balance"] == 150


async def test_a_retry_with_the_same_key_replays_the_first_answer_and_books_once(services):
    net = await make_network(services)
    async with client(services) as http:
        await _ready(services, http, net)
        key = new_key()
        body = {"customer": CARD, "amount": "2000.00", "redeem_points": 100, "receipt": "R-10"}
        first = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, key))
        assert first.status_code == 201, first.text
        assert "Idempotent-Replayed" not in first.headers
        assert first.json()["points_balance"] == 107
        after_first = await table_counts(services)

        retry = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, key))
        assert retry.status_code == 201, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()

        # Key order and whitespace do not make a different request.
        reordered = json.dumps(dict(reversed(list(body.items()))), indent=4).encode()
        again = await http.post(
            "/v1/purchases", content=reordered, headers={**auth(net.shop_key, key), "Content-Type": "application/json"}
        )
        assert again.status_code == 201, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()

        assert await table_counts(services) == after_first
        assert await balance_of(http, net.shop_key, CARD) == 107
    assert await verify(services.engine) == []


async def test_a_replay_returns_the_first_answer_even_after_later_changes(services):
    net = await make_network(services)
    async with client(services) as http:
        await _ready(services, http, net)
        key = new_key()
        body = {"customer": CARD, "amount": "1000.00", "receipt": "R-20"}
        first = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, key))
        assert first.json()["points_balance"] == 180
        later = await buy(http, net.shop_key, CARD, "1000.00")
        assert later.json()["points_balance"] == 210
        retry = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, key))
        assert retry.status_code == 201
        assert retry.json() == first.json()
        assert retry.json()["points_balance"] == 180
        assert await balance_of(http, net.shop_key, CARD) == 210


async def test_the_same_key_with_a_different_body_is_refused(services):
    net = await make_network(services)
    async with client(services) as http:
        await _ready(services, http, net)
        key = new_key()
        body = {"customer": CARD, "amount": "2000.00", "receipt": "R-30"}
        first = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, key))
        assert first.status_code == 201, first.text
        after_first = await table_counts(services)

        changed = await http.post("/v1/purchases", json={**body, "amount": "2000.01"}, headers=auth(net.shop_key, key))
        problem = assert_problem(changed, 422, "idempotency-key-reused", "Idempotency-Key")
        assert "Idempotency-Key" in problem["detail"]
        # The same key on another operation (a refund of that purchase) is a different request too.
        refund = await http.post(
            f"/v1/purchases/{first.json()['id']}/refunds", json={"amount": "2000.00"}, headers=auth(net.shop_key, key)
        )
        assert_problem(refund, 422, "idempotency-key-reused", "Idempotency-Key")

        assert await table_counts(services) == after_first
        assert await balance_of(http, net.shop_key, CARD) == 150 + 60


async def test_keys_belong_to_one_terminal(services):
    """Another terminal may use the same key for its own request: it is a different request, booked on its own."""
    net = await make_network(services)
    async with client(services) as http:
        await _ready(services, http, net)
        key = new_key()
        shop = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "1000.00", "receipt": "1"},
            headers=auth(net.shop_key, key),
        )
        cafe = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "1000.00", "receipt": "1"},
            headers=auth(net.cafe_key, key),
        )
        assert shop.status_code == cafe.status_code == 201
        assert "Idempotent-Replayed" not in cafe.headers
        assert shop.json()["id"] != cafe.json()["id"]
        assert await balance_of(http, net.shop_key, CARD) == 150 + 30 + 30


async def test_the_same_receipt_at_the_same_outlet_cannot_earn_twice(services):
    net = await make_network(services)
    async with client(services) as http:
        await _ready(services, http, net)
        first = await buy(http, net.shop_key, CARD, "1000.00", receipt="R-40")
        assert first.status_code == 201, first.text
        after_first = await table_counts(services)

        again = await buy(http, net.shop_key, CARD, "1000.00", receipt="R-40")  # a new idempotency key
        assert_problem(again, 409, "conflict", "receipt")
        other_amount = await buy(http, net.shop_key, CARD, "3000.00", redeem=10, receipt="R-40")
        assert_problem(other_amount, 409, "conflict", "receipt")
        padded = await buy(http, net.shop_key, CARD, "1000.00", receipt="  R-40  ")
        assert_problem(padded, 409, "conflict", "receipt")

        assert await table_counts(services) == after_first
        assert await balance_of(http, net.shop_key, CARD) == 180

        # The same receipt number at another outlet is another sale.
        cafe = await buy(http, net.cafe_key, CARD, "1000.00", receipt="R-40")
        assert cafe.status_code == 201, cafe.text
        assert cafe.json()["points_earned"] == 30
        assert await balance_of(http, net.shop_key, CARD) == 210
    assert await verify(services.engine) == []


async def test_a_refund_retry_replays_and_books_once(services):
    net = await make_network(services)
    async with client(services) as http:
        await _ready(services, http, net)
        purchase = await buy(http, net.shop_key, CARD, "2000.00", redeem=100)
        assert purchase.json()["points_balance"] == 107
        path = f"/v1/purchases/{purchase.json()['id']}/refunds"
        key = new_key()
        first = await http.post(path, json={"amount": "1000.00"}, headers=auth(net.shop_key, key))
        assert first.status_code == 201, first.text
        # Half the check: 28 of the 57 earned points come back, 50 of the 100 spent are returned.
        assert (first.json()["points_clawed_back"], first.json()["points_returned"]) == (28, 50)
        assert first.json()["points_balance"] == 129
        assert first.json()["refundable_left"] == "1000.00"
        after_first = await table_counts(services)

        retry = await http.post(path, json={"amount": "1000.00"}, headers=auth(net.shop_key, key))
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()
        changed = await http.post(path, json={"amount": "999.00"}, headers=auth(net.shop_key, key))
        assert_problem(changed, 422, "idempotency-key-reused", "Idempotency-Key")

        assert await table_counts(services) == after_first
        assert await balance_of(http, net.shop_key, CARD) == 129
    assert await verify(services.engine) == []


async def test_an_enrolment_retry_replays_and_creates_one_member(services):
    net = await make_network(services)
    async with client(services) as http:
        key = new_key()
        body = {
            "kind": "personal",
            "card_number": "6000 0002",
            "profile": {"name": "Retry Person", "phone": "8 (912) 555-66-77", "consent_data_processing": True},
        }
        first = await http.post("/v1/members", json=body, headers=auth(net.shop_key, key))
        assert first.status_code == 201, first.text
        after_first = await table_counts(services)
        assert after_first["members"] == 1

        retry = await http.post("/v1/members", json=body, headers=auth(net.shop_key, key))
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()
        assert retry.json()["member"]["id"] == first.json()["member"]["id"]

        changed = await http.post(
            "/v1/members", json={**body, "card_number": "6000 0003"}, headers=auth(net.shop_key, key)
        )
        assert_problem(changed, 422, "idempotency-key-reused", "Idempotency-Key")
        assert await table_counts(services) == after_first

        # Without the same key, the same card number is taken.
        duplicate = await http.post("/v1/members", json=body, headers=auth(net.shop_key, new_key()))
        assert duplicate.status_code == 409, duplicate.text
        assert await table_counts(services) == after_first


async def test_a_card_action_retry_replays_instead_of_failing_on_the_new_state(services):
    net = await make_network(services)
    async with client(services) as http:
        await _ready(services, http, net)
        key = new_key()
        first = await http.post(f"/v1/cards/{CARD}/block", headers=auth(net.shop_key, key))
        assert first.status_code == 200, first.text
        assert first.json()["state"] == "blocked"
        retry = await http.post(f"/v1/cards/{CARD}/block", headers=auth(net.shop_key, key))
        assert retry.status_code == 200, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()
        # A new key asks again, and a blocked card cannot be blocked.
        again = await http.post(f"/v1/cards/{CARD}/block", headers=auth(net.shop_key, new_key()))
        assert_problem(again, 409, "card-not-active")
