"""The web terminal's offline upload (POST /terminal/offline-sales) over HTTP on both engines: the queue recorded once
through the batch path for the signed-in cashier, a replayed upload doubling nothing, a partly refused upload keeping
its refusals with the cashier's words, bad input as problem+json naming the field; and the installable page's manifest
and service worker with their types and security headers.

The test network's shop runs the small-shop program: 3 % of a check below a lifetime spend of 10,000.00. Card
5000-0001 bought for 3,500.00 before: 105 points."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import text

from coalition.adapters.storage.tables import purchases
from coalition.adapters.web.terminal_offline import MAX_OFFLINE_SALES
from coalition.wiring import Services
from tests.support import Network, assert_problem, balance_of, buy, client, enrol, make_network, table_counts
from tests.web.support import csrf_token, sign_in_cashier

pytestmark = pytest.mark.anyio
MOSCOW = timezone(timedelta(hours=3))


class Shop:
    def __init__(self, services: Services, network: Network, outlet_id: int) -> None:
        self.services, self.network, self.outlet_id = services, network, outlet_id
        self.shop_key = network.shop_key


async def _shop(services: Services, code: str = "shop", card: str = "5000-0001") -> Shop:
    network = await make_network(services, code)
    listing = await services.admin.listing(network.ref)
    outlet_id = listing["outlets"][0]["id"]
    await services.admin.create_cashier(network.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    async with client(services) as http:
        await enrol(http, network.shop_key, card)
        assert (await buy(http, network.shop_key, card, "3500.00")).status_code == 201  # 105 points
    return Shop(services, network, outlet_id)


async def _signed_in(http: httpx.AsyncClient, shop: Shop) -> str:
    assert (await sign_in_cashier(http, shop.outlet_id, "anna", "anna-secret-1")).status_code == 303
    return csrf_token((await http.get("/terminal")).text)


def _sale(customer: str, amount: str, minutes_ago: int = 60, key: str | None = None) -> dict[str, str]:
    moment = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).astimezone(MOSCOW).replace(microsecond=0)
    return {"key": key or str(uuid.uuid4()), "customer": customer, "amount": amount, "occurred_at": moment.isoformat()}


async def _upload(http: httpx.AsyncClient, csrf: str, sales: list[dict[str, Any]] | Any) -> httpx.Response:
    body = {"sales": sales} if isinstance(sales, list) else sales
    headers = {"X-CSRF-Token": csrf, "X-Requested-With": "fetch"}
    return await http.post("/terminal/offline-sales", json=body, headers=headers)


async def _offline_purchases(services: Services) -> list[tuple[str, int, int, int, str]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT receipt, check_minor, points_redeemed, points_earned, cashier_login FROM purchases "
                "WHERE receipt LIKE 'web-%' ORDER BY check_minor DESC"
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_queue_uploads_once_and_a_replayed_upload_doubles_nothing(services: Services) -> None:
    shop = await _shop(services)
    first, second = _sale("5000-0001", "1 500,00", 90), _sale("5000-0001", "400.00", 30)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        uploaded = await _upload(http, csrf, [first, second])
        assert uploaded.status_code == 200, uploaded.text
        answer = uploaded.json()
        assert (answer["recorded"], answer["replayed"], answer["refused"]) == (2, 0, 0)
        assert [(r["key"], r["outcome"], r["points_earned"]) for r in answer["results"]] == [
            (first["key"], "recorded", 45),  # 3 % of 1,500.00
            (second["key"], "recorded", 12),  # 3 % of 400.00
        ]
        assert await balance_of(http, shop.shop_key, "5000-0001") == 105 + 45 + 12
        assert await _offline_purchases(services) == [
            (f"web-{first['key']}", 1500_00, 0, 45, "anna"),
            (f"web-{second['key']}", 400_00, 0, 12, "anna"),
        ]
        async with services.engine.connect() as connection:
            found = await connection.execute(
                sa.select(purchases.c.occurred_at, purchases.c.recorded_at).where(
                    purchases.c.receipt == f"web-{first['key']}"
                )
            )
            occurred_at, recorded_at = found.one()
        assert timedelta(minutes=89) < recorded_at - occurred_at < timedelta(minutes=91)  # priced at its own time
        before = await table_counts(services)
        again = await _upload(http, csrf, [first, second])  # the answer was lost: the page sends the same queue
        assert again.status_code == 200
        assert [(r["outcome"], r["points_earned"]) for r in again.json()["results"]] == [
            ("replayed", 45),
            ("replayed", 12),
        ]
        assert await table_counts(services) == before
        assert await balance_of(http, shop.shop_key, "5000-0001") == 162
        receipt = await http.get(f"/terminal/receipts/{first['key']}")  # each offline sale has its receipt
        assert receipt.status_code == 200 and "1,500.00" in receipt.text


async def test_a_partly_refused_upload_records_the_rest_and_says_why_for_each(services: Services) -> None:
    shop = await _shop(services)
    await _shop(services, "other", "7000-0001")  # another network's card: unknown at this shop
    good, unknown, foreign = _sale("5000-0001", "400.00"), _sale("5000-9999", "300.00"), _sale("7000-0001", "200")
    too_old = _sale("5000-0001", "100.00", minutes_ago=73 * 60)  # beyond the 72 hours a till's time may go back
    bad_amount = _sale("5000-0001", "12,34,5")
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        uploaded = await _upload(http, csrf, [good, unknown, foreign, too_old, bad_amount])
        assert uploaded.status_code == 200, uploaded.text
        results = {r["key"]: r for r in uploaded.json()["results"]}
        assert results[good["key"]]["outcome"] == "recorded"
        for refused in (unknown, foreign):
            assert {k: results[refused["key"]][k] for k in ("outcome", "status", "field", "reason")} == {
                "outcome": "refused",
                "status": 404,
                "field": "customer",
                "reason": "No customer has this card number or phone.",
            }
        assert (results[too_old["key"]]["status"], results[too_old["key"]]["field"]) == (422, "occurred_at")
        assert results[bad_amount["key"]]["reason"] == "Enter an amount such as 1500.00."
        assert await balance_of(http, shop.shop_key, "5000-0001") == 105 + 12
        assert len(await _offline_purchases(services)) == 1
        # the page keeps the refused ones; sent again with the recorded one, nothing doubles and nothing is lost
        again = await _upload(http, csrf, [good, unknown])
        assert [r["outcome"] for r in again.json()["results"]] == ["replayed", "refused"]
        # a key sent again for another sale is refused, not booked
        reused = await _upload(http, csrf, [{**good, "amount": "999.00"}])
        assert reused.json()["results"][0]["outcome"] == "refused"
        assert reused.json()["results"][0]["status"] == 422
        assert await balance_of(http, shop.shop_key, "5000-0001") == 117
        ru = await http.post(
            "/terminal/offline-sales",
            json={"sales": [unknown]},
            headers={"X-CSRF-Token": csrf, "X-Requested-With": "fetch", "Accept-Language": "ru"},
        )
        assert ru.json()["results"][0]["reason"] == "Покупателя с таким номером карты или телефоном нет."


async def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        before = await table_counts(services)
        sale = _sale("5000-0001", "400.00")
        cases: list[tuple[Any, str]] = [
            ([{**sale, "key": "not-a-uuid"}], "sales[0].key"),
            ([sale, {**sale, "key": str(uuid.uuid4()), "occurred_at": "2026-12-06T10:00:00"}], "sales[1].occurred_at"),
            ([{**sale, "amount": 400}], "sales[0].amount"),
            ([{**sale, "points": "10"}], "sales[0].points"),  # offline sales spend no points
            ([{k: v for k, v in sale.items() if k != "customer"}], "sales[0].customer"),
            ([], "sales"),
            ({"sales": "all of them"}, "sales"),
            ({}, "sales"),
            ([_sale("5000-0001", "1.00") for _ in range(MAX_OFFLINE_SALES + 1)], "sales"),
            ([{**sale, "customer": "5000\x000001"}], "sales[0].customer"),
        ]
        for body, field in cases:
            assert_problem(await _upload(http, csrf, body), 422, "invalid-input", field)
        not_json = await http.post(
            "/terminal/offline-sales",
            content=b"{sales",
            headers={"X-CSRF-Token": csrf, "X-Requested-With": "fetch", "Content-Type": "application/json"},
        )
        assert_problem(not_json, 422, "invalid-input", "body")
        huge = await _upload(http, csrf, [{**sale, "customer": "5" * 256} for _ in range(300)])
        assert_problem(huge, 413, "body-too-large", "body")
        no_token = await http.post(
            "/terminal/offline-sales", json={"sales": [sale]}, headers={"X-Requested-With": "fetch"}
        )
        assert_problem(no_token, 403, "csrf-rejected", "csrf_token")
        assert await table_counts(services) == before
    async with client(services) as anonymous:
        signed_out = await _upload(anonymous, csrf, [sale])
        assert_problem(signed_out, 401, "unauthorized")
    assert await table_counts(services) == before


async def test_the_installable_terminal_has_its_manifest_and_service_worker(services: Services) -> None:
    async with client(services) as http:
        manifest = await http.get("/terminal/manifest.webmanifest")
        assert manifest.status_code == 200
        assert manifest.headers["content-type"] == "application/manifest+json"
        body = manifest.json()
        assert (body["start_url"], body["scope"], body["display"]) == ("/terminal", "/terminal", "standalone")
        assert {icon["sizes"] for icon in body["icons"]} == {"192x192", "512x512", "any"}
        for icon in body["icons"]:
            served = await http.get(icon["src"])
            assert served.status_code == 200 and served.headers["content-type"].startswith(icon["type"])
        assert (await http.get("/terminal/manifest.webmanifest", headers={"Accept-Language": "ru"})).json()[
            "name"
        ] == "Терминал Coalition"
        worker = await http.get("/terminal/sw.js")
        assert worker.status_code == 200
        assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
        assert worker.headers["service-worker-allowed"] == "/terminal"
        assert 'addEventListener("fetch"' in worker.text
        for answer in (manifest, worker):
            policy = answer.headers["content-security-policy"]
            assert "worker-src 'self'" in policy and "manifest-src 'self'" in policy and "script-src 'self'" in policy
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["x-frame-options"] == "DENY"
        page = await http.get("/terminal/login")
        assert page.headers["content-security-policy"] == manifest.headers["content-security-policy"]


async def test_two_cashiers_uploading_for_one_card_at_once_lose_and_double_nothing(services: Services) -> None:
    shop = await _shop(services)
    await services.admin.create_cashier(shop.network.ref, shop.outlet_id, "olga", "Olga", "olga-secret-1")
    anna_sales = [_sale("5000-0001", "1000.00", minutes) for minutes in (50, 40, 30)]  # 30 points each
    olga_sales = [_sale("5000-0001", "200.00", minutes) for minutes in (45, 35, 25)]  # 6 points each
    async with client(services) as anna, client(services) as olga:
        anna_csrf = await _signed_in(anna, shop)
        assert (await sign_in_cashier(olga, shop.outlet_id, "olga", "olga-secret-1")).status_code == 303
        olga_csrf = csrf_token((await olga.get("/terminal")).text)
        answers: list[httpx.Response] = []

        async def send(http: httpx.AsyncClient, csrf: str, sales: list[dict[str, str]]) -> None:
            answers.append(await _upload(http, csrf, sales))

        async with anyio.create_task_group() as group:
            group.start_soon(send, anna, anna_csrf, anna_sales)
            group.start_soon(send, olga, olga_csrf, olga_sales)
            group.start_soon(send, anna, anna_csrf, anna_sales)  # the same queue twice at once: a retry racing
        assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
        outcomes = sorted(r["outcome"] for answer in answers for r in answer.json()["results"])
        assert outcomes.count("recorded") == 6 and outcomes.count("replayed") == 3, [a.json() for a in answers]
        assert await balance_of(anna, shop.shop_key, "5000-0001") == 105 + 3 * 30 + 3 * 6
        cashiers = sorted(row[4] for row in await _offline_purchases(services))
        assert cashiers == ["anna"] * 3 + ["olga"] * 3
