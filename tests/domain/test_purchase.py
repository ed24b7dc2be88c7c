"""Purchases and expiries planned as ledger transactions and lot changes, before anything is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import InsufficientPoints, InvalidInput, RedeemNotAllowed
from coalition.domain.ledger import TransactionKind, transfer, validate
from coalition.domain.lots import Lot, LotTake
from coalition.domain.purchase import (
    MAX_BASKET_LINES,
    BasketLine,
    MemberPoints,
    NewLot,
    after_expiry,
    basket_total_minor,
    plan_expiry,
    plan_purchase,
    points_balance,
    points_postings,
)
from tests.domain.support import (
    ACCOUNTS,
    BREAKAGE_ACCOUNT,
    EXPIRY_ACCOUNTS,
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


# --- baskets ----------------------------------------------------------------------------------------------------


def test_basket_total_is_the_sum_of_rounded_line_totals() -> None:
    lines = (
        BasketLine("milk", "dairy", 2_000, 8_990),  # 2 × 89.90 = 179.80
        BasketLine("cheese", "dairy", 1_500, 333),  # 1.5 × 3.33 = 4.995 → 5.00
        BasketLine("bread", None, 1_000, 4_500),
    )
    assert [line.total_minor for line in lines] == [17_980, 500, 4_500]
    assert basket_total_minor(lines) == 22_980


def test_an_empty_basket_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="at least one line") as error:
        basket_total_minor(())
    assert error.value.field == "items"


def test_a_basket_has_at_most_500_lines() -> None:
    line = BasketLine("sku", None, 1_000, 100)
    assert basket_total_minor((line,) * MAX_BASKET_LINES) == 50_000
    with pytest.raises(InvalidInput, match="at most 500 lines"):
        basket_total_minor((line,) * (MAX_BASKET_LINES + 1))


# --- purchases --------------------------------------------------------------------------------------------------


def test_worked_purchase_with_points_posts_points_and_obligations() -> None:
    state = MemberPoints(
        balance=500, lifetime_spend_minor=0, lots=(Lot(1, 200, NOW + 10 * DAY, GRANTOR), Lot(2, 300, None, GRANTOR))
    )
    plan = plan_purchase(PROGRAM, ACCOUNTS, state, 200_000, 300, NOW)

    assert plan.quote.amount_due_minor == 170_000
    assert plan.quote.points_to_earn == 51  # 3 % of the 1,700.00 paid in money
    assert plan.transaction is not None
    assert plan.transaction.kind is TransactionKind.PURCHASE
    assert posting_set(plan.transaction) == sorted(
        [
            (ISSUED, POINTS, -51),  # points issued → member
            (MEMBER, POINTS, 51),
            (MEMBER, POINTS, -300),  # member → redeemed
            (REDEEMED, POINTS, 300),
            (PARTNER, MONEY, -5_100),  # the partner owes the node 51 points × 1.00
            (NODE, MONEY, 5_100),
            (NODE, MONEY, -30_000),  # the node owes the partner 300 points × 1.00
            (PARTNER, MONEY, 30_000),
        ]
    )
    assert plan.lot_takes == (LotTake(1, 200), LotTake(2, 100))  # the expiring lot first
    assert plan.new_lots == (
        NewLot(51, None, top_up_lot_id=2, granting_partner_id=GRANTOR),
    )  # the open never-expiring lot grows
    assert plan.balance_after == 251
    assert plan.lifetime_spend_after_minor == 200_000


def test_purchase_without_redemption_only_accrues() -> None:
    state = MemberPoints(balance=0, lifetime_spend_minor=1_000_000, lots=())
    plan = plan_purchase(PROGRAM, ACCOUNTS, state, 100_000, None, NOW)
    assert posting_set(plan.transaction) == sorted(
        [(ISSUED, POINTS, -50), (MEMBER, POINTS, 50), (PARTNER, MONEY, -5_000), (NODE, MONEY, 5_000)]
    )
    assert plan.lot_takes == ()
    assert plan.new_lots == (NewLot(50, None, granting_partner_id=GRANTOR),)
    assert plan.balance_after == 50
    assert plan.lifetime_spend_after_minor == 1_100_000


def test_obligations_follow_the_point_value() -> None:
    program = small_shop(point_value_minor=50)
    state = MemberPoints(balance=1_000, lifetime_spend_minor=0, lots=(Lot(1, 1_000, None, GRANTOR),))
    plan = plan_purchase(program, ACCOUNTS, state, 200_000, 600, NOW)
    assert plan.quote.points_to_earn == 102
    assert posting_set(plan.transaction) == sorted(
        [
            (ISSUED, POINTS, -102),
            (MEMBER, POINTS, 102),
            (MEMBER, POINTS, -600),
            (REDEEMED, POINTS, 600),
            (PARTNER, MONEY, -5_100),  # 102 × 0.50
            (NODE, MONEY, 5_100),
            (NODE, MONEY, -30_000),  # 600 × 0.50
            (PARTNER, MONEY, 30_000),
        ]
    )


def test_a_small_check_that_earns_nothing_moves_no_points() -> None:
    state = MemberPoints(balance=7, lifetime_spend_minor=0, lots=(Lot(1, 7, None, GRANTOR),))
    plan = plan_purchase(PROGRAM, ACCOUNTS, state, 1_000, None, NOW)  # 3 % of 10.00 = 0.30 → 0 points
    assert plan.transaction is None
    assert plan.new_lots == ()
    assert plan.lot_takes == ()
    assert plan.balance_after == 7
    assert plan.lifetime_spend_after_minor == 1_000


def test_new_lot_expires_after_the_programs_lifetime() -> None:
    program = small_shop(points_expire_days=365)
    plan = plan_purchase(program, ACCOUNTS, MemberPoints(0, 0, ()), 100_000, None, NOW)
    assert plan.new_lots == (NewLot(30, NOW + 365 * DAY, granting_partner_id=GRANTOR),)


def test_accrual_pays_off_a_debt_before_filling_a_new_lot() -> None:
    state = MemberPoints(balance=-41, lifetime_spend_minor=0, lots=(Lot(1, 0, None, GRANTOR),))
    plan = plan_purchase(PROGRAM, ACCOUNTS, state, 200_000, None, NOW)
    assert plan.quote.points_to_earn == 60
    assert plan.new_lots == (NewLot(19, None, granting_partner_id=GRANTOR),)
    assert plan.balance_after == 19


def test_accrual_smaller_than_the_debt_leaves_no_new_lot() -> None:
    state = MemberPoints(balance=-100, lifetime_spend_minor=0, lots=())
    plan = plan_purchase(PROGRAM, ACCOUNTS, state, 200_000, None, NOW)
    assert plan.new_lots == ()
    assert plan.balance_after == -40
    assert posting_set(plan.transaction) == sorted(
        [(ISSUED, POINTS, -60), (MEMBER, POINTS, 60), (PARTNER, MONEY, -6_000), (NODE, MONEY, 6_000)]
    )


def test_a_member_in_debt_cannot_redeem() -> None:
    state = MemberPoints(balance=-10, lifetime_spend_minor=0, lots=())
    with pytest.raises(InsufficientPoints):
        plan_purchase(PROGRAM, ACCOUNTS, state, 200_000, 1, NOW)


def test_purchase_refuses_redemption_over_the_cap_or_below_the_minimum() -> None:
    state = MemberPoints(balance=1_000, lifetime_spend_minor=0, lots=(Lot(1, 1_000, None, GRANTOR),))
    with pytest.raises(RedeemNotAllowed):
        plan_purchase(PROGRAM, ACCOUNTS, state, 200_000, 301, NOW)
    with pytest.raises(RedeemNotAllowed):
        plan_purchase(PROGRAM, ACCOUNTS, state, 149_999, 1, NOW)


def test_expired_points_cannot_be_spent() -> None:
    state = MemberPoints(
        balance=100, lifetime_spend_minor=0, lots=(Lot(1, 60, NOW - DAY, GRANTOR), Lot(2, 40, None, GRANTOR))
    )
    assert points_balance(state, NOW) == 40
    with pytest.raises(InsufficientPoints, match="41 points asked, the member has 40"):
        plan_purchase(PROGRAM, ACCOUNTS, state, 200_000, 41, NOW)


# --- expiry -----------------------------------------------------------------------------------------------------


def test_expiry_sweeps_expired_lots_to_breakage() -> None:
    state = MemberPoints(
        balance=110,
        lifetime_spend_minor=5,
        lots=(
            Lot(1, 40, NOW - DAY, GRANTOR),
            Lot(2, 60, NOW + DAY, GRANTOR),
            Lot(3, 0, NOW - 2 * DAY, GRANTOR),
            Lot(4, 10, NOW, GRANTOR),
        ),
    )
    plan = plan_expiry(PROGRAM, EXPIRY_ACCOUNTS, state.lots, NOW)
    assert plan is not None
    assert plan.points == 50
    assert plan.takes == (LotTake(1, 40), LotTake(4, 10))
    assert plan.transaction.kind is TransactionKind.EXPIRY
    assert plan.transaction.memo == "points expired"
    assert posting_set(plan.transaction) == [(MEMBER, POINTS, -50), (BREAKAGE_ACCOUNT, POINTS, 50)]

    after = after_expiry(state, plan)
    assert after == MemberPoints(
        balance=60,
        lifetime_spend_minor=5,
        lots=(
            Lot(1, 0, NOW - DAY, GRANTOR),
            Lot(2, 60, NOW + DAY, GRANTOR),
            Lot(3, 0, NOW - 2 * DAY, GRANTOR),
            Lot(4, 0, NOW, GRANTOR),
        ),
    )
    assert points_balance(after, NOW) == points_balance(state, NOW) == 60


def test_nothing_to_expire_plans_nothing() -> None:
    lots = (Lot(1, 0, NOW - DAY, GRANTOR), Lot(2, 60, NOW + DAY, GRANTOR), Lot(3, 9, None, GRANTOR))
    assert plan_expiry(PROGRAM, EXPIRY_ACCOUNTS, lots, NOW) is None
    state = MemberPoints(69, 0, lots)
    assert after_expiry(state, None) is state


# --- properties -------------------------------------------------------------------------------------------------


@given(member_states(), st.integers(1, 10**8), st.sampled_from([50, 100, 1_000]), st.data())
def test_every_purchase_plan_balances_and_keeps_the_lot_invariant(
    state: MemberPoints, check: int, point_value: int, data: st.DataObject
) -> None:
    program = small_shop(point_value_minor=point_value)
    quote = plan_purchase(program, ACCOUNTS, state, check, None, NOW).quote
    redeem = data.draw(st.integers(0, quote.max_redeemable_points), label="redeem")
    plan = plan_purchase(program, ACCOUNTS, state, check, redeem, NOW)

    earned, redeemed = plan.quote.points_to_earn, plan.quote.redeem_points
    assert plan.balance_after == state.balance - redeemed + earned
    if plan.transaction is None:
        assert earned == redeemed == 0
    else:
        assert validate(plan.transaction) == []
        totals = account_totals([plan.transaction])
        assert totals.get((MEMBER, POINTS), 0) == earned - redeemed
        assert totals.get((ISSUED, POINTS), 0) == -earned
        assert totals.get((REDEEMED, POINTS), 0) == redeemed
        assert totals.get((PARTNER, MONEY), 0) == (redeemed - earned) * point_value
        assert totals.get((NODE, MONEY), 0) == (earned - redeemed) * point_value

    lots = apply_lots(state.lots, plan.lot_takes, plan.new_lots, next_id=100)
    assert lot_total(lots) == max(plan.balance_after, 0)
    if state.balance >= 0:
        assert plan.balance_after >= 0


def test_never_expiring_points_top_up_the_open_lot_instead_of_adding_one() -> None:
    state = MemberPoints(
        balance=500, lifetime_spend_minor=0, lots=(Lot(7, 200, NOW + DAY, GRANTOR), Lot(9, 300, None, GRANTOR))
    )
    plan = plan_purchase(PROGRAM, ACCOUNTS, state, 100_000, None, NOW)
    assert plan.new_lots == (NewLot(30, None, top_up_lot_id=9, granting_partner_id=GRANTOR),)
    emptied = MemberPoints(
        balance=200, lifetime_spend_minor=0, lots=(Lot(7, 200, NOW + DAY, GRANTOR), Lot(9, 0, None, GRANTOR))
    )
    assert plan_purchase(PROGRAM, ACCOUNTS, emptied, 100_000, None, NOW).new_lots == (
        NewLot(30, None, granting_partner_id=GRANTOR),
    )


@given(
    st.one_of(st.just(0), st.integers(-(10**9), 10**9)),
    st.one_of(st.just(0), st.integers(-(10**9), 10**9)),
    st.sampled_from([1, 50, 100, 1000]),
)
def test_points_postings_are_the_four_transfers_in_order(earned: int, redeemed: int, point_value: int) -> None:
    """The postings built in one list are the transfers the purchase is made of: points earned, points redeemed,
    then their values in money between the partner and the node (a pair left out when it moves nothing)."""
    program, a = small_shop(point_value_minor=point_value), ACCOUNTS
    pts, money = program.points_asset, program.money_asset
    expected = (
        *transfer(a.points_issued, a.member_points, pts, earned),
        *transfer(a.member_points, a.points_redeemed, pts, redeemed),
        *transfer(a.partner_obligations, a.node_obligations, money, earned * point_value),
        *transfer(a.node_obligations, a.partner_obligations, money, redeemed * point_value),
    )
    assert points_postings(program, a, earned=earned, redeemed=redeemed) == expected
