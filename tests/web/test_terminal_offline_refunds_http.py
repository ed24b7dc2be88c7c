"""The refunds the web terminal kept offline, uploaded with its sales (POST /terminal/offline-sales) on both engines:
a refund of a sale of the same queue (the sales recorded first), of an earlier purchase by its receipt and by its id,
whole or in part; a replayed upload doubling nothing; refusals kept with the cashier's words; bad input as
problem+json naming the field.

The test network's shop runs the small-shop program: 3 % of a check below a lifetime spend of 10,000.00. Card
5000-0001 bought for 3,500.00 before (105 points); each test buys 2,000.00 more online (receipt R-2001): 60 points."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from coalition.adapters.web.terminal_offline_refunds import MAX_OFFLINE_REFUNDS
from coalition.wiring import Services
from tests.support import assert_problem, balance_of, buy, client, table_counts
from tests.web.test_terminal_offline_http import MOSCOW, Shop, _sale, _shop, _signed_in

pytestmark = pytest.mark.anyio


def _refund(
    *, sale: dict[str, str] | None = None, purchase: str | None = None, amount: str | None = None, minutes_ago: int = 0
) -> dict[str, Any]:
    """A queued refund: of a queued sale or of a purchase (receipt or id), of `amount` or of all that is left."""
    moment = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).astimezone(MOSCOW).replace(microsecond=0)
    body: dict[str, Any] = {"key": str(uuid.uuid4()), "occurred_at": moment.isoformat()}
    if sale is not None:
        body["sale_key"] = sale["key"]
    if purchase is not None:
        body["purchase"] = purchase
    if amount is not None:
        body["amount"] = amount
    return body


async def _upload(http: httpx.AsyncClient, csrf: str, body: dict[str, Any], language: str = "en") -> httpx.Response:
    headers = {"X-CSRF-Token": csrf, "X-Requested-With": "fetch", "Accept-Language": language}
    return await http.post("/terminal/offline-sales", json=body, headers=headers)


async def _bought_online(http: httpx.AsyncClient, shop: Shop) -> str:
    """2,000.00 bought at the shop's till a minute before the network dropped: receipt R-2001, 60 points."""
    bought = await buy(http, shop.shop_key, "5000-0001", "2000.00", receipt="R-2001")
    assert bought.status_code == 201, bought.text
    purchase_id: str = bought.json()["id"]
    return purchase_id


async def test_refunds_of_a_queued_sale_and_of_earlier_purchases_upload_once(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        purchase_id = await _bought_online(http, shop)
        assert await balance_of(http, shop.shop_key, "5000-0001") == 105 + 60
        sale = _sale("5000-0001", "1 500,00", minutes_ago=3)  # +45
        of_sale = _refund(sale=sale, minutes_ago=2)  # all of it: −45
        by_receipt = _refund(purchase="R-2001", amount="500,00", minutes_ago=-1)  # 500 of 2,000: −15
        by_id = _refund(purchase=purchase_id.upper(), amount="1000", minutes_ago=-1)  # 1,000 more: −30
        body = {"sales": [sale], "refunds": [of_sale, by_receipt, by_id]}
        csrf = await _signed_in(http, shop)
        uploaded = await _upload(http, csrf, body)
        assert uploaded.status_code == 200, uploaded.text
        answer = uploaded.json()
        assert (answer["recorded"], answer["replayed"], answer["refused"]) == (4, 0, 0)
        figures = [
            (r["key"], r["kind"], r["outcome"], r.get("amount"), r.get("points_clawed_back")) for r in answer["results"]
        ]
        assert figures == [
            (sale["key"], "sale", "recorded", None, None),
            (of_sale["key"], "refund", "recorded", "1500.00", 45),
            (by_receipt["key"], "refund", "recorded", "500.00", 15),
            (by_id["key"], "refund", "recorded", "1000.00", 30),
        ]
        assert await balance_of(http, shop.shop_key, "5000-0001") == 105 + 60 + 45 - 45 - 15 - 30 == 120
        done = await http.get(answer["results"][2]["receipt_url"])  # each refund has its receipt page
        assert done.status_code == 200 and "500.00" in done.text

        before = await table_counts(services)
        again = await _upload(http, csrf, body)  # the answer was lost: the page sends the same queue
        assert [(r["outcome"], r.get("points_clawed_back")) for r in again.json()["results"]] == [
            ("replayed", None),
            ("replayed", 45),
            ("replayed", 15),
            ("replayed", 30),
        ]
        assert await table_counts(services) == before
        refunds_alone = await _upload(http, csrf, {"refunds": [by_receipt]})  # a later part: refunds only
        assert refunds_alone.json()["replayed"] == 1
        assert await balance_of(http, shop.shop_key, "5000-0001") == 120


async def test_refused_refunds_say_why_and_the_others_are_recorded(services: Services) -> None:
    shop = await _shop(services)
    other = await _shop(services, "other", "7000-0001")
    async with client(services) as http:
        purchase_id = await _bought_online(http, shop)
        foreign = await buy(http, other.shop_key, "7000-0001", "100.00", receipt="R-2001")
        foreign_id = foreign.json()["id"]
        csrf = await _signed_in(http, shop)
        too_much = _refund(purchase="R-2001", amount="2000.01", minutes_ago=-1)
        good = _refund(purchase="R-2001", amount="500.00", minutes_ago=-1)
        unknown_receipt = _refund(purchase="R-9999", minutes_ago=-1)
        foreign_id_refund = _refund(purchase=foreign_id, minutes_ago=-1)  # another network's purchase: unknown
        unknown_sale = _refund(sale=_sale("5000-0001", "10.00"), minutes_ago=-1)  # never uploaded
        before_purchase = _refund(purchase="R-2001", amount="1.00", minutes_ago=60)
        bad_amount = _refund(purchase="R-2001", amount="0")
        body = {
            "refunds": [too_much, good, unknown_receipt, foreign_id_refund, unknown_sale, before_purchase, bad_amount]
        }
        uploaded = await _upload(http, csrf, body)
        assert uploaded.status_code == 200, uploaded.text
        results = {r["key"]: r for r in uploaded.json()["results"]}
        expected = {
            too_much["key"]: (422, "amount", "The refund is larger than what is left of this purchase."),
            unknown_receipt["key"]: (404, "purchase", "This outlet has no purchase with this receipt."),
            foreign_id_refund["key"]: (404, "purchase", "This outlet has no purchase with this receipt."),
            unknown_sale["key"]: (404, "sale_key", "The sale this refund is for was not recorded."),
            bad_amount["key"]: (422, "amount", "The amount must be greater than zero."),
        }
        for key, (status, field, reason) in expected.items():
            assert (results[key]["outcome"], results[key]["status"], results[key]["field"], results[key]["reason"]) == (
                "refused",
                status,
                field,
                reason,
            )
        assert (results[before_purchase["key"]]["status"], results[before_purchase["key"]]["field"]) == (
            422,
            "occurred_at",
        )
        assert results[good["key"]]["outcome"] == "recorded"
        assert await balance_of(http, shop.shop_key, "5000-0001") == 105 + 60 - 15
        # the rest refunded whole, then once more: nothing is left
        rest, once_more = _refund(purchase=purchase_id, minutes_ago=-1), _refund(purchase="R-2001", minutes_ago=-1)
        answer = (await _upload(http, csrf, {"refunds": [rest, once_more]})).json()
        assert [(r["outcome"], r.get("amount"), r.get("points_clawed_back")) for r in answer["results"][:1]] == [
            ("recorded", "1500.00", 45)
        ]
        assert answer["results"][1]["reason"] == "This purchase is refunded in full already."
        assert await balance_of(http, shop.shop_key, "5000-0001") == 105
        reused = await _upload(http, csrf, {"refunds": [{**good, "amount": "600.00"}]})  # its key, another refund
        assert (reused.json()["results"][0]["outcome"], reused.json()["results"][0]["status"]) == ("refused", 422)
        ru = await _upload(http, csrf, {"refunds": [unknown_sale]}, language="ru")
        assert ru.json()["results"][0]["reason"] == "Продажа, к которой относится этот возврат, не записана."
        assert await balance_of(http, shop.shop_key, "5000-0001") == 105


async def test_bad_refunds_are_a_problem_naming_the_field_and_write_nothing(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        sale = _sale("5000-0001", "400.00")
        refund = _refund(purchase="R-1")
        before = await table_counts(services)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"refunds": [{**refund, "key": "not-a-uuid"}]}, "refunds[0].key"),
            ({"refunds": [refund, {**refund, "sale_key": sale["key"]}]}, "refunds[1].purchase"),  # both ways
            ({"refunds": [{k: v for k, v in refund.items() if k != "purchase"}]}, "refunds[0].purchase"),  # neither
            ({"refunds": [{**refund, "purchase": "  "}]}, "refunds[0].purchase"),
            ({"refunds": [{**refund, "sale_key": "web-1"}]}, "refunds[0].sale_key"),
            ({"refunds": [{**refund, "amount": 400}]}, "refunds[0].amount"),
            ({"refunds": [{**refund, "amount": ""}]}, "refunds[0].amount"),
            ({"refunds": [{**refund, "points": "10"}]}, "refunds[0].points"),
            ({"refunds": [{**refund, "occurred_at": "2026-12-06T10:00:00"}]}, "refunds[0].occurred_at"),
            ({"refunds": [{**refund, "purchase": "R\x001"}]}, "refunds[0].purchase"),
            ({"refunds": [{**refund, "purchase": "R" * 101}]}, "refunds[0].purchase"),
            ({"refunds": "all of them"}, "refunds"),
            ({"sales": [], "refunds": []}, "sales"),
            ({"refunds": [_refund(purchase="R-1") for _ in range(MAX_OFFLINE_REFUNDS + 1)]}, "refunds"),
            ({"sales": [sale], "refunds": [{**refund, "amount": "1" * 40}]}, "refunds[0].amount"),
        ]
        for body, field in cases:
            assert_problem(await _upload(http, csrf, body), 422, "invalid-input", field)
        huge = {"refunds": [{**refund, "purchase": "R" * 100} for _ in range(500)]}
        assert_problem(await _upload(http, csrf, huge), 413, "body-too-large", "body")
        assert await table_counts(services) == before


async def test_the_refund_page_finds_a_purchase_of_the_outlet_by_receipt_or_id(services: Services) -> None:
    shop = await _shop(services)
    other = await _shop(services, "other", "7000-0001")
    async with client(services) as http:
        purchase_id = await _bought_online(http, shop)
        foreign_id = (await buy(http, other.shop_key, "7000-0001", "100.00", receipt="R-7")).json()["id"]
        await _signed_in(http, shop)
        page = await http.get("/terminal/refund")
        assert page.status_code == 200 and 'id="offline-refund-template"' in page.text
        for typed in (" R-2001 ", purchase_id, purchase_id.upper()):
            found = await http.get("/terminal/refund", params={"purchase": typed})
            assert (found.status_code, found.headers.get("location")) == (
                303,
                f"/terminal/purchases/{purchase_id}/refund",
            )
        for typed in ("R-7", foreign_id, "R" * 101, "web-unknown"):
            missing = await http.get("/terminal/refund", params={"purchase": typed})
            assert missing.status_code == 404
            assert "This outlet has no purchase with this receipt." in missing.text
        assert (await http.get("/terminal/refund", params={"purchase": "R\x002001"})).status_code == 422


async def test_the_same_queue_uploaded_twice_at_once_refunds_once(services: Services) -> None:
    """A second tab, or a retry racing the first: each sale and each refund is recorded by one and replayed by the
    other, whichever engine and whichever wins."""
    shop = await _shop(services)
    async with client(services) as first, client(services) as second:
        purchase_id = await _bought_online(first, shop)
        sale = _sale("5000-0001", "1000.00", minutes_ago=3)  # +30
        body = {
            "sales": [sale],
            "refunds": [
                _refund(sale=sale, amount="400.00", minutes_ago=2),  # −12
                _refund(purchase=purchase_id, minutes_ago=-1),  # all 2,000.00: −60
                _refund(purchase="R-2001", amount="99999999999999999999999999.99", minutes_ago=-1),  # refused
            ],
        }
        csrfs = [await _signed_in(http, shop) for http in (first, second)]
        answers: list[httpx.Response] = []

        async def send(http: httpx.AsyncClient, csrf: str) -> None:
            answers.append(await _upload(http, csrf, body))

        async with anyio.create_task_group() as group:
            group.start_soon(send, first, csrfs[0])
            group.start_soon(send, second, csrfs[1])
        assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
        outcomes = sorted(r["outcome"] for answer in answers for r in answer.json()["results"])
        assert outcomes == ["recorded"] * 3 + ["refused"] * 2 + ["replayed"] * 3, [
            (r["kind"], r["outcome"], r.get("reason")) for answer in answers for r in answer.json()["results"]
        ]
        assert await balance_of(first, shop.shop_key, "5000-0001") == 105 + 60 + 30 - 12 - 60 == 123
