"""Random histories of gift cards on both engines — sold at any partner or issued by the administrator, spent in
parts at any partner, expired under a random breakage policy — against a model: every account ends where the model
says, money is neither made nor lost, and `coalition verify` finds nothing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coalition.adapters.storage.verify import verify
from coalition.domain.errors import DomainError
from tests.http.test_gift_cards import _redeem, _sell
from tests.http.water_park import DAY_START, water_park
from tests.support import auth, client

pytestmark = pytest.mark.anyio

PARTNERS = ("Tickets", "Cafe", "Photo", "Arcade")
_networks = itertools.count()

policies = st.one_of(
    st.just({"policy": "kept"}),
    st.just({"policy": "returned"}),
    st.builds(lambda share: {"policy": "shared", "share_bp": share}, st.integers(0, 10_000)),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("sell"), st.integers(0, 3), st.integers(1, 500_000), st.integers(1, 4)),
        st.tuples(st.just("issue"), st.integers(1, 500_000), st.integers(1, 4)),
        st.tuples(st.just("redeem"), st.integers(0, 20), st.integers(0, 3), st.integers(1, 300_000)),
        st.tuples(st.just("wait"), st.integers(1, 60)),
        st.tuples(st.just("expire")),
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class Card:
    number: str
    balance: int
    seller: str | None
    valid_until: datetime
    expired: bool = False


@dataclass
class Model:
    policy: dict[str, object]
    cards: list[Card] = field(default_factory=list)
    prepaid: dict[str | None, int] = field(default_factory=dict)  # partner name (None: the node) → balance
    breakage: int = 0

    def move(self, owner: str | None, amount: int) -> None:
        self.prepaid[owner] = self.prepaid.get(owner, 0) + amount

    def expire(self, now: datetime) -> None:
        for card in self.cards:
            if card.expired or card.balance == 0 or now < card.valid_until:
                continue
            returned = 0
            if card.seller is not None and self.policy["policy"] == "returned":
                returned = card.balance
            elif card.seller is not None and self.policy["policy"] == "shared":
                returned = card.balance * int(self.policy["share_bp"]) // 10_000  # type: ignore[call-overload]
            self.move(card.seller, returned)
            self.breakage += card.balance - returned
            card.balance, card.expired = 0, True


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, history=steps)
async def test_random_gift_card_histories_match_the_model(park, policy, history):
    services, clock = park
    clock.moment = max(clock.moment, DAY_START) + timedelta(days=10)  # each history in a network of its own
    async with client(services) as http:
        code = f"cards-{next(_networks)}"
        admin_key, keys, partner_ids = await water_park(services, code=code)
        admin = auth(admin_key)
        assert (await http.put("/v1/admin/gift-card-breakage", json=policy, headers=admin)).status_code == 200
        model = Model(policy)
        for step in [*history, ("wait", 5 * 24), ("expire",)]:  # every history ends with its cards' breakage
            match step:
                case ("sell", seller, amount, days):
                    name = PARTNERS[seller]
                    body = {"amount": f"{amount // 100}.{amount % 100:02d}", "valid_days": days}
                    sold = await _sell(http, keys[name], body)
                    assert sold.status_code == 201, sold.text
                    model.cards.append(Card(sold.json()["number"], amount, name, clock.moment + timedelta(days=days)))
                    model.move(name, -amount)
                case ("issue", amount, days):
                    body = {"amount": f"{amount // 100}.{amount % 100:02d}", "valid_days": days}
                    issued = await http.post("/v1/admin/gift-cards", json=body, headers=admin)
                    assert issued.status_code == 201, issued.text
                    model.cards.append(Card(issued.json()["number"], amount, None, clock.moment + timedelta(days=days)))
                    model.move(None, -amount)
                case ("redeem", which, at, amount) if model.cards:
                    card = model.cards[which % len(model.cards)]
                    payable = not card.expired and clock.moment < card.valid_until and 0 < amount <= card.balance
                    try:
                        left = await _redeem(services, keys[PARTNERS[at]], card.number, None, amount)
                    except DomainError:
                        assert not payable
                    else:
                        assert payable and left == card.balance - amount
                        card.balance = left
                        model.move(PARTNERS[at], amount)
                case ("wait", hours):
                    clock.moment += timedelta(hours=hours)
                case ("expire",):
                    swept = await http.post("/v1/admin/jobs/expire-gift-cards", headers=admin)
                    assert swept.status_code == 200, swept.text
                    model.expire(clock.moment)
        network = await services.admin.network(code)
        for card in model.cards:
            shown = (await http.get(f"/v1/admin/gift-cards/{card.number}", headers=admin)).json()
            assert shown["balance"] == f"{card.balance // 100}.{card.balance % 100:02d}", (card, shown)
    for name in PARTNERS:
        held = await _network_balance(services, network.id, "partner", "prepaid", partner_ids[name])
        assert held == model.prepaid.get(name, 0), name
    assert await _network_balance(services, network.id, "node", "prepaid") == model.prepaid.get(None, 0)
    assert await _network_balance(services, network.id, "node", "prepaid_breakage") == model.breakage
    assert await _network_balance(services, network.id, "gift_card", "gift_card") == sum(c.balance for c in model.cards)
    assert await verify(services.engine) == []


async def _network_balance(services, network_id: int, owner_kind: str, purpose: str, owner_id: int | None = None):
    sql = (
        "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
        "WHERE a.network_id = :network AND a.owner_kind = :kind AND a.purpose = :purpose"
    )
    arguments: dict[str, object] = {"network": network_id, "kind": owner_kind, "purpose": purpose}
    if owner_id is not None:
        sql += " AND a.owner_id = :owner"
        arguments["owner"] = owner_id
    async with services.engine.connect() as connection:
        return int(await connection.scalar(sa.text(sql), arguments))
