"""The crafted members of the campaign tests and of docs/messages.md's worked example ("Campaigns").

Six personal members of a network whose outlets are in Moscow, each with an e-mail address, a tier, labels, a
lifetime spend and purchases at crafted moments (the `now` is START, 7 December 2026, 13:00 in Moscow):

| card | tier | labels | spent | last visit | newsletters |
|---|---|---|---|---|---|
| 7100-0001 Anna | gold | vip | 12,000.00 | 5 days ago | yes |
| 7100-0002 Boris | gold | — | 15,000.00 | 10 days ago | yes (opts out of campaign e-mail) |
| 7100-0003 Clara | silver | social, vip | 20,000.00 | 3 days ago | yes |
| 7100-0004 Dmitri | gold | social | 9,999.99 | 2 days ago | yes |
| 7100-0005 Elena | gold | — | 11,000.00 | 40 days ago | yes |
| 7100-0006 Fyodor | gold | — | 30,000.00 | never | no |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from coalition.wiring import Services
from tests.jobs.message_support import START
from tests.support import SettableClock, auth, buy, client, make_network, new_key


@dataclass(frozen=True)
class Crafted:
    name: str
    card: str
    tier: str
    labels: str
    spent_minor: int
    visit_days_ago: int | None
    newsletters: bool


CRAFTED = (
    Crafted("Anna", "7100-0001", "gold", "vip", 1_200_000, 5, True),
    Crafted("Boris", "7100-0002", "gold", "", 1_500_000, 10, True),
    Crafted("Clara", "7100-0003", "silver", "social,vip", 2_000_000, 3, True),
    Crafted("Dmitri", "7100-0004", "gold", "social", 999_999, 2, True),
    Crafted("Elena", "7100-0005", "gold", "", 1_100_000, 40, True),
    Crafted("Fyodor", "7100-0006", "gold", "", 3_000_000, None, False),
)


async def crafted_network(services: Services, clock: SettableClock) -> tuple[Any, dict[str, int]]:
    """The network with campaign e-mail turned on and the six members; their ids by name."""
    network = await make_network(services)
    await services.customer_messages.set(network.ref.id, {"enabled": {"campaign": ["email"], "birthday": ["email"]}})
    ids: dict[str, int] = {}
    async with client(services) as http:
        for member in CRAFTED:
            profile = {
                "name": member.name,
                "email": f"{member.name.lower()}@example.com",
                "consent_data_processing": True,
                "consent_newsletters": member.newsletters,
            }
            body = {"kind": "personal", "card_number": member.card, "profile": profile}
            response = await http.post("/v1/members", json=body, headers=auth(network.shop_key, new_key()))
            assert response.status_code == 201, response.text
            ids[member.name] = int(response.json()["member"]["id"])
            if member.visit_days_ago is not None:
                clock.moment = START - timedelta(days=member.visit_days_ago)
                assert (await buy(http, network.shop_key, member.card, "100.00")).status_code == 201
    clock.moment = START
    async with services.engine.begin() as connection:
        for member in CRAFTED:
            await connection.execute(
                text(
                    "UPDATE members SET tier = :tier, segments = :labels, lifetime_spend_minor = :spent WHERE id = :id"
                ),
                {"tier": member.tier, "labels": member.labels, "spent": member.spent_minor, "id": ids[member.name]},
            )
    return network, ids
