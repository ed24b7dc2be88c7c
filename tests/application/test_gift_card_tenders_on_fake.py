"""A gift card as a purchase's tender on the in-memory fake (tests/fakes/gift_cards.py), in milliseconds: the card's
PIN is checked in units of work of its own BEFORE the purchase's (the fake refuses a unit of work opened inside
another, as SQLite's single write lock would wait on it), the card is debited in the purchase's, and a refund puts
its prorated share back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coalition.adapters.http.gift_card_answers import gift_card_answer_json
from coalition.adapters.http.pos_answers import answer_json, stored_result
from coalition.application.commands import CommandResult, PurchaseInput, TenderInput
from coalition.application.enrolment import EnrolInput
from coalition.application.gift_cards import GiftCardRequest, GiftCards
from coalition.application.ports import Profile
from coalition.application.pos import PosService
from coalition.application.pos_results import Refunded
from coalition.application.purchases.results import PurchaseResult
from coalition.application.refunds import RefundInput
from coalition.domain.errors import Conflict, InvalidInput
from coalition.domain.gift_cards import GiftCard
from tests.fakes.pos import FakePos, seed_network, small_shop_program
from tests.support import SettableClock

pytestmark = pytest.mark.anyio


async def test_a_card_pays_part_of_a_purchase_and_a_refund_puts_its_share_back() -> None:
    fake = FakePos()
    seeded = seed_network(fake, small_shop_program())
    clock = SettableClock(datetime(2026, 3, 9, 10, tzinfo=UTC))
    pos = PosService(fake.unit_of_work, clock, answer_json=answer_json)
    cards = GiftCards(fake.unit_of_work, pos, clock, gift_card_answer_json)
    pos.gift_cards = cards
    till = await pos.authenticate(seeded.shop_key)
    profile = Profile(name="Anna", consent_data_processing=True)
    await pos.enrol(till, EnrolInput("personal", "6001", profile), "enrol", "enrol")
    sold = await cards.sell(till, GiftCardRequest("100.00", pin="1234"), "sell", "sell")
    assert sold.result is not None
    number = sold.result.number

    def by_card(amount: str, pin: str = "1234") -> PurchaseInput:
        return PurchaseInput("6001", "250.00", receipt=f"r-{amount}-{pin}", tenders=(
            TenderInput("gift_card", amount, number, pin),))  # fmt: skip

    with pytest.raises(InvalidInput) as wrong:
        await pos.purchase(till, by_card("70.00", pin="9999"), "k0", "h0")
    assert wrong.value.field == "tenders[0].pin"
    done = await pos.purchase(till, by_card("70.00"), "k1", "h1")
    assert isinstance(done, CommandResult) and done.status_code == 201, done
    paid = stored_result(PurchaseResult, done.body)
    assert paid is not None and (paid.to_collect_minor, paid.points_earned) == (180_00, 7)
    card = await _card(fake, number)
    assert (card.balance_minor, card.failed_pin_attempts) == (30_00, 0)  # the right PIN clears the count
    with pytest.raises(Conflict) as lost:  # the card read with 30.00, spent meanwhile: the guard refuses it all
        reads = cards.gift_card_funds

        async def stale(*args, **kwargs):  # type: ignore[no-untyped-def]
            funds = await reads(*args, **kwargs)
            async with fake.unit_of_work() as uow:
                await uow.debit_gift_card(funds.card_id, 20_00, clock.now())
            return funds

        cards.gift_card_funds = stale  # type: ignore[method-assign]
        await pos.purchase(till, by_card("30.00"), "k2", "h2")
    assert lost.value.field == "tenders[0].amount" and len(fake.state.purchases) == 1
    cards.gift_card_funds = reads  # type: ignore[method-assign]

    refund = await pos.refund(till, paid.id, RefundInput(amount="100.00"), "refund", "refund")
    refunded = stored_result(Refunded, refund.body)
    assert refunded is not None and refunded.to_gift_cards is not None
    assert [(c.number, c.amount_minor) for c in refunded.to_gift_cards] == [(number, 28_00)]
    assert refunded.money_back_minor == 72_00
    assert (await _card(fake, number)).balance_minor == 10_00 + 28_00


async def _card(fake: FakePos, number: str) -> GiftCard:
    return next(card for card in fake.state.gift_cards.values() if card.number == number)
