"""Never-expiring points gather in one open lot, so a member's purchase reads stay small however often they buy."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.support import auth, buy, client, enrol, make_network

pytestmark = pytest.mark.anyio


async def _lots_of(services, card: str) -> list[tuple[int, int]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.text(
                "SELECT l.points, l.remaining FROM lots l JOIN member_balances b ON b.account_id = l.account_id "
                "JOIN identifiers i ON i.member_id = b.member_id WHERE i.value = :card ORDER BY l.id"
            ),
            {"card": card},
        )
        return [(row.points, row.remaining) for row in rows]


async def test_purchases_and_batches_top_up_one_open_lot(services):
    net = await make_network(services)  # the small-shop program: points never expire
    async with client(services) as http:
        await enrol(http, net.shop_key, "5101")
        for _ in range(5):
            assert (await buy(http, net.shop_key, "5101", "1000.00")).status_code == 201  # +30 each
        spent = await buy(http, net.shop_key, "5101", "2000.00", redeem=100)  # −100, then +57 on 1,900.00
        assert spent.json()["points_balance"] == 107
        batch = [
            {"idempotency_key": f"k{n}", "customer": "5101", "amount": "1000.00", "receipt": f"b{n}"} for n in range(3)
        ]
        answer = await http.post("/v1/purchases/batch", json={"purchases": batch}, headers=auth(net.shop_key))
        assert [r["status"] for r in answer.json()["results"]] == [201, 201, 201]
        assert answer.json()["results"][-1]["body"]["points_balance"] == 197
    # one lot: 150 + 57 + 90 accrued into it, 100 spent from it
    assert await _lots_of(services, "5101") == [(297, 197)]
    assert await verify(services.engine) == []
