"""The purchase pipeline on the in-memory fake of its ports (tests/fakes/pos.py), each test in milliseconds: the
quote, the purchase, a batch item and an offline sale decide the same basket alike (tests/http/test_checkout.py's
test of the four, at the application layer), a retried purchase replays, a taken receipt is refused. The fake keeps
the SQL unit of work's semantics (tests/application/test_pos_fake_contract.py).

The shop's outlet is in Moscow. The rule set gives 20 % off drinks before 12:00 local time, 5 % of what is paid in
points that live 30 days, and lets points pay up to half a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coalition.adapters.http.pos_answers import answer_json, stored_result
from coalition.application.commands import CommandResult, ItemInput, PurchaseInput
from coalition.application.enrolment import EnrolInput
from coalition.application.ports import Profile, TerminalContext
from coalition.application.pos import PosService
from coalition.application.pos_results import Refunded
from coalition.application.purchases.batch import BatchItem
from coalition.application.purchases.results import PointsExpiring, PurchaseResult, QuoteResult
from coalition.application.refunds import RefundInput
from coalition.domain.errors import Conflict, DomainError, IdempotencyKeyReused
from coalition.domain.rules.engine import CompiledRuleSet, compile_rule_set
from coalition.domain.rules.parsing import parse_rule_set
from tests.fakes.pos import FakePos, seed_network, small_shop_program
from tests.support import SettableClock

pytestmark = pytest.mark.anyio

MOSCOW = ZoneInfo("Europe/Moscow")
BASKET_RULES = {
    "rules": [
        {
            "code": "morning-drinks",
            "window": {"until": "12:00"},
            "effects": [{"discount": {"percent": "20", "lines": {"categories": ["drinks"]}}}],
        },
        {
            "code": "points",
            "effects": [
                {"accrue_percent": {"percent": "5", "expiry": {"days": 30}}},
                {"set_redemption": {"cap_percent": "50"}},
            ],
        },
    ]
}
ITEMS = (
    ItemInput("latte", "2", "150.00", "drinks"),
    ItemInput("cake", "1", "300.00", "food", ("sweet",)),
)


def _moscow(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=MOSCOW).astimezone(UTC)


@dataclass
class Shop:
    fake: FakePos
    clock: SettableClock
    pos: PosService
    till: TerminalContext


@pytest.fixture()
async def shop() -> Shop:
    fake = FakePos()
    seeded = seed_network(fake, small_shop_program())
    clock = SettableClock(_moscow(9, 10))
    compiled = compile_rule_set(parse_rule_set(BASKET_RULES, "RUB"), 1)

    async def in_force(network_id: int) -> CompiledRuleSet | None:
        return compiled

    async def at(network_id: int, moment: datetime) -> CompiledRuleSet | None:
        return compiled

    pos = PosService(fake.unit_of_work, clock, rules_in_force=in_force, rules_at=at, answer_json=answer_json)
    return Shop(fake, clock, pos, await pos.authenticate(seeded.shop_key))


async def _member_with_100_points(shop: Shop, card: str) -> None:
    profile = Profile(name=f"Member {card}", consent_data_processing=True)
    await shop.pos.enrol(shop.till, EnrolInput("personal", card, profile), f"enrol-{card}", f"enrol-{card}")
    first = await _buy(shop, PurchaseInput(card, "2000.00", receipt=f"first-{card}"), f"first-{card}")
    assert first.points_earned == 100


async def _buy(shop: Shop, purchase: PurchaseInput, key: str, request_hash: str | None = None) -> PurchaseResult:
    done = await shop.pos.purchase(shop.till, purchase, key, request_hash or f"hash-{key}")
    return _typed(done)


def _typed(done: CommandResult | DomainError) -> PurchaseResult:
    assert isinstance(done, CommandResult) and done.status_code == 201, done
    paid = stored_result(PurchaseResult, done.body)
    assert paid is not None
    return paid


def _basket(card: str, receipt: str, occurred_at: datetime | None = None) -> PurchaseInput:
    return PurchaseInput(card, items=ITEMS, redeem_points=40, receipt=receipt, occurred_at=occurred_at)


async def test_quote_purchase_batch_item_and_offline_sale_agree_on_the_same_basket(shop: Shop) -> None:
    cards = ("6001", "6002", "6003", "6004")
    for card in cards:
        await _member_with_100_points(shop, card)
    shop.clock.moment = _moscow(9, 11)  # before noon: the morning discount on drinks
    quoted = await shop.pos.quote(shop.till, _basket("6001", "q"))
    bought = await _buy(shop, _basket("6001", "r-6001"), "buy-6001")
    (in_batch,) = await shop.pos.purchase_batch(shop.till, [BatchItem("batch-6002", "h", _basket("6002", "r-6002"))])
    sold_at = shop.clock.now()
    shop.clock.moment = _moscow(9, 15)  # uploaded after noon, dated before it
    offline = await _buy(shop, _basket("6003", "r-6003", sold_at), "offline-6003")
    (offline_batch,) = await shop.pos.purchase_batch(
        shop.till, [BatchItem("batch-6004", "h", _basket("6004", "r-6004", sold_at))]
    )

    def figures(result: QuoteResult | PurchaseResult) -> tuple[object, ...]:
        if isinstance(result, QuoteResult):
            points = (result.redeem_points, result.points_to_earn)
        else:
            points = (result.points_redeemed, result.points_earned)
        return (result.amount_minor, result.discount_minor, result.amount_due_minor, *points, result.points_expiring)

    # 600.00 − 20 % of the drinks' 300.00 = 540.00; 40 points pay 40.00 → 500.00 due → 25 points for 30 days
    expected = (600_00, 60_00, 500_00, 40, 25, (PointsExpiring(25, sold_at + timedelta(days=30)),))
    assert figures(quoted) == expected
    for result in (bought, _typed(in_batch), offline, _typed(offline_batch)):
        assert figures(result) == expected
        assert result.points_balance == 100 - 40 + 25
    assert offline.occurred_at == sold_at


async def test_a_retried_purchase_replays_its_first_answer(shop: Shop) -> None:
    await _member_with_100_points(shop, "6001")
    first = await shop.pos.purchase(shop.till, _basket("6001", "r-1"), "key-1", "hash-1")
    purchases = len(shop.fake.state.purchases)
    shop.clock.moment += timedelta(hours=3)  # after noon: priced again, it would differ
    again = await shop.pos.purchase(shop.till, _basket("6001", "r-1"), "key-1", "hash-1")
    assert (again.replayed, again.status_code, again.body) == (True, 201, first.body)
    assert len(shop.fake.state.purchases) == purchases
    with pytest.raises(IdempotencyKeyReused):
        await shop.pos.purchase(shop.till, _basket("6001", "r-2"), "key-1", "hash-other")
    (replayed,) = await shop.pos.purchase_batch(shop.till, [BatchItem("key-1", "hash-1", _basket("6001", "r-1"))])
    assert isinstance(replayed, CommandResult) and (replayed.replayed, replayed.body) == (True, first.body)
    assert len(shop.fake.state.purchases) == purchases


async def test_a_purchase_with_a_taken_receipt_is_refused_and_writes_nothing(shop: Shop) -> None:
    await _member_with_100_points(shop, "6001")
    await _buy(shop, _basket("6001", "r-1"), "key-1")
    before = (len(shop.fake.state.purchases), len(shop.fake.state.responses), len(shop.fake.state.transactions))
    with pytest.raises(Conflict) as taken:
        await shop.pos.purchase(shop.till, _basket("6001", "r-1"), "key-2", "hash-2")
    assert taken.value.field == "receipt"
    (refused,) = await shop.pos.purchase_batch(shop.till, [BatchItem("key-3", "hash-3", _basket("6001", "r-1"))])
    assert isinstance(refused, Conflict) and refused.field == "receipt"
    after = (len(shop.fake.state.purchases), len(shop.fake.state.responses), len(shop.fake.state.transactions))
    assert after == before
    async with shop.fake.unit_of_work() as uow:
        found = await uow.find_member_points(shop.till.network_id, ["6001"])
        assert found is not None and found[1].balance == 100 - 40 + 25


async def test_a_purchase_is_refunded_in_part_once_per_key(shop: Shop) -> None:
    """The refund reads its purchase back from the fake (lines, points spent by grantor, refunds so far)."""
    await _member_with_100_points(shop, "6001")
    shop.clock.moment = _moscow(9, 11)
    bought = await _buy(shop, _basket("6001", "r-1"), "key-1")  # 500.00 due, 40 points spent, 25 earned
    refund = RefundInput(amount="300.00")
    first = await shop.pos.refund(shop.till, bought.id, refund, "refund-1", "hash-refund-1")
    again = await shop.pos.refund(shop.till, bought.id, refund, "refund-1", "hash-refund-1")
    assert again.replayed and again.body == first.body
    refunded = stored_result(Refunded, first.body)
    assert refunded is not None and refunded.refundable_left_minor == 300_00
    assert (refunded.amount_minor, refunded.points_clawed_back, refunded.points_returned) == (300_00, 12, 20)
    assert refunded.points_balance == 85 - 12 + 20
    assert len(shop.fake.state.refunds) == 1
