"""POST /v1/purchases/batch: many purchases in one request, planned in order, each with its own answer."""

from __future__ import annotations

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import auth, client, enrol, make_network

pytestmark = pytest.mark.anyio


def item(key: str, customer: str, amount: str, receipt: str, redeem: int | None = None) -> dict[str, object]:
    body: dict[str, object] = {"idempotency_key": key, "customer": customer, "amount": amount, "receipt": receipt}
    if redeem is not None:
        body["redeem_points"] = redeem
    return body


async def test_batch_plans_in_order_and_answers_each_purchase(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "8001")
        await enrol(http, net.shop_key, "8002")
        purchases = [
            item("k1", "8001", "5000.00", "B-1"),  # earns 150
            item("k2", "8001", "2000.00", "B-2", redeem=150),  # spends what k1 earned: 1850 due, earns 55
            item("k3", "8002", "2000.00", "B-3", redeem=40),  # no points yet (30 after k6, still short): refused
            item("k4", "8002", "1000.00", "B-1"),  # same receipt as k1 at this outlet: refused
            item("k1", "8001", "5000.00", "B-1"),  # the same key and body again: k1's answer
            item("k2", "8001", "9.00", "B-9"),  # the same key with another body: refused
            item("k5", "9999", "100.00", "B-5"),  # unknown member
            item("k6", "8002", "1000.00", "B-6"),  # earns 30
        ]
        response = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(net.shop_key))
        assert response.status_code == 200, response.text
        answer = response.json()
        statuses = [r["status"] for r in answer["results"]]
        assert statuses == [201, 201, 409, 409, 201, 422, 404, 201]
        results = answer["results"]
        assert results[0]["body"]["points_earned"] == 150
        assert (results[1]["body"]["amount_due"], results[1]["body"]["points_balance"]) == ("1850.00", 55)
        assert results[2]["problem"]["type"].endswith("insufficient-points")
        assert results[3]["problem"]["field"] == "receipt"
        assert results[4]["replayed"] is True and results[4]["body"] == results[0]["body"]
        assert results[5]["problem"]["type"].endswith("idempotency-key-reused")
        assert results[6]["problem"]["type"].endswith("member-not-found")
        assert results[7]["body"]["points_balance"] == 30
        assert (answer["committed"], answer["replayed"], answer["refused"]) == (3, 1, 4)

        # A single-purchase retry of a batch item's key returns the batch's answer.
        single = await http.post(
            "/v1/purchases",
            json={"customer": "8001", "amount": "5000.00", "receipt": "B-1"},
            headers=auth(net.shop_key, "k1"),
        )
        assert single.status_code == 201 and single.json() == results[0]["body"]

        # Retrying the whole batch books nothing new.
        again = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(net.shop_key))
        assert again.json()["committed"] == 0
        member = (await http.get("/v1/members/8001", headers=auth(net.shop_key))).json()
        assert member["points_balance"] == 55
        assert member["lifetime_spend"] == "7000.00"
    assert await verify(services.engine) == []


async def test_batch_rejects_an_empty_or_oversized_request(services):
    net = await make_network(services)
    async with client(services) as http:
        empty = await http.post("/v1/purchases/batch", json={"purchases": []}, headers=auth(net.shop_key))
        assert empty.status_code == 422 and empty.json()["field"] == "purchases"
        too_many = [item(f"k{n}", "1", "1.00", f"r{n}") for n in range(1001)]
        big = await http.post("/v1/purchases/batch", json={"purchases": too_many}, headers=auth(net.shop_key))
        assert big.status_code == 422 and big.json()["field"] == "purchases"


async def test_each_answer_is_written_once_and_replays_as_it_was_answered(services):
    """A batch writes each item's answer as JSON once, stores it with its key and splices it into the batch's
    answer (text outside ASCII included); a retry of the batch splices the stored text, and the cycle collector,
    paused while the batch is planned, runs again afterwards."""
    import gc

    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "8101")
        purchases = [item("u1", "8101", "1500.00", "Чек №1"), item("u2", "8101", "700.50", "Чек «2»", redeem=0)]
        first = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(net.shop_key))
        assert first.status_code == 200 and first.headers["content-type"] == "application/json"
        answer = first.json()
        assert [r["body"]["receipt"] for r in answer["results"]] == ["Чек №1", "Чек «2»"]
        assert [r["replayed"] for r in answer["results"]] == [False, False]
        assert (answer["committed"], answer["replayed"], answer["refused"]) == (2, 0, 0)
        again = (
            await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(net.shop_key))
        ).json()
        assert [r["body"] for r in again["results"]] == [r["body"] for r in answer["results"]]
        assert [r["replayed"] for r in again["results"]] == [True, True]
        assert (again["committed"], again["replayed"], again["refused"]) == (0, 2, 0)
        single = await http.post(
            "/v1/purchases",
            json={"customer": "8101", "amount": "700.50", "receipt": "Чек «2»", "redeem_points": 0},
            headers=auth(net.shop_key, "u2"),
        )
        assert single.status_code == 201 and single.json() == answer["results"][1]["body"]
    assert gc.isenabled()
