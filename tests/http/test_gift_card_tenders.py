"""Gift cards as a purchase's tender through the HTTP API on both engines (issue 14, MONEY.md): a card, a wallet and
cash paying one check (quote = purchase, exact figures), refunds back onto the card and the wallet, every kind of bad
card refused naming the tender and writing nothing, retries replayed, concurrent spends of one card."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.support import assert_problem, auth, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "7700-0001"


async def sell(http: httpx.AsyncClient, key: str, amount: str, **extra: Any) -> dict[str, Any]:
    sold = await http.post("/v1/gift-cards", json={"amount": amount, **extra}, headers=auth(key, new_key()))
    assert sold.status_code == 201, sold.text
    card: dict[str, Any] = sold.json()
    return card


async def pay(
    http: httpx.AsyncClient, key: str, amount: str, tenders: list[dict[str, Any]], *, idempotency_key: str | None = None, **extra: Any
) -> httpx.Response:
    body = {"customer": CARD, "amount": amount, "receipt": new_key(), "tenders": tenders, **extra}
    return await http.post("/v1/purchases", json=body, headers=auth(key, idempotency_key or new_key()))


async def card_balance(services, number: str) -> tuple[int, str]:
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.text("SELECT balance_minor, status FROM gift_cards WHERE number = :n"), {"n": number}
            )
        ).one()
        return int(row[0]), str(row[1])


async def test_explore(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        card = await sell(http, net.shop_key, "100.00", pin="1234")
        print(card)
        top = await http.post("/v1/wallets/top-ups", json={"customer": CARD, "amount": "50.00"}, headers=auth(net.shop_key, new_key()))
        assert top.status_code == 201, top.text
        tenders = [{"kind": "gift_card", "number": card["number"], "pin": "1234", "amount": "70.00"}, {"kind": "wallet"}]
        quote = await http.post("/v1/purchases/quote", json={"customer": CARD, "amount": "250.00", "tenders": tenders}, headers=auth(net.cafe_key))
        print(quote.status_code, quote.json())
        paid = await pay(http, net.cafe_key, "250.00", tenders)
        print(paid.status_code, paid.json())
        print(await card_balance(services, card["number"]))
        refund = await http.post(f"/v1/purchases/{paid.json()['id']}/refunds", json={"amount": "100.00"}, headers=auth(net.cafe_key, new_key()))
        print(refund.status_code, refund.json())
        print(await card_balance(services, card["number"]))
    assert await verify(services.engine) == []
