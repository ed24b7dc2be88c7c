"""Random days of the water park settled through the API, on both engines (issue 4).

A history mixes purchases (paying part of the check with points or not) at five outlets of four partners, full and
partial refunds, gifts granted by the ticket office and the café and handed over (or not) at the photo booth and the
arcade, time passing so that points lots and gifts expire, the expiry job, and period closes in between. The test
keeps its own account of what each partner granted and honoured, from the API's answers. After every close:

- each partner's line is exactly that account (and the fees it implies), and the positions, the node's included,
  sum to zero;
- each transfer plan settles every position to the minor unit: through the node one transfer per partner not at
  zero, directly at most N − 1 for N parties not at zero;
- closing the same period again is refused (409) and changes nothing;
- `coalition verify` finds no violation.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coalition.adapters.storage.verify import verify
from tests.http.water_park import DAY_START, PROGRAM, water_park
from tests.support import assert_problem, auth, client, enrol, new_key, signed_minor

pytestmark = pytest.mark.anyio

POINTS_LIVE_DAYS = 2
POINT_VALUE_MINOR = 100
RULES = {
    "rules": [
        {
            "code": "points-everywhere",
            "effects": [
                {"accrue_percent": {"percent": "10"}},
                {"set_redemption": {"cap_percent": "50", "min_check": "0.00"}},
            ],
        },
        {
            "code": "ticket-gives-photo",
            "scope": {"partners": ["Tickets"]},
            "condition": "basket.total_minor >= 100000",
            "effects": [{"grant_gift": {"gift_type": "free-photo", "valid_days": 1}}],
        },
        {
            "code": "cafe-gives-game",
            "scope": {"partners": ["Cafe"]},
            "condition": "basket.total_minor >= 50000",
            "effects": [{"grant_gift": {"gift_type": "free-game", "valid_days": 1}}],
        },
    ]
}
GIFT_TYPES = (
    {"code": "free-photo", "name": "A free photo", "price": "300.00", "partners": ["Photo"]},
    {"code": "free-game", "name": "A free game", "price": "150.00", "partners": ["Arcade"]},
)
# outlet: its partner; the café has a second outlet
OUTLETS = {
    "Tickets desk": "Tickets",
    "Cafe desk": "Cafe",
    "Cafe terrace": "Cafe",
    "Photo desk": "Photo",
    "Arcade desk": "Arcade",
}
PARTNERS = ("Arcade", "Cafe", "Photo", "Tickets")
MEMBERS = 3

_networks = itertools.count(1)

# checks around the gift thresholds, or any up to 2,500.00 (minor units)
checks = st.one_of(st.sampled_from([99_999, 100_000, 50_000, 49_999, 180_000]), st.integers(1, 250_000))
purchases = st.tuples(
    st.just("buy"),
    st.integers(0, len(OUTLETS) - 1),
    st.integers(0, MEMBERS - 1),
    checks,
    st.sampled_from([0, 37, 100]),  # percent of the most redeemable points the member pays with
)
# an earlier purchase (by index), the percent of what is left of its check to refund (100: all of it)
refunds = st.tuples(st.just("refund"), st.integers(0, 40), st.sampled_from([1, 33, 50, 100]))
hand_overs = st.tuples(st.just("honour"), st.integers(0, 20))
history = st.lists(
    # purchases weigh most: a history needs them for anything else to happen
    st.one_of(
        purchases,
        purchases,
        purchases,
        refunds,
        hand_overs,
        hand_overs,
        # hours pass, then perhaps the expiry job runs
        st.tuples(st.just("wait"), st.sampled_from([1, 5, 23, 30, 49]), st.booleans()),
        st.tuples(st.just("expire")),
        st.tuples(st.just("close")),
    ),
    min_size=6,
    max_size=18,
)
# the day opens with each visitor buying a ticket: points to spend, perhaps a photo to collect
tickets = st.lists(st.one_of(st.just(100_000), st.integers(20_000, 250_000)), min_size=MEMBERS, max_size=MEMBERS)
fee_schedules = st.tuples(st.sampled_from([0, 1, 50]), st.sampled_from([0, 150, 333]))  # minor units, basis points


@dataclass(frozen=True)
class GiftRule:
    """What a partner's purchases of at least `from_minor` grant (RULES), at what price, and who hands it over."""

    gift_type: str
    from_minor: int
    price_minor: int
    honoured_by: str


GIFT_RULES = {
    "Tickets": GiftRule("free-photo", 100_000, 30_000, "Photo"),
    "Cafe": GiftRule("free-game", 50_000, 15_000, "Arcade"),
}


@dataclass
class Flows:
    granted: int = 0
    granted_refunded: int = 0
    honoured: int = 0
    honoured_refunded: int = 0
    transactions: int = 0


@dataclass
class Gift:
    id: str
    granted_by: str  # partner
    honoured_by: str  # partner whose outlet hands it over
    price_minor: int
    valid_until: datetime
    state: str = "granted"  # or honoured, expired, revoked


@dataclass
class Sale:
    id: str
    outlet: str
    left_minor: int
    gifts: list[Gift] = field(default_factory=list)  # what it granted: a full refund revokes those still open


@dataclass
class Park:
    """What the test knows of one network: its keys, and what it expects the open period's statement to hold."""

    admin_key: str
    keys: dict[str, str]  # outlet → terminal key
    cards: list[str]
    gift_policy: str
    per_transaction_minor: int
    fee_bp: int
    sales: list[Sale] = field(default_factory=list)
    gifts: list[Gift] = field(default_factory=list)
    open_period: dict[str, Flows] = field(default_factory=dict)
    statements: int = 0

    def flows(self, partner: str) -> Flows:
        return self.open_period.setdefault(partner, Flows())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opening=tickets, steps=history, fees=fee_schedules, gift_policy=st.sampled_from(["kept", "released"]))
async def test_random_histories_settle_exactly_and_once(park, opening, steps, fees, gift_policy):
    services, clock = park
    clock.moment = max(clock.moment, DAY_START) + timedelta(days=1)  # each history in a network of its own
    async with client(services) as http:
        world = await _open_park(services, http, fees, gift_policy)
        openers = [("buy", 0, member, check_minor, 0) for member, check_minor in enumerate(opening)]
        for step in [*openers, *steps, ("close",)]:
            match step:
                case ("buy", outlet, member, check_minor, share):
                    await _buy(http, world, list(OUTLETS)[outlet], world.cards[member], check_minor, share)
                case ("refund", sale, percent) if world.sales:
                    await _refund(http, world, world.sales[sale % len(world.sales)], percent)
                case ("honour", gift) if world.gifts:
                    await _honour(http, world, world.gifts[gift % len(world.gifts)], clock.moment)
                case ("wait", hours, then_expiry_job):
                    clock.moment += timedelta(hours=hours)
                    if then_expiry_job:
                        await _expire(http, world, clock.moment)
                case ("expire",):
                    await _expire(http, world, clock.moment)
                case ("close",):
                    clock.moment += timedelta(minutes=1)
                    await _close_and_check(http, world, clock.moment - timedelta(seconds=30))
                    assert await verify(services.engine) == []


async def _open_park(services, http: httpx.AsyncClient, fees: tuple[int, int], gift_policy: str) -> Park:
    code = f"park-{next(_networks)}"
    program = replace(PROGRAM, points_expire_days=POINTS_LIVE_DAYS)
    admin_key, keys, partner_ids = await water_park(services, code, program)
    network = await services.admin.network(code)
    terrace = await services.admin.create_outlet(network, partner_ids["Cafe"], "Cafe terrace", "Europe/Moscow")
    terrace_key = (await services.admin.create_terminal(network, terrace["id"], "POS"))["key"]
    admin = auth(admin_key)
    for gift_type in GIFT_TYPES:
        created = await http.post("/v1/admin/gift-types", json=gift_type, headers=admin)
        assert created.status_code == 201, created.text
    assert (await http.put("/v1/admin/rule-sets/draft", json=RULES, headers=admin)).status_code == 200
    published = await http.post("/v1/admin/rule-sets/draft/publish", headers=admin)
    assert published.status_code == 200, published.text
    assert (await http.put("/v1/admin/gift-breakage", json={"gifts": gift_policy}, headers=admin)).status_code == 200
    per_transaction_minor, fee_bp = fees
    fee_body = {
        "per_transaction": f"{per_transaction_minor // 100}.{per_transaction_minor % 100:02d}",
        "percent_of_granted": f"{fee_bp // 100}.{fee_bp % 100:02d}",
    }
    assert (await http.put("/v1/admin/settlement/fees", json=fee_body, headers=admin)).status_code == 200
    cards = [f"66{network.id:05d}{n}" for n in range(MEMBERS)]
    for card in cards:
        await enrol(http, keys["Tickets"], card)
    outlet_keys = {f"{partner} desk": key for partner, key in keys.items()} | {"Cafe terrace": terrace_key}
    return Park(admin_key, outlet_keys, cards, gift_policy, per_transaction_minor, fee_bp)


def _amount(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


async def _buy(http: httpx.AsyncClient, world: Park, outlet: str, card: str, check_minor: int, share: int) -> None:
    key = world.keys[outlet]
    quote = await http.post(
        "/v1/purchases/quote", json={"customer": card, "amount": _amount(check_minor)}, headers=auth(key)
    )
    assert quote.status_code == 200, quote.text
    redeem = quote.json()["max_redeemable_points"] * share // 100
    body = {"customer": card, "amount": _amount(check_minor), "redeem_points": redeem, "receipt": new_key()}
    answer = await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))
    assert answer.status_code == 201, answer.text
    sale = answer.json()
    partner = OUTLETS[outlet]
    # 10 % of what is paid in money, in whole points, rounded down
    assert sale["points_redeemed"] == redeem
    assert sale["points_earned"] == (check_minor - redeem * POINT_VALUE_MINOR) // (10 * POINT_VALUE_MINOR)
    flows = world.flows(partner)
    flows.granted += sale["points_earned"] * POINT_VALUE_MINOR
    flows.honoured += redeem * POINT_VALUE_MINOR
    flows.transactions += bool(sale["points_earned"] or redeem)
    rule = GIFT_RULES.get(partner)
    granted = sale.get("gifts_granted", [])
    assert len(granted) == int(rule is not None and check_minor >= rule.from_minor)
    gifts = []
    for gift in granted:
        assert rule is not None and gift["gift_type"] == rule.gift_type
        valid_until = datetime.fromisoformat(gift["valid_until"])
        gifts.append(Gift(gift["id"], partner, rule.honoured_by, rule.price_minor, valid_until))
        flows.granted += rule.price_minor
        flows.transactions += 1
    world.gifts.extend(gifts)
    world.sales.append(Sale(sale["id"], outlet, check_minor, gifts))


async def _refund(http: httpx.AsyncClient, world: Park, sale: Sale, percent: int) -> None:
    refund_minor = sale.left_minor if percent == 100 else max(1, sale.left_minor * percent // 100)
    answer = await http.post(
        f"/v1/purchases/{sale.id}/refunds",
        json={"amount": _amount(max(refund_minor, 1))},  # a check refunded in full: one more cent is refused
        headers=auth(world.keys[sale.outlet], new_key()),
    )
    if sale.left_minor == 0:
        assert_problem(answer, 422, "refund-not-allowed", "amount")
        return
    assert answer.status_code == 201, answer.text
    refund = answer.json()
    sale.left_minor -= refund_minor
    assert refund["refundable_left"] == _amount(sale.left_minor)
    flows = world.flows(OUTLETS[sale.outlet])
    flows.granted_refunded += refund["points_clawed_back"] * POINT_VALUE_MINOR
    flows.honoured_refunded += refund["points_returned"] * POINT_VALUE_MINOR
    flows.transactions += bool(refund["points_clawed_back"] or refund["points_returned"])
    revoked = [gift for gift in sale.gifts if gift.state == "granted"] if sale.left_minor == 0 else []
    assert refund["gifts_revoked"] == sorted(gift.id for gift in revoked)
    for gift in revoked:  # refunded in full: the grant is reversed whatever the expiry policy
        gift.state = "revoked"
        flows.granted_refunded += gift.price_minor
        flows.transactions += 1


async def _honour(http: httpx.AsyncClient, world: Park, gift: Gift, now: datetime) -> None:
    answer = await http.post(
        f"/v1/gifts/{gift.id}/honour", headers=auth(world.keys[f"{gift.honoured_by} desk"], new_key())
    )
    if gift.state != "granted" or now >= gift.valid_until:
        assert_problem(answer, 409, "conflict", "gift_id")
        return
    assert answer.status_code == 200, answer.text
    gift.state = "honoured"
    flows = world.flows(gift.honoured_by)
    flows.honoured += gift.price_minor
    flows.transactions += 1


async def _expire(http: httpx.AsyncClient, world: Park, now: datetime) -> None:
    answer = await http.post("/v1/admin/jobs/expire", headers=auth(world.admin_key))
    assert answer.status_code == 200, answer.text
    due = [gift for gift in world.gifts if gift.state == "granted" and now >= gift.valid_until]
    released = world.gift_policy == "released"
    assert answer.json()["gifts"] == {"gifts": len(due), "released": len(due) * released, "policy": world.gift_policy}
    for gift in due:
        gift.state = "expired"
        if released:  # the grant is reversed: the granting partner owes nothing for it
            flows = world.flows(gift.granted_by)
            flows.granted_refunded += gift.price_minor
            flows.transactions += 1


async def _close_and_check(http: httpx.AsyncClient, world: Park, end: datetime) -> None:
    admin = auth(world.admin_key)
    closed = await http.post("/v1/admin/settlement/periods", json={"end": end.isoformat()}, headers=admin)
    assert closed.status_code == 201, closed.text
    statement = closed.json()
    world.statements += 1
    assert statement["number"] == world.statements

    expected = {partner: _expected_line(world, world.open_period.get(partner, Flows())) for partner in PARTNERS}
    lines = {line["name"]: line for line in statement["partners"]}
    assert {name: _line_numbers(line) for name, line in lines.items()} == expected
    world.open_period = {}

    positions = {name: signed_minor(line["net"]) for name, line in lines.items()}
    positions["settlement node"] = signed_minor(statement["node"]["net"])
    assert sum(positions.values()) == 0
    not_at_zero = sum(1 for amount in positions.values() if amount)
    through_node = statement["transfers"]["through_node"]
    assert len(through_node) == sum(1 for name, amount in positions.items() if amount and name != "settlement node")
    assert all("settlement node" in (transfer["from"], transfer["to"]) for transfer in through_node)
    _assert_settles(positions, through_node)
    direct = statement["transfers"]["direct"]
    assert len(direct) <= max(not_at_zero - 1, 0)
    _assert_settles(positions, direct)

    # the same period again, by its end or by its start and end: refused, and nothing changes
    listing = (await http.get("/v1/admin/settlement/statements", headers=admin)).json()
    for body in ({"end": end.isoformat()}, {"start": statement["period"]["start"], "end": end.isoformat()}):
        again = await http.post("/v1/admin/settlement/periods", json=body, headers=admin)
        assert_problem(again, 409, "conflict", "end")
    assert (await http.get("/v1/admin/settlement/statements", headers=admin)).json() == listing
    stored = await http.get(f"/v1/admin/settlement/statements/{statement['number']}", headers=admin)
    assert stored.json() == statement


def _expected_line(world: Park, flows: Flows) -> tuple[int, ...]:
    """(granted, granted_refunded, honoured, honoured_refunded, fees, net, transactions) as the statement shows."""
    granted_net = max(flows.granted - flows.granted_refunded, 0)
    fees = world.per_transaction_minor * flows.transactions + granted_net * world.fee_bp // 10_000  # rounded down
    net = flows.honoured - flows.honoured_refunded - flows.granted + flows.granted_refunded - fees
    return (
        flows.granted,
        flows.granted_refunded,
        flows.honoured,
        flows.honoured_refunded,
        fees,
        net,
        flows.transactions,
    )


def _line_numbers(line: Mapping[str, Any]) -> tuple[int, ...]:
    amounts = ("granted", "granted_refunded", "honoured", "honoured_refunded", "fees", "net")
    return (*(signed_minor(line[name]) for name in amounts), line["transactions"])


def _assert_settles(positions: Mapping[str, int], transfers: Sequence[Mapping[str, Any]]) -> None:
    """After the plan's payments every party stands at zero, to the minor unit."""
    left = dict(positions)
    for transfer in transfers:
        amount = signed_minor(transfer["amount"])
        assert amount > 0 and transfer["from"] != transfer["to"]
        left[transfer["from"]] += amount
        left[transfer["to"]] -= amount
    assert left == dict.fromkeys(positions, 0)
