"""POST /v1/refunds/batch: an offline till's refunds, each naming its purchase by the server's id, by the key the
till recorded it with or by its receipt; each with its own key and answer, a refused one naming its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import auth, client, enrol, make_network

pytestmark = pytest.mark.anyio


TWO_HOURS_AGO = (datetime.now(UTC) - timedelta(hours=2)).astimezone().isoformat()


def sale(key: str, amount: str, receipt: str) -> dict[str, object]:
    # sold offline two hours ago: a refund an hour ago comes after it
    return {
        "idempotency_key": key,
        "customer": "8001",
        "amount": amount,
        "receipt": receipt,
        "occurred_at": TWO_HOURS_AGO,
    }


async def test_refunds_name_their_purchase_three_ways_replay_by_key_and_refuse_alone(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "8001")
        sold = await http.post(
            "/v1/purchases/batch",
            json={
                "purchases": [
                    sale("s1", "1000.00", "OFF-1"),
                    sale("s2", "2000.00", "OFF-2"),
                    sale("s3", "500.00", "OFF-3"),
                ]
            },
            headers=auth(net.shop_key),
        )
        first_id = sold.json()["results"][0]["body"]["id"]
        assert sold.json()["committed"] == 3  # 30 + 60 + 15 = 105 points
        an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone().isoformat()
        three_hours_ago = (datetime.now(UTC) - timedelta(hours=3)).astimezone().isoformat()  # before the sale
        refunds = [
            {"idempotency_key": "r1", "purchase_key": "s2", "amount": "1000.00", "occurred_at": an_hour_ago},  # −30
            {"idempotency_key": "r2", "purchase_receipt": "OFF-3", "amount": "500.00"},  # −15
            {"idempotency_key": "r3", "purchase_id": first_id, "amount": "100.00"},  # −3
            {"idempotency_key": "r4", "purchase_key": "nobody", "amount": "1.00"},
            {"idempotency_key": "r5", "purchase_receipt": "OFF-1", "amount": "-1"},
            {"idempotency_key": "r6", "purchase_key": "s1", "purchase_receipt": "OFF-1", "amount": "1.00"},
            {"idempotency_key": "r7", "purchase_key": "s1", "amount": "1.00", "occurred_at": "2026-03-10T14:00:00"},
            {"idempotency_key": "r1", "purchase_key": "s2", "amount": "1000.00", "occurred_at": an_hour_ago},
            {"idempotency_key": "r2", "purchase_receipt": "OFF-3", "amount": "400.00"},
            {"idempotency_key": "r8", "purchase_receipt": "OFF-3", "amount": "1.00"},  # OFF-3 refunded in full
            {"idempotency_key": "r9", "purchase_key": "s1", "amount": "1.00", "occurred_at": three_hours_ago},
        ]
        response = await http.post("/v1/refunds/batch", json={"refunds": refunds}, headers=auth(net.shop_key))
        assert response.status_code == 200, response.text
        answer = response.json()
        results = answer["results"]
        assert [r["status"] for r in results] == [201, 201, 201, 404, 422, 422, 422, 201, 422, 422, 422]
        assert [r["problem"]["field"] for r in results if r["status"] >= 400] == [
            "purchase_key",
            "amount",
            "purchase_id",
            "occurred_at",
            "idempotency_key",
            "amount",
            "occurred_at",
        ]
        assert results[0]["body"]["points_clawed_back"] == 30 and results[1]["body"]["points_balance"] == 60
        assert results[2]["body"]["points_balance"] == 57
        assert results[7]["replayed"] is True and results[7]["body"] == results[0]["body"]
        assert (answer["committed"], answer["replayed"], answer["refused"]) == (3, 1, 7)
        assert results[10]["problem"]["detail"] == "a refund cannot be dated before its purchase"

        # The whole batch again: nothing new; the same refund sent alone with r3's key replays it too.
        again = (await http.post("/v1/refunds/batch", json={"refunds": refunds}, headers=auth(net.shop_key))).json()
        assert (again["committed"], again["replayed"]) == (0, 4)
        alone = await http.post(
            f"/v1/purchases/{first_id}/refunds", json={"amount": "100.00"}, headers=auth(net.shop_key, "r3")
        )
        assert alone.status_code == 201 and alone.json() == results[2]["body"]
        member = (await http.get("/v1/members/8001", headers=auth(net.shop_key))).json()
        assert (member["points_balance"], member["lifetime_spend"]) == (57, "1900.00")

        # The refund's ledger transaction carries the till's time.
        statement = (await http.get("/v1/admin/members/8001/statement", headers=auth(net.admin_key))).json()
        moments = sorted(
            datetime.fromisoformat(t["occurred_at"]) for t in statement["transactions"] if t["kind"] == "refund"
        )
        assert abs(moments[0] - datetime.fromisoformat(an_hour_ago)) < timedelta(seconds=1)
    assert await verify(services.engine) == []


async def test_a_refund_batch_refuses_an_empty_or_oversized_request(services):
    net = await make_network(services)
    async with client(services) as http:
        empty = await http.post("/v1/refunds/batch", json={"refunds": []}, headers=auth(net.shop_key))
        assert empty.status_code == 422 and empty.json()["field"] == "refunds"
        many = [{"idempotency_key": f"k{n}", "purchase_id": "x", "amount": "1.00"} for n in range(1001)]
        big = await http.post("/v1/refunds/batch", json={"refunds": many}, headers=auth(net.shop_key))
        assert big.status_code == 422 and big.json()["field"] == "refunds"
        unknown = await http.post(
            "/v1/refunds/batch",
            json={"refunds": [{"idempotency_key": "k", "purchase_id": "x", "amount": "1.00", "x": 1}]},
            headers=auth(net.shop_key),
        )
        assert unknown.status_code == 200 and unknown.json()["results"][0]["problem"]["field"] == "x"
