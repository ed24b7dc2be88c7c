"""Random sequences of purchases, redemptions and refunds through the HTTP API, on both engines.

After every step: every ledger invariant `coalition verify` knows holds, the balance the API reports equals the
sum of the member's postings, and only a refund can leave a balance below zero (a debt): a purchase never creates
or deepens one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coalition.adapters.storage.verify import verify
from tests.support import auth, buy, client, enrol, ledger_balance, make_network, new_key

pytestmark = pytest.mark.anyio

_networks = itertools.count(1)

amounts = st.integers(min_value=1, max_value=3_000_000)  # minor units: up to 30,000.00
steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, 2), amounts, st.integers(0, 100)),
        st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class Purchase:
    id: str
    card: str
    left_minor: int


@dataclass
class World:
    cards: list[str]
    purchases: list[Purchase] = field(default_factory=list)


def decimal(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
async def test_random_histories_keep_every_invariant(services, plan):
    net = await make_network(services, code=f"prop-{next(_networks)}")
    async with client(services) as http:
        world = World(cards=[f"77{net.ref.id:05d}{n}" for n in range(3)])
        for card in world.cards:
            await enrol(http, net.shop_key, card)
        for kind, target, size, share in plan:
            if kind == "buy":
                await _buy(http, net.shop_key, world, world.cards[target], size, share)
            elif world.purchases:
                await _refund(http, net.shop_key, world, world.purchases[target % len(world.purchases)], size)
            assert await verify(services.engine) == []
            for card in world.cards:
                shown = (await http.get(f"/v1/members/{card}", headers=auth(net.shop_key))).json()["points_balance"]
                assert shown == await ledger_balance(services, card)


async def _buy(http, key: str, world: World, card: str, amount_minor: int, share: int) -> None:
    before = (await http.get(f"/v1/members/{card}", headers=auth(key))).json()["points_balance"]
    quote = await http.post(
        "/v1/purchases/quote", json={"customer": card, "amount": decimal(amount_minor)}, headers=auth(key)
    )
    assert quote.status_code == 200, quote.text
    redeem = quote.json()["max_redeemable_points"] * share // 100
    response = await buy(http, key, card, decimal(amount_minor), redeem=redeem or None)
    assert response.status_code == 201, response.text
    after = response.json()["points_balance"]
    assert after >= min(before, 0), "a purchase created or deepened a debt"
    world.purchases.append(Purchase(response.json()["id"], card, amount_minor))


async def _refund(http, key: str, world: World, purchase: Purchase, percent: int) -> None:
    refund_minor = max(1, purchase.left_minor * percent // 100)
    response = await http.post(
        f"/v1/purchases/{purchase.id}/refunds", json={"amount": decimal(refund_minor)}, headers=auth(key, new_key())
    )
    if purchase.left_minor == 0:
        assert response.status_code == 422, response.text
        return
    assert response.status_code == 201, response.text
    purchase.left_minor -= refund_minor
