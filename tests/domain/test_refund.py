"""Refunds: prorated clawback of earned points, return of redeemed points, money back, debts."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coalition.domain.errors import InvalidInput, RefundNotAllowed
from coalition.domain.ledger import TransactionKind, validate
from coalition.domain.lots import Lot, LotTake, take_from_lots
from coalition.domain.purchase import MemberPoints, NewLot, plan_purchase
from coalition.domain.refunds import PurchaseTotals, RefundPlan, cumulative_share, plan_refund
from tests.domain.support import (
    ACCOUNTS,
    GRANTOR,
    MONEY,
    NOW,
    POINTS,
    account_totals,
    apply_lots,
    lot_total,
    member_states,
    posting_set,
    small_shop,
)

DAY = timedelta(days=1)
PROGRAM = small_shop()
MEMBER, ISSUED, REDEEMED, PARTNER, NODE = 1, 2, 3, 4, 5

# The worked purchase: a 2,000.00 check, 300 points redeemed, 1,700.00 paid in money, 51 points earned.
PURCHASE = PurchaseTotals(
    check_minor=200_000, amount_due_minor=170_000, points_earned=51, points_redeemed=300, refunded_before_minor=0
)


def refunded(totals: PurchaseTotals, refund_minor: int) -> PurchaseTotals:
    return PurchaseTotals(
        totals.check_minor,
        totals.amount_due_minor,
        totals.points_earned,
        totals.points_redeemed,
        totals.refunded_before_minor + refund_minor,
    )


# --- cumulative shares ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "refund", "share"),
    [(0, 50_000, 12), (50_000, 50_000, 13), (100_000, 100_000, 26), (0, 200_000, 51), (0, 1, 0), (199_999, 1, 1)],
)
def test_cumulative_share_of_51_points_over_a_2000_check(before: int, refund: int, share: int) -> None:
    assert cumulative_share(51, before, refund, 200_000) == share


# --- worked refunds ---------------------------------------------------------------------------------------------


def test_worked_partial_refund_claws_back_returns_and_reverses_obligations() -> None:
    state = MemberPoints(
        balance=251, lifetime_spend_minor=200_000, lots=(Lot(2, 200, None, GRANTOR), Lot(3, 51, None, GRANTOR))
    )
    plan = plan_refund(PROGRAM, ACCOUNTS, state, PURCHASE, 50_000, NOW)  # a quarter of the check

    assert plan.refund_minor == 50_000
    assert plan.points_clawed_back == 12  # ⌊51 / 4⌋
    assert plan.points_returned == 75  # 300 / 4
    assert plan.money_back_minor == 42_500  # 1,700.00 / 4
    assert plan.transaction is not None
    assert plan.transaction.kind is TransactionKind.REFUND
    assert posting_set(plan.transaction) == sorted(
        [
            (ISSUED, POINTS, 12),  # member → issued: the clawback
            (MEMBER, POINTS, -12),
            (MEMBER, POINTS, 75),  # redeemed → member: the points given back
            (REDEEMED, POINTS, -75),
            (PARTNER, MONEY, 1_200),  # the partner owes the node 12 points less
            (NODE, MONEY, -1_200),
            (NODE, MONEY, 7_500),  # the node owes the partner 75 points less
            (PARTNER, MONEY, -7_500),
        ]
    )
    assert plan.lot_takes == (LotTake(2, 12),)
    # never-expiring points top up the open lot of the same grantor
    assert plan.new_lots == (NewLot(75, None, top_up_lot_id=2, granting_partner_id=GRANTOR),)
    assert plan.balance_after == 314
    assert plan.lifetime_spend_after_minor == 150_000


def test_three_partial_refunds_return_exactly_what_the_purchase_moved() -> None:
    state = MemberPoints(balance=251, lifetime_spend_minor=200_000, lots=(Lot(1, 251, None, GRANTOR),))
    totals, plans = PURCHASE, []
    for refund_minor in (50_000, 50_000, 100_000):
        plan = plan_refund(PROGRAM, ACCOUNTS, state, totals, refund_minor, NOW)
        plans.append(plan)
        state = MemberPoints(
            plan.balance_after,
            plan.lifetime_spend_after_minor,
            apply_lots(state.lots, plan.lot_takes, plan.new_lots, next_id=len(state.lots) + 1),
        )
        totals = refunded(totals, refund_minor)
    assert [p.points_clawed_back for p in plans] == [12, 13, 26]
    assert [p.points_returned for p in plans] == [75, 75, 150]
    assert [p.money_back_minor for p in plans] == [42_500, 42_500, 85_000]
    assert state.balance == 251 - 51 + 300 == 500
    assert lot_total(state.lots) == 500
    assert state.lifetime_spend_minor == 0


def test_returned_points_get_a_fresh_lot_under_an_expiring_program() -> None:
    program = small_shop(points_expire_days=180)
    state = MemberPoints(balance=51, lifetime_spend_minor=200_000, lots=(Lot(1, 51, NOW + 100 * DAY, GRANTOR),))
    plan = plan_refund(program, ACCOUNTS, state, PURCHASE, 200_000, NOW)
    assert plan.lot_takes == (LotTake(1, 51),)
    assert plan.new_lots == (NewLot(300, NOW + 180 * DAY, granting_partner_id=GRANTOR),)
    assert plan.balance_after == 300


def test_clawback_leaves_alone_what_of_the_earn_expired_and_what_earlier_refunds_took() -> None:
    # 60 earned: 40 of them expired (breakage took them); the member holds 100 other points
    state = MemberPoints(balance=100, lifetime_spend_minor=200_000, lots=(Lot(1, 100, None, GRANTOR),))
    half = PurchaseTotals(200_000, 200_000, 60, 0, 0, earned_gone=40)
    first = plan_refund(PROGRAM, ACCOUNTS, state, half, 100_000, NOW)
    assert (first.points_clawed_back, first.balance_after) == (20, 80)  # the half's 30, but only 20 are left
    rest = PurchaseTotals(200_000, 200_000, 60, 0, 100_000, earned_gone=40 + 20)
    second = plan_refund(PROGRAM, ACCOUNTS, state, rest, 100_000, NOW)
    assert (second.points_clawed_back, second.transaction) == (0, None)
    # all of it expired: a full refund claws back nothing
    gone = plan_refund(
        PROGRAM, ACCOUNTS, state, PurchaseTotals(200_000, 200_000, 60, 0, 0, earned_gone=60), 200_000, NOW
    )
    assert (gone.points_clawed_back, gone.lot_takes, gone.balance_after) == (0, (), 100)


def test_clawback_of_points_already_spent_leaves_a_debt() -> None:
    # The 51 earned points were spent since; the member has 10 left, and the purchase redeemed nothing.
    purchase = PurchaseTotals(200_000, 200_000, 60, 0, 0)
    state = MemberPoints(balance=10, lifetime_spend_minor=200_000, lots=(Lot(1, 10, None, GRANTOR),))
    plan = plan_refund(PROGRAM, ACCOUNTS, state, purchase, 200_000, NOW)
    assert plan.points_clawed_back == 60
    assert plan.lot_takes == (LotTake(1, 10),)
    assert plan.new_lots == ()
    assert plan.balance_after == -50
    assert posting_set(plan.transaction) == sorted(
        [(ISSUED, POINTS, 60), (MEMBER, POINTS, -60), (PARTNER, MONEY, 6_000), (NODE, MONEY, -6_000)]
    )
    # The next accrual pays the debt off first: 3 % of 2,000 = 60 points, 10 of them left in a lot.
    after = MemberPoints(plan.balance_after, 0, apply_lots(state.lots, plan.lot_takes, plan.new_lots, next_id=2))
    nxt = plan_purchase(PROGRAM, ACCOUNTS, after, 200_000, None, NOW)
    assert nxt.new_lots == (NewLot(10, None, granting_partner_id=GRANTOR),)
    assert nxt.balance_after == 10


def test_returned_points_pay_off_the_clawback_shortfall_first() -> None:
    purchase = PurchaseTotals(200_000, 170_000, 51, 300, 0)
    state = MemberPoints(balance=10, lifetime_spend_minor=0, lots=(Lot(1, 10, None, GRANTOR),))
    plan = plan_refund(PROGRAM, ACCOUNTS, state, purchase, 200_000, NOW)
    assert plan.lot_takes == (LotTake(1, 10),)
    assert plan.new_lots == (
        NewLot(259, None, top_up_lot_id=1, granting_partner_id=GRANTOR),
    )  # 300 returned less the 41 the lots could not cover
    assert plan.balance_after == 259


def test_returned_points_pay_off_an_existing_debt_first() -> None:
    purchase = PurchaseTotals(200_000, 170_000, 51, 300, 0)
    state = MemberPoints(balance=-280, lifetime_spend_minor=0, lots=(Lot(1, 0, None, GRANTOR),))
    plan = plan_refund(PROGRAM, ACCOUNTS, state, purchase, 200_000, NOW)
    assert plan.lot_takes == ()
    assert plan.balance_after == -280 - 51 + 300 == -31
    assert plan.new_lots == ()


def test_a_tiny_refund_that_moves_no_points_has_no_transaction() -> None:
    state = MemberPoints(balance=251, lifetime_spend_minor=200_000, lots=(Lot(1, 251, None, GRANTOR),))
    plan = plan_refund(PROGRAM, ACCOUNTS, state, PURCHASE, 1, NOW)  # ⌊51 × 1 / 200,000⌋ = 0
    assert (plan.points_clawed_back, plan.points_returned, plan.money_back_minor) == (0, 0, 0)
    assert plan.transaction is None
    assert plan.lot_takes == ()
    assert plan.new_lots == ()
    assert plan.balance_after == 251
    assert plan.lifetime_spend_after_minor == 199_999


def test_lifetime_spend_never_goes_below_zero() -> None:
    state = MemberPoints(balance=251, lifetime_spend_minor=1_000, lots=(Lot(1, 251, None, GRANTOR),))
    assert plan_refund(PROGRAM, ACCOUNTS, state, PURCHASE, 200_000, NOW).lifetime_spend_after_minor == 0


def test_a_refund_larger_than_what_is_left_is_refused() -> None:
    state = MemberPoints(balance=251, lifetime_spend_minor=200_000, lots=(Lot(1, 251, None, GRANTOR),))
    with pytest.raises(RefundNotAllowed, match=r"at most 2000\.00 RUB of this check") as error:
        plan_refund(PROGRAM, ACCOUNTS, state, PURCHASE, 200_001, NOW)
    assert error.value.field == "amount"
    with pytest.raises(RefundNotAllowed, match=r"at most 500\.00 RUB of this check"):
        plan_refund(PROGRAM, ACCOUNTS, state, refunded(PURCHASE, 150_000), 50_001, NOW)
    with pytest.raises(RefundNotAllowed, match=r"at most 0\.00 RUB of this check"):
        plan_refund(PROGRAM, ACCOUNTS, state, refunded(PURCHASE, 200_000), 1, NOW)


@pytest.mark.parametrize("refund_minor", [0, -1])
def test_a_refund_must_be_positive(refund_minor: int) -> None:
    state = MemberPoints(balance=251, lifetime_spend_minor=200_000, lots=(Lot(1, 251, None, GRANTOR),))
    with pytest.raises(InvalidInput) as error:
        plan_refund(PROGRAM, ACCOUNTS, state, PURCHASE, refund_minor, NOW)
    assert error.value.field == "amount"


# --- properties -------------------------------------------------------------------------------------------------


@st.composite
def splits(draw: st.DrawFn, whole: int) -> list[int]:
    """Positive parts that add up to `whole`."""
    cuts = sorted(draw(st.sets(st.integers(1, whole - 1), max_size=min(6, whole - 1)))) if whole > 1 else []
    bounds = [0, *cuts, whole]
    return [b - a for a, b in pairwise(bounds)]


def step(state: MemberPoints, plan: RefundPlan, next_id: int) -> MemberPoints:
    lots = apply_lots(state.lots, plan.lot_takes, plan.new_lots, next_id)
    return MemberPoints(plan.balance_after, plan.lifetime_spend_after_minor, lots)


@settings(max_examples=300, deadline=None)
@given(
    start=member_states(),
    check=st.integers(1, 10**7),
    point_value=st.sampled_from([50, 100, 1_000]),
    data=st.data(),
)
def test_refunding_a_whole_check_in_parts_undoes_the_purchase_exactly(
    start: MemberPoints, check: int, point_value: int, data: st.DataObject
) -> None:
    program = small_shop(point_value_minor=point_value)
    max_redeem = plan_purchase(program, ACCOUNTS, start, check, None, NOW).quote.max_redeemable_points
    purchase = plan_purchase(program, ACCOUNTS, start, check, data.draw(st.integers(0, max_redeem)), NOW)
    q = purchase.quote
    next_id = 100
    state = MemberPoints(
        purchase.balance_after,
        purchase.lifetime_spend_after_minor,
        apply_lots(start.lots, purchase.lot_takes, purchase.new_lots, next_id),
    )
    assert lot_total(state.lots) == max(state.balance, 0)

    # Between purchase and refund the member may spend any part of the balance elsewhere (a debt may follow).
    spent = data.draw(st.integers(0, max(state.balance, 0)), label="spent elsewhere")
    if spent:
        takes, shortfall = _spend(state, spent)
        assert shortfall == 0
        state = MemberPoints(state.balance - spent, state.lifetime_spend_minor, apply_lots(state.lots, takes, None, 0))

    totals = PurchaseTotals(check, q.amount_due_minor, q.points_to_earn, q.redeem_points, 0)
    balance_before_refunds = state.balance
    transactions = [purchase.transaction]
    clawed = returned = money_back = 0
    for part in data.draw(splits(check), label="refund parts"):
        plan = plan_refund(program, ACCOUNTS, state, totals, part, NOW)
        if plan.transaction is not None:
            assert validate(plan.transaction) == []
            transactions.append(plan.transaction)
            member_delta = account_totals([plan.transaction]).get((MEMBER, program.points_asset), 0)
            assert member_delta == plan.points_returned - plan.points_clawed_back
        assert plan.balance_after == state.balance - plan.points_clawed_back + plan.points_returned
        next_id += 1
        state = step(state, plan, next_id)
        assert lot_total(state.lots) == max(state.balance, 0)
        assert all(lot.remaining >= 0 for lot in state.lots)
        clawed += plan.points_clawed_back
        returned += plan.points_returned
        money_back += plan.money_back_minor
        totals = refunded(totals, part)

    assert clawed == q.points_to_earn
    assert returned == q.redeem_points
    assert money_back == q.amount_due_minor
    assert state.balance == balance_before_refunds - q.points_to_earn + q.redeem_points
    # The purchase and its refunds together leave every account where it was.
    assert set(account_totals(transactions).values()) <= {0}
    with pytest.raises(RefundNotAllowed):
        plan_refund(program, ACCOUNTS, state, totals, 1, NOW)


def _spend(state: MemberPoints, points: int) -> tuple[list[LotTake], int]:
    return take_from_lots(list(state.lots), points, NOW)


@given(
    state=member_states(),
    earned=st.integers(0, 10_000),
    redeemed=st.integers(0, 10_000),
    check=st.integers(1, 10**7),
    data=st.data(),
)
def test_any_refund_plan_balances_and_keeps_the_lot_invariant(
    state: MemberPoints, earned: int, redeemed: int, check: int, data: st.DataObject
) -> None:
    before = data.draw(st.integers(0, check - 1), label="refunded before")
    refund_minor = data.draw(st.integers(1, check - before), label="refund")
    totals = PurchaseTotals(check, check, earned, redeemed, before)
    plan = plan_refund(PROGRAM, ACCOUNTS, state, totals, refund_minor, NOW)
    if plan.transaction is not None:
        assert validate(plan.transaction) == []
    after = step(state, plan, next_id=100)
    assert lot_total(after.lots) == max(after.balance, 0)
    if plan.points_clawed_back > max(state.balance, 0) + plan.points_returned:
        assert after.balance < 0


@given(state=member_states(), check=st.integers(1, 10**7), data=st.data())
def test_a_refund_beyond_what_is_left_is_always_refused(state: MemberPoints, check: int, data: st.DataObject) -> None:
    before = data.draw(st.integers(0, check), label="refunded before")
    excess = data.draw(st.integers(1, 10**6), label="excess")
    totals = PurchaseTotals(check, check, 10, 0, before)
    with pytest.raises(RefundNotAllowed):
        plan_refund(PROGRAM, ACCOUNTS, state, totals, check - before + excess, NOW)
