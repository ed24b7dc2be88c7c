"""Gift cards as a purchase's tender through the HTTP API on both engines (issue 14, MONEY.md): a card, a wallet and
cash paying one check (quote = purchase, exact figures), refunds back onto the card and the wallet, every kind of bad
card refused naming the tender and writing nothing, retries replayed, batches and offline uploads, concurrent spends
of one card."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from coalition.wiring import build_services
from tests.support import assert_problem, auth, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "7700-0001"


async def sell(http: httpx.AsyncClient, key: str, amount: str, **extra: Any) -> str:
    sold = await http.post("/v1/gift-cards", json={"amount": amount, **extra}, headers=auth(key, new_key()))
    assert sold.status_code == 201, sold.text
    number: str = sold.json()["number"]
    return number


async def pay(
    http: httpx.AsyncClient,
    key: str,
    amount: str,
    tenders: list[dict[str, Any]],
    *,
    card: str = CARD,
    idempotency_key: str | None = None,
    receipt: str | None = None,
) -> httpx.Response:
    body = {"customer": card, "amount": amount, "receipt": receipt or new_key(), "tenders": tenders}
    return await http.post("/v1/purchases", json=body, headers=auth(key, idempotency_key or new_key()))


async def refund(http: httpx.AsyncClient, key: str, purchase_id: str, amount: str) -> dict[str, Any]:
    response = await http.post(
        f"/v1/purchases/{purchase_id}/refunds", json={"amount": amount}, headers=auth(key, new_key())
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def card_state(services, number: str) -> tuple[int, str]:
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.text("SELECT balance_minor, status FROM gift_cards WHERE number = :n"), {"n": number}
            )
        ).one()
        return int(row[0]), str(row[1])


async def set_card(services, number: str, assignment: str, **values: Any) -> None:
    async with services.engine.begin() as connection:
        await connection.execute(
            sa.text(f"UPDATE gift_cards SET {assignment} WHERE number = :n"), {"n": number, **values}
        )


async def expire(services, number: str) -> None:
    """The card's validity ended a second ago (not swept yet)."""
    now = datetime.now(UTC)
    await set_card(
        services, number, "valid_from = :f, valid_until = :t", f=now - timedelta(days=2), t=now - timedelta(seconds=1)
    )


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


async def wallet_balance(http: httpx.AsyncClient, key: str) -> str:
    response = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(key))
    assert response.status_code == 200, response.text
    balance: str = response.json()["balance"]
    return balance


async def test_a_card_a_wallet_and_cash_pay_one_check_and_refunds_go_back_where_they_came_from(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        number = await sell(http, net.shop_key, "100.00", pin="1234")
        topped = await http.post(
            "/v1/wallets/top-ups", json={"customer": CARD, "amount": "50.00"}, headers=auth(net.shop_key, new_key())
        )
        assert topped.status_code == 201, topped.text
        assert await prepaid_positions(services) == {"Shop": -15_000}  # the shop took 150.00 in cash

        tenders = [{"kind": "gift_card", "number": number, "pin": "1234", "amount": "70.00"}, {"kind": "wallet"}]
        paid_by = [
            {"kind": "gift_card", "amount": "70.00", "label": f"gift card …{number[-4:]}"},
            {"kind": "wallet", "amount": "50.00", "label": "wallet RUB"},
        ]
        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": CARD, "amount": "250.00", "tenders": tenders},
            headers=auth(net.cafe_key),
        )
        assert quote.status_code == 200, quote.text
        assert (quote.json()["tenders"], quote.json()["to_collect"], quote.json()["points_to_earn"]) == (
            paid_by,
            "130.00",
            7,  # 3 % of the whole 250.00 due: card and wallet money is payment, not discount
        )
        assert await card_state(services, number) == (10_000, "active")  # a quote takes nothing

        paid = await pay(http, net.cafe_key, "250.00", tenders)
        assert paid.status_code == 201, paid.text
        body = paid.json()
        assert (body["tenders"], body["to_collect"], body["amount_due"], body["points_earned"]) == (
            paid_by,
            "130.00",
            "250.00",
            7,
        )
        assert await card_state(services, number) == (3_000, "active")
        assert await wallet_balance(http, net.cafe_key) == "0.00"
        assert await prepaid_positions(services) == {"Shop": -15_000, "Cafe": 12_000}

        partial = await refund(http, net.cafe_key, body["id"], "100.00")  # 100/250 of each tender, newest first
        assert (partial["to_gift_cards"], partial["to_wallet"], partial["money_back"]) == (
            [{"number": number, "amount": "28.00"}],
            "20.00",
            "52.00",
        )
        assert await card_state(services, number) == (5_800, "active")
        assert await wallet_balance(http, net.cafe_key) == "20.00"

        rest = await refund(http, net.cafe_key, body["id"], "150.00")  # the rest: each tender exactly what it paid
        assert (rest["to_gift_cards"], rest["to_wallet"], rest["money_back"], rest["refundable_left"]) == (
            [{"number": number, "amount": "42.00"}],
            "30.00",
            "78.00",
            "0.00",
        )
        assert await card_state(services, number) == (10_000, "active")
        assert await wallet_balance(http, net.cafe_key) == "50.00"
        assert await prepaid_positions(services) == {"Shop": -15_000, "Cafe": 0}
    assert await verify(services.engine) == []


async def test_a_card_paying_it_all_is_spent_and_a_refund_makes_it_active_again(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        number = await sell(http, net.shop_key, "40.00")
        paid = await pay(http, net.cafe_key, "100.00", [{"kind": "gift_card", "number": number}])
        assert paid.status_code == 201, paid.text
        assert (paid.json()["tenders"][0]["amount"], paid.json()["to_collect"]) == ("40.00", "60.00")
        assert await card_state(services, number) == (0, "spent")
        before = await table_counts(services)
        spent = await pay(http, net.cafe_key, "10.00", [{"kind": "gift_card", "number": number}])
        assert_problem(spent, 409, "card-not-active", "tenders[0].number")
        assert await table_counts(services) == before
        back = await refund(http, net.cafe_key, paid.json()["id"], "50.00")
        assert (back["to_gift_cards"], back["money_back"]) == ([{"number": number, "amount": "20.00"}], "30.00")
        assert await card_state(services, number) == (2_000, "active")
    assert await verify(services.engine) == []


async def test_a_refund_to_a_card_expired_since_is_given_back_at_the_till_and_a_blocked_card_takes_it(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        expiring = await sell(http, net.shop_key, "100.00")
        blocked = await sell(http, net.shop_key, "100.00")
        first = await pay(http, net.cafe_key, "100.00", [{"kind": "gift_card", "number": expiring, "amount": "60.00"}])
        second = await pay(http, net.cafe_key, "100.00", [{"kind": "gift_card", "number": blocked, "amount": "60.00"}])
        assert first.status_code == second.status_code == 201, (first.text, second.text)
        await expire(services, expiring)
        block = await http.post(f"/v1/admin/gift-cards/{blocked}/block", headers=auth(net.admin_key))
        assert block.status_code == 200, block.text

        to_till = await refund(http, net.cafe_key, first.json()["id"], "50.00")
        assert (to_till["to_gift_cards"], to_till["money_back"]) == ([], "50.00")  # 30.00 of it was the card's
        assert await card_state(services, expiring) == (4_000, "active")  # untouched: its expiry sweeps 40.00
        to_card = await refund(http, net.cafe_key, second.json()["id"], "50.00")
        assert (to_card["to_gift_cards"], to_card["money_back"]) == ([{"number": blocked, "amount": "30.00"}], "20.00")
        assert await card_state(services, blocked) == (7_000, "blocked")
        assert await prepaid_positions(services) == {"Shop": -20_000, "Cafe": 12_000 - 3_000}
    assert await verify(services.engine) == []


async def test_every_bad_card_is_refused_naming_the_tender_and_writes_nothing(services):
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        good = await sell(http, net.shop_key, "100.00", pin="1234")
        foreign = await sell(http, other.shop_key, "100.00")
        expired = await sell(http, net.shop_key, "100.00")
        await expire(services, expired)
        early = await sell(http, net.shop_key, "100.00")
        await set_card(services, early, "valid_from = :t", t=datetime.now(UTC) + timedelta(days=1))  # before its end
        blocked = await sell(http, net.shop_key, "100.00")
        assert (
            await http.post(f"/v1/admin/gift-cards/{blocked}/block", headers=auth(net.admin_key))
        ).status_code == 200
        mistyped = good[:-1] + str((int(good[-1]) + 1) % 10)
        before = await table_counts(services)

        def card(number: str, **extra: Any) -> list[dict[str, Any]]:
            return [{"kind": "gift_card", "number": number, **extra}]

        cases = [
            (card("5555000011"), 404, "not-found", "tenders[0].number"),
            (card(mistyped, pin="1234"), 404, "not-found", "tenders[0].number"),
            (card(foreign), 404, "not-found", "tenders[0].number"),
            (card(expired), 409, "card-not-active", "tenders[0].number"),
            (card(early), 409, "card-not-active", "tenders[0].number"),
            (card(blocked), 409, "card-not-active", "tenders[0].number"),
            (card("12"), 422, "invalid-input", "tenders[0].number"),
            ([{"kind": "gift_card"}], 422, "invalid-input", "tenders[0].number"),
            (card("1234\u00005678"), 422, "invalid-input", "tenders[0].number"),
            (card(good), 422, "invalid-input", "tenders[0].pin"),  # it has a PIN: send it
            (card(good, pin="12\u000034"), 422, "invalid-input", "tenders[0].pin"),
            (card(good, pin="abcd"), 422, "invalid-input", "tenders[0].pin"),
            (card(good, pin="1234", amount="100.01"), 422, "insufficient-funds", "tenders[0].amount"),
            (card(good, pin="1234", amount="9" * 40), 422, "invalid-input", "tenders[0].amount"),
            (card(good, pin="1234", amount="1e9"), 422, "invalid-input", "tenders[0].amount"),
            (card(good, pin="1234", amount="-1.00"), 422, "invalid-input", "tenders[0].amount"),
            (card(good, pin="1234", amount="300.00"), 422, "invalid-input", "tenders[0].amount"),  # more than due
        ]
        for tenders, status, code, field in cases:
            for route in ("/v1/purchases", "/v1/purchases/quote"):
                body = {"customer": CARD, "amount": "200.00", "tenders": tenders}
                if route == "/v1/purchases":
                    body["receipt"] = new_key()
                response = await http.post(route, json=body, headers=auth(net.cafe_key, new_key()))
                assert_problem(response, status, code, field)
        assert await table_counts(services) == before
        assert await card_state(services, good) == (10_000, "active")

        cafe_only_points = {
            "entries": [
                {"outlet": "Shop till", "counter": "gift_card", "operations": ["top_up", "spend"]},
                {"outlet": "Shop till", "counter": "points", "operations": ["accrue"]},
                {"outlet": "Cafe till", "counter": "points", "operations": ["accrue"]},
            ]
        }
        put = await http.put("/v1/admin/permissions", json=cafe_only_points, headers=auth(net.admin_key))
        assert put.status_code == 200, put.text
        forbidden = await pay(http, net.cafe_key, "10.00", card(good, pin="1234"))
        assert_problem(forbidden, 403, "forbidden")
        assert await table_counts(services) == before
        assert (await pay(http, net.shop_key, "10.00", card(good, pin="1234"))).status_code == 201
        assert await card_state(services, good) == (9_000, "active")
    assert await verify(services.engine) == []


async def test_wrong_pins_are_counted_and_the_fifth_stops_pin_checks(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        number = await sell(http, net.shop_key, "100.00", pin="1234")
        before = await table_counts(services)
        for left in (4, 3, 2, 1):
            wrong = await pay(http, net.cafe_key, "10.00", [{"kind": "gift_card", "number": number, "pin": "9999"}])
            problem = assert_problem(wrong, 422, "invalid-input", "tenders[0].pin")
            assert f"{left} attempt(s) left" in problem["detail"]
        fifth = await pay(http, net.cafe_key, "10.00", [{"kind": "gift_card", "number": number, "pin": "9999"}])
        assert_problem(fifth, 429, "too-many-attempts", "tenders[0].pin")
        assert int(fifth.headers["Retry-After"]) > 0
        right = await pay(http, net.cafe_key, "10.00", [{"kind": "gift_card", "number": number, "pin": "1234"}])
        assert_problem(right, 429, "too-many-attempts", "tenders[0].pin")  # stopped, even for the right PIN
        assert await table_counts(services) == before
        assert await card_state(services, number) == (10_000, "active")
    assert await verify(services.engine) == []


async def test_a_retry_replays_even_after_the_card_is_spent_and_another_body_is_refused(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        number = await sell(http, net.shop_key, "100.00", pin="1234")
        key, receipt = new_key(), new_key()
        tenders = [{"kind": "gift_card", "number": number, "pin": "1234"}]
        first = await pay(http, net.cafe_key, "100.00", tenders, idempotency_key=key, receipt=receipt)
        assert first.status_code == 201, first.text
        assert await card_state(services, number) == (0, "spent")
        again = await pay(http, net.cafe_key, "100.00", tenders, idempotency_key=key, receipt=receipt)
        assert (again.status_code, again.json()) == (201, first.json())
        other = await pay(http, net.cafe_key, "90.00", tenders, idempotency_key=key, receipt=receipt)
        assert other.status_code == 422, other.text

        number = await sell(http, net.shop_key, "100.00")
        key, receipt = new_key(), new_key()
        tenders = [{"kind": "gift_card", "number": number, "amount": "30.00"}]
        first = await pay(http, net.cafe_key, "30.00", tenders, idempotency_key=key, receipt=receipt)
        again = await pay(http, net.cafe_key, "30.00", tenders, idempotency_key=key, receipt=receipt)
        assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
        assert await card_state(services, number) == (7_000, "active")  # taken once
    assert await verify(services.engine) == []


async def test_fifty_concurrent_purchases_of_30_by_one_card_of_100_exactly_three_succeed(settings):
    # a till's budget of numbers that find no card is taken before each lookup (and given back when it finds one):
    # fifty lookups at once from one till would spend it; here it is wide, so that only the card's guard decides
    services = build_services(replace(settings, member_lookup_misses="1000/min"))
    try:
        await _fifty_at_once(services)
    finally:
        await services.close()


async def _fifty_at_once(services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        members = [f"7700-010{n}" for n in range(5)]
        for member in members:
            await enrol(http, net.shop_key, member)
        number = await sell(http, net.shop_key, "100.00")
        statuses: list[int] = []

        async def one(n: int) -> None:
            tenders = [{"kind": "gift_card", "number": number, "amount": "30.00"}]
            response = await pay(http, net.cafe_key, "30.00", tenders, card=members[n % len(members)])
            assert response.status_code in (201, 409, 422), response.text
            statuses.append(response.status_code)

        async with anyio.create_task_group() as group:
            for n in range(50):
                group.start_soon(one, n)
        assert statuses.count(201) == 3, statuses
        assert await card_state(services, number) == (1_000, "active")
        assert await prepaid_positions(services) == {"Shop": -10_000, "Cafe": 9_000}
    assert await verify(services.engine) == []


async def test_a_batch_and_an_offline_upload_pay_by_card_each_seeing_the_earlier_ones(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        number = await sell(http, net.shop_key, "100.00", pin="1234")
        sold_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

        def item(amount: str, tender: dict[str, Any], **extra: Any) -> dict[str, Any]:
            return {"customer": CARD, "amount": amount, "receipt": new_key(), "idempotency_key": new_key(),
                    "tenders": [{"kind": "gift_card", "number": number, "pin": "1234", **tender}], **extra}  # fmt: skip

        batch = {
            "purchases": [
                item("70.00", {}, occurred_at=sold_at),
                item("50.00", {}),
                item("50.00", {"amount": "1.00"}),
                item("50.00", {"pin": "0000"}),
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
            "tenders[0].pin",
        )
        assert await card_state(services, number) == (0, "spent")
        assert await prepaid_positions(services) == {"Shop": -10_000, "Cafe": 10_000}
    assert await verify(services.engine) == []
