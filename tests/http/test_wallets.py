"""Prepaid wallets through the HTTP API on both engines (issue 14): top up at one outlet, pay at another, credit and
daily limits, the permissions matrix, bad input, idempotency, concurrent payments and a refund into the wallet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.support import assert_problem, auth, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "7700-0001"


async def top_up(http: httpx.AsyncClient, key: str, amount: str, *, card: str = CARD, **extra: Any) -> httpx.Response:
    return await http.post(
        "/v1/wallets/top-ups", json={"customer": card, "amount": amount, **extra}, headers=auth(key, new_key())
    )


async def pay(
    http: httpx.AsyncClient, key: str, amount: str, tenders: list[dict[str, Any]], *, card: str = CARD, **extra: Any
) -> httpx.Response:
    body = {"customer": card, "amount": amount, "receipt": new_key(), "tenders": tenders, **extra}
    return await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))


async def wallet(http: httpx.AsyncClient, key: str, card: str = CARD) -> dict[str, Any]:
    response = await http.get(f"/v1/members/{card}/wallet", headers=auth(key))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def prepaid_positions(services) -> dict[str, int]:
    """Each partner's PREPAID balance, from the postings: + the node owes the partner."""
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.text(
                "SELECT pa.name, COALESCE(SUM(p.amount), 0) FROM accounts a JOIN partners pa ON pa.id = a.owner_id "
                "LEFT JOIN postings p ON p.account_id = a.id WHERE a.purpose = 'prepaid' AND a.owner_kind = 'partner' "
                "GROUP BY pa.name"
            )
        )
        return {name: int(total) for name, total in rows}


async def test_top_up_at_the_shop_then_pay_at_the_cafe(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        empty = await wallet(http, net.shop_key)
        assert (empty["balance"], empty["available"], empty["status"]) == ("0.00", "0.00", "open")

        topped = await top_up(http, net.shop_key, "100.00")
        assert topped.status_code == 201, topped.text
        assert (topped.json()["balance"], topped.json()["topped_up"], topped.json()["currency"]) == (
            "100.00",
            "100.00",
            "RUB",
        )

        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": CARD, "amount": "250.00", "tenders": [{"kind": "wallet"}]},
            headers=auth(net.cafe_key),
        )
        assert quote.status_code == 200, quote.text
        assert quote.json()["tenders"] == [{"kind": "wallet", "amount": "100.00", "label": "wallet RUB"}]
        assert quote.json()["to_collect"] == "150.00"

        paid = await pay(http, net.cafe_key, "250.00", [{"kind": "wallet", "amount": "60.00"}])
        assert paid.status_code == 201, paid.text
        body = paid.json()
        assert body["tenders"] == [{"kind": "wallet", "amount": "60.00", "label": "wallet RUB"}]
        assert (body["amount_due"], body["to_collect"]) == ("250.00", "190.00")
        plain = await pay(http, net.cafe_key, "250.00", [])
        assert plain.json()["points_earned"] == body["points_earned"]  # earned on what the wallet paid too
        assert "tenders" not in plain.json()

        after = await wallet(http, net.cafe_key)
        assert (after["balance"], after["available"]) == ("40.00", "40.00")
        history = await http.get(f"/v1/members/{CARD}/wallet/history", headers=auth(net.shop_key))
        assert [(line["kind"], line["amount"], line["balance_after"]) for line in history.json()["lines"]] == [
            ("top_up", "100.00", "100.00"),
            ("purchase", "-60.00", "40.00"),
        ]
        assert await prepaid_positions(services) == {"Shop": -10000, "Cafe": 6000}
    assert await verify(services.engine) == []


async def test_paying_more_than_the_wallet_is_refused_and_writes_nothing(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await top_up(http, net.shop_key, "50.00")
        before = await table_counts(services)
        too_much = await pay(http, net.cafe_key, "100.00", [{"kind": "wallet", "amount": "50.01"}])
        assert_problem(too_much, 422, "insufficient-funds", "tenders[0].amount")
        more_than_due = await pay(http, net.cafe_key, "10.00", [{"kind": "wallet", "amount": "20.00"}])
        assert_problem(more_than_due, 422, "invalid-input", "tenders[0].amount")
        assert await table_counts(services) == before
        assert (await wallet(http, net.shop_key))["balance"] == "50.00"


async def test_credit_limit_lets_the_wallet_go_below_zero_down_to_it(services):
    net = await make_network(services)
    async with client(services) as http:
        member = await enrol(http, net.shop_key, CARD)
        member_id = member["member"]["id"] if "member" in member else member["id"]
        await top_up(http, net.shop_key, "10.00")
        limits = await http.put(
            f"/v1/admin/members/{member_id}/wallet", json={"credit_limit": "30.00"}, headers=auth(net.admin_key)
        )
        assert limits.status_code == 200, limits.text
        assert (limits.json()["credit_limit"], limits.json()["available"]) == ("30.00", "40.00")
        paid = await pay(http, net.cafe_key, "100.00", [{"kind": "wallet"}])
        assert paid.status_code == 201, paid.text
        assert paid.json()["tenders"][0]["amount"] == "40.00"
        assert (await wallet(http, net.cafe_key))["balance"] == "-30.00"
        refused = await pay(http, net.cafe_key, "100.00", [{"kind": "wallet"}])
        assert_problem(refused, 422, "insufficient-funds", "tenders[0]")
        lower = await http.put(
            f"/v1/admin/members/{member_id}/wallet", json={"credit_limit": "10.00"}, headers=auth(net.admin_key)
        )
        assert_problem(lower, 422, "invalid-input", "credit_limit")
    assert await verify(services.engine) == []


async def test_the_daily_spending_limit(services):
    net = await make_network(services)
    async with client(services) as http:
        member = await enrol(http, net.shop_key, CARD)
        member_id = member["member"]["id"] if "member" in member else member["id"]
        await top_up(http, net.shop_key, "500.00")
        limits = await http.put(
            f"/v1/admin/members/{member_id}/wallet", json={"daily_spend_limit": "80.00"}, headers=auth(net.admin_key)
        )
        assert limits.status_code == 200, limits.text
        assert (await pay(http, net.cafe_key, "50.00", [{"kind": "wallet"}])).status_code == 201
        assert (await wallet(http, net.cafe_key))["daily_left"] == "30.00"
        refused = await pay(http, net.cafe_key, "50.00", [{"kind": "wallet", "amount": "31.00"}])
        assert_problem(refused, 422, "insufficient-funds", "tenders[0].amount")
        partly = await pay(http, net.cafe_key, "50.00", [{"kind": "wallet"}])
        assert (partly.json()["tenders"][0]["amount"], partly.json()["to_collect"]) == ("30.00", "20.00")


async def test_the_matrix_decides_where_wallets_are_topped_up_and_spent(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        matrix = {
            "entries": [
                {"outlet": "Shop till", "counter": "wallet:RUB", "operations": ["top_up"]},
                {"outlet": "Shop till", "counter": "points", "operations": ["accrue"]},
                {"outlet": "Cafe till", "counter": "wallet:RUB", "operations": ["spend"]},
                {"outlet": "Cafe till", "counter": "points", "operations": ["accrue"]},
            ]
        }
        assert (await http.put("/v1/admin/permissions", json=matrix, headers=auth(net.admin_key))).status_code == 200
        before = await table_counts(services)
        assert_problem(await top_up(http, net.cafe_key, "10.00"), 403, "forbidden")
        assert await table_counts(services) == before
        assert (await top_up(http, net.shop_key, "10.00")).status_code == 201
        assert_problem(await pay(http, net.shop_key, "10.00", [{"kind": "wallet"}]), 403, "forbidden")
        assert (await pay(http, net.cafe_key, "10.00", [{"kind": "wallet"}])).status_code == 201


async def test_bad_top_ups_are_refused_naming_the_field_and_write_nothing(services):
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await enrol(http, other.shop_key, "7700-0999")
        before = await table_counts(services)
        cases = [
            ({"amount": "-5.00"}, "amount"),
            ({"amount": "0.00"}, "amount"),
            ({"amount": "99999999999999.00"}, "amount"),
            ({"amount": "1\u0000"}, "amount"),
            ({"amount": "abc"}, "amount"),
            ({"amount": "10.00", "currency": "EUR"}, "currency"),
        ]
        for extra, field in cases:
            response = await http.post(
                "/v1/wallets/top-ups", json={"customer": CARD, **extra}, headers=auth(net.shop_key, new_key())
            )
            assert response.status_code == 422, (extra, response.text)
            assert response.json()["field"] == field, (extra, response.json())
        elsewhere = await top_up(http, net.shop_key, "10.00", card="7700-0999")
        assert_problem(elsewhere, 404, "member-not-found", "customer")
        bad_tender = await pay(http, net.cafe_key, "10.00", [{"kind": "cash"}])
        assert bad_tender.status_code == 422 and bad_tender.json()["field"].startswith("tenders[0]")
        for amount in ("-1.00", "0.00", "99999999999999.00", "1\u0000", "1e3"):
            refused = await pay(http, net.cafe_key, "10.00", [{"kind": "wallet", "amount": amount}])
            assert refused.status_code == 422, (amount, refused.text)
            assert refused.json()["field"] == "tenders[0].amount", (amount, refused.json())
        nine = await pay(http, net.cafe_key, "10.00", [{"kind": "wallet", "amount": "0.01"}] * 9)
        assert nine.status_code == 422 and nine.json()["field"] == "tenders", nine.text
        assert_problem(
            await http.get("/v1/members/7700-0999/wallet", headers=auth(net.shop_key)), 404, "member-not-found"
        )
        other_member = (await wallet(http, other.shop_key, "7700-0999"))["member"]
        stranger = await http.put(
            f"/v1/admin/members/{other_member}/wallet", json={"credit_limit": "5.00"}, headers=auth(net.admin_key)
        )
        assert_problem(stranger, 404, "member-not-found", "member_id")
        assert await table_counts(services) == before


async def test_a_top_up_retried_with_its_key_replays_and_another_body_is_refused(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        key = new_key()
        body = {"customer": CARD, "amount": "25.00"}
        first = await http.post("/v1/wallets/top-ups", json=body, headers=auth(net.shop_key, key))
        again = await http.post("/v1/wallets/top-ups", json=body, headers=auth(net.shop_key, key))
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
        other = await http.post(
            "/v1/wallets/top-ups", json={**body, "amount": "26.00"}, headers=auth(net.shop_key, key)
        )
        assert other.status_code in (409, 422), other.text
        assert (await wallet(http, net.shop_key))["balance"] == "25.00"

        purchase_key = new_key()
        purchase = {"customer": CARD, "amount": "10.00", "receipt": "R-1", "tenders": [{"kind": "wallet"}]}
        paid = await http.post("/v1/purchases", json=purchase, headers=auth(net.cafe_key, purchase_key))
        repaid = await http.post("/v1/purchases", json=purchase, headers=auth(net.cafe_key, purchase_key))
        assert paid.status_code == repaid.status_code == 201 and repaid.json() == paid.json()
        changed = {**purchase, "tenders": [{"kind": "wallet", "amount": "5.00"}]}
        misused = await http.post("/v1/purchases", json=changed, headers=auth(net.cafe_key, purchase_key))
        assert misused.status_code in (409, 422), misused.text
        assert (await wallet(http, net.shop_key))["balance"] == "15.00"


async def test_fifty_concurrent_payments_of_30_from_100_without_credit_exactly_three_succeed(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await top_up(http, net.shop_key, "100.00")
        statuses: list[int] = []

        async def one() -> None:
            response = await pay(http, net.cafe_key, "30.00", [{"kind": "wallet", "amount": "30.00"}])
            assert response.status_code in (201, 409, 422), response.text
            statuses.append(response.status_code)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one)
        assert statuses.count(201) == 3, statuses
        assert (await wallet(http, net.shop_key))["balance"] == "10.00"
    assert await verify(services.engine) == []


async def test_a_refund_returns_money_to_the_wallet_and_a_closed_wallet_refuses_it(services):
    net = await make_network(services)
    async with client(services) as http:
        member = await enrol(http, net.shop_key, CARD)
        member_id = member["member"]["id"] if "member" in member else member["id"]
        await top_up(http, net.cafe_key, "100.00")
        paid = await pay(http, net.cafe_key, "200.00", [{"kind": "wallet", "amount": "80.00"}])
        purchase_id = paid.json()["id"]
        refund = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={"amount": "50.00"}, headers=auth(net.cafe_key, new_key())
        )
        assert refund.status_code == 201, refund.text
        assert (refund.json()["to_wallet"], refund.json()["money_back"]) == ("20.00", "30.00")
        assert (await wallet(http, net.cafe_key))["balance"] == "40.00"

        closed = await http.post(f"/v1/admin/members/{member_id}/wallet/close", headers=auth(net.admin_key))
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        before = await table_counts(services)
        refused = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={"amount": "50.00"}, headers=auth(net.cafe_key, new_key())
        )
        assert_problem(refused, 409, "conflict", "wallet")
        assert await table_counts(services) == before
        assert_problem(await pay(http, net.cafe_key, "10.00", [{"kind": "wallet"}]), 422, "insufficient-funds")
    assert await verify(services.engine) == []


async def test_verify_finds_a_wallet_whose_balance_is_not_its_postings(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await top_up(http, net.shop_key, "10.00")
    assert await verify(services.engine) == []
    async with services.engine.begin() as connection:
        await connection.execute(sa.text("UPDATE wallets SET balance_minor = balance_minor + 1"))
    assert [v.check.name for v in await verify(services.engine)] == ["wallet-balances-equal-postings"]


async def test_a_batch_and_an_offline_upload_pay_with_the_wallet_each_seeing_the_earlier_ones(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await top_up(http, net.shop_key, "100.00")
        sold_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

        def item(amount: str, tender: dict[str, Any], **extra: Any) -> dict[str, Any]:
            return {"customer": CARD, "amount": amount, "receipt": new_key(), "idempotency_key": new_key(),
                    "tenders": [tender], **extra}  # fmt: skip

        batch = {
            "purchases": [
                item("70.00", {"kind": "wallet"}, occurred_at=sold_at),
                item("50.00", {"kind": "wallet"}),
                item("50.00", {"kind": "wallet", "amount": "1.00"}),
                item("50.00", {"kind": "wallet", "amount": "1\u0000"}),
            ]
        }
        response = await http.post("/v1/purchases/batch", json=batch, headers=auth(net.cafe_key))
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["status"] for r in results] == [201, 201, 422, 422], results
        assert [(r["body"]["tenders"][0]["amount"], r["body"]["to_collect"]) for r in results[:2]] == [
            ("70.00", "0.00"),
            ("30.00", "20.00"),
        ]
        assert (results[2]["problem"]["field"], results[3]["problem"]["field"]) == (
            "tenders[0].amount",
            "tenders[0].amount",
        )
        assert results[2]["problem"]["detail"] == "the wallet can pay at most 0.00 RUB now"
        assert (await wallet(http, net.shop_key))["balance"] == "0.00"
    assert await verify(services.engine) == []


async def test_wallet_reads_by_identifier_spend_the_tills_budget_of_lookups(services):
    net = await make_network(services)
    async with client(services) as http:
        for number in range(10):  # someone trying card numbers through the wallet
            missing = await http.get(f"/v1/members/7700-1{number:03d}/wallet", headers=auth(net.shop_key))
            assert missing.status_code == 404
        refused = await http.get("/v1/members/7700-1999/wallet/history", headers=auth(net.shop_key))
        assert_problem(refused, 429, "rate-limited", "identifier")


async def test_the_database_refuses_an_overdraw_a_stale_read_let_through(services, monkeypatch):
    """What a payment that lost a race meets: its read said there was money, the write finds none. The wallets'
    CHECK refuses the purchase's write (PostgreSQL: inside its one statement), and nothing of it is written."""
    from dataclasses import replace

    from coalition.adapters.storage import pos_ledger

    read = pos_ledger.paying_wallet  # what the member's read makes of the wallet's columns

    def stale(*args):  # the balance as it was before a concurrent payment took 1,000.00
        paying = read(*args)
        wallet = paying.wallet
        return replace(
            paying, wallet=None if wallet is None else replace(wallet, balance_minor=wallet.balance_minor + 100_000)
        )

    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await top_up(http, net.shop_key, "100.00")
        await pay(http, net.cafe_key, "1.00", [{"kind": "wallet"}])  # the PREPAID account exists
        monkeypatch.setattr(pos_ledger, "paying_wallet", stale)
        before = await table_counts(services)
        refused = await pay(http, net.cafe_key, "150.00", [{"kind": "wallet", "amount": "150.00"}])
        assert_problem(refused, 422, "insufficient-funds", "tenders[0].amount")
        assert await table_counts(services) == before
        assert (await wallet(http, net.shop_key))["balance"] == "99.00"
    assert await verify(services.engine) == []
