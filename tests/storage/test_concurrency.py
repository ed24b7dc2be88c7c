"""Concurrent spends of one balance never overdraw it; concurrent retries of one request book it once.

These run many requests at once through the ASGI app against one database. PostgreSQL serializes them with row
locks on the member; SQLite with its single writer (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from coalition.adapters.storage.verify import verify
from coalition.application.admin import NetworkRef, ProgramSettings
from coalition.domain.bonus import Tier
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import Network, auth, balance_of, client, enrol, ledger_balance, make_network, table_counts

pytestmark = pytest.mark.anyio

CARD = "2000-0001"

# Below a lifetime spend of 3,000 the member accrues 3 %; from 3,000 on nothing, so that the concurrent purchases
# below only spend and a balance of exactly 100 pays exactly three spends of 30.
SPEND_ONLY_PROGRAM = ProgramSettings(
    code="bonus",
    name="Bonus points",
    tiers=(Tier(0, 300, 0, 1500), Tier(3_000_00, 0, 0, 1500)),
    min_check_for_redeem_minor=1_500_00,
)


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
async def concurrent_services(request: pytest.FixtureRequest) -> AsyncIterator[Services]:
    fixture = "pg_database_url" if request.param == "postgresql" else "sqlite_database_url"
    url: str = request.getfixturevalue(fixture)
    built = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"))
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture()
async def pg_services(pg_database_url: str) -> AsyncIterator[Services]:
    built = build_services(Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"))
    try:
        yield built
    finally:
        await built.close()


async def _spend_only_network(services: Services) -> Network:
    created = await services.admin.create_network("spend", "Spend only", "RUB", SPEND_ONLY_PROGRAM)
    ref = NetworkRef(created["id"], "spend", created["name"], "RUB")
    partner = await services.admin.create_partner(ref, "Shop")
    outlet = await services.admin.create_outlet(ref, partner["id"], "Till", "Europe/Moscow")
    keys = [(await services.admin.create_terminal(ref, outlet["id"], f"POS {n}"))["key"] for n in (1, 2)]
    return Network(ref, created["admin_key"], keys[0], keys[1])


async def test_fifty_concurrent_spends_of_30_from_100_points_exactly_three_succeed(pg_services):
    await _fifty_spends(pg_services)


async def test_fifty_concurrent_spends_on_sqlite_never_overdraw_either(sqlite_database_url):
    services = build_services(Settings(database_url=sqlite_database_url, operator_token=None, public_url="http://t"))
    try:
        await _fifty_spends(services)
    finally:
        await services.close()


async def _fifty_spends(services: Services) -> None:
    net = await _spend_only_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        first = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "3334.00", "receipt": "setup"},
            headers=auth(net.shop_key, "setup"),
        )
        assert first.json()["points_balance"] == 100  # 3 % of 3,334 rounded down
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": CARD, "amount": "1500.00"}, headers=auth(net.shop_key)
        )
        assert (quote.json()["max_redeemable_points"], quote.json()["points_to_earn"]) == (100, 0)
        before = await table_counts(services)

        async def spend(n: int):
            body = {"customer": CARD, "amount": "1500.00", "redeem_points": 30, "receipt": f"R-{n}"}
            return await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, f"spend-{n}"))

        answers = await asyncio.gather(*(spend(n) for n in range(50)))
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {201: 3, 409: 47}, [a.text for a in answers if a.status_code not in (201, 409)]
        for answer in answers:
            if answer.status_code == 409:
                assert answer.json()["type"].endswith("/insufficient-points"), answer.text
                assert answer.json()["field"] == "redeem_points"
        balances_after = sorted(a.json()["points_balance"] for a in answers if a.status_code == 201)
        assert balances_after == [10, 40, 70]
        assert await balance_of(http, net.shop_key, CARD) == 100 - 90 + 0
        after = await table_counts(services)
        assert after["purchases"] == before["purchases"] + 3
        assert after["ledger_transactions"] == before["ledger_transactions"] + 3
        assert after["idempotency_keys"] == before["idempotency_keys"] + 3
    assert await verify(services.engine) == []


async def test_fifty_concurrent_purchases_that_spend_and_earn_lose_no_update(pg_services):
    """With the small-shop program every spend of 30 on 2,000 earns more: all succeed and every change counts."""
    await _spend_and_earn(pg_services)


async def test_fifty_concurrent_purchases_that_spend_and_earn_on_sqlite(sqlite_database_url):
    services = build_services(Settings(database_url=sqlite_database_url, operator_token=None, public_url="http://t"))
    try:
        await _spend_and_earn(services)
    finally:
        await services.close()


async def _spend_and_earn(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        first = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "3334.00", "receipt": "setup"},
            headers=auth(net.shop_key, "setup"),
        )
        assert first.json()["points_balance"] == 100

        async def spend(n: int):
            body = {"customer": CARD, "amount": "2000.00", "redeem_points": 30, "receipt": f"R-{n}"}
            key = net.shop_key if n % 2 else net.cafe_key
            return await http.post("/v1/purchases", json=body, headers=auth(key, f"spend-{n}"))

        answers = await asyncio.gather(*(spend(n) for n in range(50)))
        assert Counter(a.status_code for a in answers) == {201: 50}, [a.text for a in answers if a.status_code != 201]
        earned = [a.json()["points_earned"] for a in answers]
        # 3 % of 1,970 = 59 below a lifetime spend of 10,000 (four purchases), 5 % = 98 below 50,000 (twenty more),
        # then 7 % = 137.
        assert Counter(earned) == {59: 4, 98: 20, 137: 26}
        final = await balance_of(http, net.shop_key, CARD)
        assert final == 100 - 50 * 30 + sum(earned)
        assert sorted(a.json()["points_balance"] for a in answers)[-1] == final
        member = await http.get(f"/v1/members/{CARD}", headers=auth(net.shop_key))
        assert member.json()["lifetime_spend"] == "103334.00"
    assert await verify(services.engine) == []


async def test_twenty_concurrent_requests_with_the_same_key_book_once(concurrent_services):
    services = concurrent_services
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        first = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "5000.00", "receipt": "setup"},
            headers=auth(net.shop_key, "setup"),
        )
        assert first.json()["points_balance"] == 150
        before = await table_counts(services)

        body = {"customer": CARD, "amount": "2000.00", "redeem_points": 100, "receipt": "R-same"}
        answers = await asyncio.gather(
            *(http.post("/v1/purchases", json=body, headers=auth(net.shop_key, "the-same-key")) for _ in range(20))
        )
        assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers if a.status_code != 201]
        assert all(a.json() == answers[0].json() for a in answers)
        assert answers[0].json()["points_balance"] == 107
        replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
        assert replayed.count(None) == 1 and replayed.count("true") == 19

        after = await table_counts(services)
        assert after["purchases"] == before["purchases"] + 1
        assert after["ledger_transactions"] == before["ledger_transactions"] + 1
        assert after["idempotency_keys"] == before["idempotency_keys"] + 1
        assert await balance_of(http, net.shop_key, CARD) == 107
    assert await verify(services.engine) == []


async def test_concurrent_refunds_never_exceed_the_purchase(concurrent_services):
    services = concurrent_services
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "5000.00", "receipt": "setup"},
            headers=auth(net.shop_key, "setup"),
        )
        purchase = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "2000.00", "redeem_points": 100, "receipt": "R"},
            headers=auth(net.shop_key, "buy"),
        )
        assert purchase.status_code == 201, purchase.text
        path = f"/v1/purchases/{purchase.json()['id']}/refunds"
        answers = await asyncio.gather(
            *(http.post(path, json={"amount": "300.00"}, headers=auth(net.shop_key, f"refund-{n}")) for n in range(20))
        )
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {201: 6, 422: 14}, [a.text for a in answers if a.status_code not in (201, 422)]
        left = sorted(a.json()["refundable_left"] for a in answers if a.status_code == 201)
        assert left == ["1100.00", "1400.00", "1700.00", "200.00", "500.00", "800.00"]
        last = await http.post(path, json={"amount": "200.00"}, headers=auth(net.shop_key, "refund-last"))
        assert last.status_code == 201, last.text
        assert last.json()["points_balance"] == 150
    assert await verify(services.engine) == []


async def test_concurrent_batches_and_single_purchases_on_shared_members_keep_the_ledger(concurrent_services):
    """Batches lock their members in id order and single purchases write only on an unchanged version, so
    batches and single purchases interleaved over the same few members neither deadlock nor lose an update."""
    services = concurrent_services
    net = await make_network(services)
    cards = [f"4100{n}" for n in range(5)]
    async with client(services) as http:
        for card in cards:
            await enrol(http, net.shop_key, card)
            first = await http.post(
                "/v1/purchases",
                json={"customer": card, "amount": "5000.00", "receipt": f"seed-{card}"},
                headers=auth(net.shop_key, f"seed-{card}"),
            )
            assert first.status_code == 201, first.text

        def batch(lane: int) -> dict[str, object]:
            # each lane names the members in a different order: the locks must still be taken in one order
            order = cards[lane % len(cards) :] + cards[: lane % len(cards)]
            return {
                "purchases": [
                    {
                        "idempotency_key": f"b{lane}-{n}",
                        "customer": card,
                        "amount": "2000.00",
                        "redeem_points": 20,
                        "receipt": f"b{lane}-{n}",
                    }
                    for n, card in enumerate(order)
                ]
            }

        async def single(n: int):
            return await http.post(
                "/v1/purchases",
                json={"customer": cards[n % len(cards)], "amount": "1600.00", "redeem_points": 10, "receipt": f"s{n}"},
                headers=auth(net.shop_key, f"s{n}"),
            )

        batches = [http.post("/v1/purchases/batch", json=batch(lane), headers=auth(net.shop_key)) for lane in range(6)]
        answers = await asyncio.gather(*batches, *(single(n) for n in range(20)))
        batch_answers, single_answers = answers[:6], answers[6:]
        assert all(answer.status_code == 200 for answer in batch_answers), [a.text for a in batch_answers]
        statuses = Counter(result["status"] for answer in batch_answers for result in answer.json()["results"])
        statuses.update(answer.status_code for answer in single_answers)
        assert statuses == Counter({201: 50}), statuses
        # The tier changes on the way (lifetime spend passes 10,000), so the order of the purchases decides the
        # points earned: compare the balance shown with the sum of the member's postings instead of a formula.
        for card in cards:
            shown = (await http.get(f"/v1/members/{card}", headers=auth(net.shop_key))).json()
            assert shown["points_balance"] == await ledger_balance(services, card)
            assert shown["lifetime_spend"] == "23400.00"  # 5,000 + 6 × 2,000 + 4 × 1,600
    assert await verify(services.engine) == []
