"""Points breakage: lots know their grantor; an expiry keeps, returns or shares the granting partner's obligation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.breakage import KEEP_BREAKAGE, BreakagePolicy, PointsBreakage, parse_breakage_policy
from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import TransactionKind, sums_per_asset
from coalition.domain.lots import GrantedPoints, Lot, LotTake, take_from_lots
from coalition.domain.purchase import (
    ExpiryAccounts,
    MemberPoints,
    NewLot,
    expired_grantors,
    plan_bonus,
    plan_expiry,
    plan_node_bonus,
    plan_purchase,
)
from coalition.domain.refunds import PurchaseTotals, plan_refund, points_at
from coalition.domain.settlement import NODE, Flows, Party, statement_of
from tests.domain.support import (
    ACCOUNTS,
    BREAKAGE_ACCOUNT,
    EXPIRY_ACCOUNTS,
    GRANTOR,
    MONEY,
    NOW,
    OTHER_GRANTOR,
    OTHER_PARTNER_ACCOUNT,
    POINTS,
    apply_lots,
    lot_total,
    posting_set,
    small_shop,
)

DAY = timedelta(days=1)
PROGRAM = small_shop()  # 1 point = 1.00
MEMBER, PARTNER, NODE_OBLIGATIONS = 1, 4, 5
RETURNED = BreakagePolicy(PointsBreakage.RETURNED)
SHARED_A_THIRD = BreakagePolicy(PointsBreakage.SHARED, 3333)

# A member's lots: 50 left of a lot GRANTOR granted (the rest was spent), 45 OTHER_GRANTOR granted, 100 of a birthday
# bonus (the node's own) — all expired — and 30 of GRANTOR's not yet expired.
LOTS = (
    Lot(1, 50, NOW - DAY, GRANTOR),
    Lot(2, 45, NOW - 2 * DAY, OTHER_GRANTOR),
    Lot(3, 100, NOW - DAY, None),
    Lot(4, 30, NOW + DAY, GRANTOR),
)


# --- the policy ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "share_bp", "expected"),
    [
        ("kept", None, BreakagePolicy()),
        ("returned", None, RETURNED),
        (" shared ", 3333, SHARED_A_THIRD),
        ("shared", 0, BreakagePolicy(PointsBreakage.SHARED, 0)),
        ("shared", 10_000, BreakagePolicy(PointsBreakage.SHARED, 10_000)),
    ],
)
def test_a_policy_is_parsed_from_what_the_administrator_sends(
    policy: str, share_bp: int | None, expected: BreakagePolicy
) -> None:
    assert parse_breakage_policy(policy, share_bp) == expected


@pytest.mark.parametrize(
    ("policy", "share_bp", "field", "message"),
    [
        ("lost", None, "policy", "'lost' is not a breakage policy"),
        (None, None, "policy", "policy is one of 'kept', 'returned', 'shared'"),
        ("shared", None, "share_bp", "needs share_bp"),
        ("shared", 10_001, "share_bp", "0 to 10000 basis points, not 10001"),
        ("shared", -1, "share_bp", "0 to 10000 basis points, not -1"),
        ("shared", "25", "share_bp", "a whole number of basis points"),
        ("shared", True, "share_bp", "a whole number of basis points"),
        ("returned", 5_000, "share_bp", "only to the 'shared' policy, not to 'returned'"),
        ("kept", 0, "share_bp", "only to the 'shared' policy, not to 'kept'"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(policy: object, share_bp: object, field: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        parse_breakage_policy(policy, share_bp)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("policy", "value_minor", "returned_minor"),
    [
        (KEEP_BREAKAGE, 5_000, 0),
        (RETURNED, 5_000, 5_000),
        (SHARED_A_THIRD, 5_000, 1_666),  # 1,666.5 rounded down: the half unit stays with the node
        (SHARED_A_THIRD, 1, 0),
        (BreakagePolicy(PointsBreakage.SHARED, 2_500), 4_500, 1_125),
        (BreakagePolicy(PointsBreakage.SHARED, 0), 4_500, 0),
        (BreakagePolicy(PointsBreakage.SHARED, 10_000), 4_500, 4_500),
    ],
)
def test_the_partners_share_rounds_down_and_the_node_keeps_the_rest(
    policy: BreakagePolicy, value_minor: int, returned_minor: int
) -> None:
    assert policy.returned_minor(value_minor) == returned_minor


# --- expiry under each policy -------------------------------------------------------------------------------------


def test_kept_breakage_moves_only_points() -> None:
    plan = plan_expiry(PROGRAM, EXPIRY_ACCOUNTS, LOTS, NOW)
    assert plan is not None
    assert (plan.points, plan.returned, plan.returned_minor) == (195, (), 0)
    assert plan.takes == (LotTake(1, 50), LotTake(2, 45), LotTake(3, 100))
    assert posting_set(plan.transaction) == [(MEMBER, POINTS, -195), (BREAKAGE_ACCOUNT, POINTS, 195)]
    assert plan.transaction.memo == "points expired"


def test_returned_breakage_pays_each_granting_partner_the_value_of_its_expired_points() -> None:
    plan = plan_expiry(PROGRAM, EXPIRY_ACCOUNTS, LOTS, NOW, RETURNED)
    assert plan is not None
    assert plan.transaction.kind is TransactionKind.EXPIRY
    assert posting_set(plan.transaction) == sorted(
        [
            (MEMBER, POINTS, -195),
            (BREAKAGE_ACCOUNT, POINTS, 195),
            (NODE_OBLIGATIONS, MONEY, -9_500),  # the node releases 50.00 + 45.00; the birthday's 100 stay its own
            (PARTNER, MONEY, 5_000),
            (OTHER_PARTNER_ACCOUNT, MONEY, 4_500),
        ]
    )
    assert plan.returned_minor == 9_500
    assert plan.transaction.memo == "points expired: breakage returned"


def test_shared_breakage_rounds_each_partners_share_down() -> None:
    plan = plan_expiry(PROGRAM, EXPIRY_ACCOUNTS, LOTS, NOW, SHARED_A_THIRD)
    assert plan is not None
    # 33.33 % of 50.00 = 16.665 → 16.66; of 45.00 = 14.9985 → 14.99
    assert [(value.partner_id, value.amount_minor) for value in plan.returned] == [
        (GRANTOR, 1_666),
        (OTHER_GRANTOR, 1_499),
    ]
    assert posting_set(plan.transaction) == sorted(
        [
            (MEMBER, POINTS, -195),
            (BREAKAGE_ACCOUNT, POINTS, 195),
            (NODE_OBLIGATIONS, MONEY, -3_165),
            (PARTNER, MONEY, 1_666),
            (OTHER_PARTNER_ACCOUNT, MONEY, 1_499),
        ]
    )
    assert plan.transaction.memo == "points expired: breakage shared (3333 bp to the granting partner)"


def test_only_the_node_s_own_points_expiring_release_nothing() -> None:
    lots = (Lot(1, 100, NOW - DAY, None), Lot(2, 10, NOW + DAY, GRANTOR))
    assert expired_grantors(lots, NOW) == []
    plan = plan_expiry(PROGRAM, ExpiryAccounts(MEMBER, BREAKAGE_ACCOUNT, NODE_OBLIGATIONS), lots, NOW, RETURNED)
    assert plan is not None
    assert posting_set(plan.transaction) == [(MEMBER, POINTS, -100), (BREAKAGE_ACCOUNT, POINTS, 100)]


def test_the_partners_to_pay_are_those_that_granted_expired_points() -> None:
    assert expired_grantors(LOTS, NOW) == [GRANTOR, OTHER_GRANTOR]
    without_other = ExpiryAccounts(MEMBER, BREAKAGE_ACCOUNT, NODE_OBLIGATIONS, {GRANTOR: PARTNER})
    with pytest.raises(ValueError, match=f"no obligations account given for partner {OTHER_GRANTOR}"):
        plan_expiry(PROGRAM, without_other, LOTS, NOW, RETURNED)
    assert plan_expiry(PROGRAM, without_other, LOTS, NOW) is not None  # kept: no partner account needed


lots_strategy = st.lists(
    st.tuples(
        st.integers(0, 5_000),
        st.integers(-30, 30),
        st.sampled_from([GRANTOR, OTHER_GRANTOR, None]),
    ),
    max_size=8,
).map(lambda rows: tuple(Lot(i, left, NOW + days * DAY, who) for i, (left, days, who) in enumerate(rows, 1)))
policies = st.one_of(
    st.just(KEEP_BREAKAGE),
    st.just(RETURNED),
    st.integers(0, 10_000).map(lambda bp: BreakagePolicy(PointsBreakage.SHARED, bp)),
)


@given(lots_strategy, policies, st.sampled_from([1, 50, 100, 1_000]))
def test_every_expiry_balances_and_returns_at_most_each_grantors_value(
    lots: tuple[Lot, ...], policy: BreakagePolicy, point_value: int
) -> None:
    program = small_shop(point_value_minor=point_value)
    plan = plan_expiry(program, EXPIRY_ACCOUNTS, lots, NOW, policy)
    expired = [lot for lot in lots if lot.expires_at is not None and lot.expires_at <= NOW and lot.remaining]
    if not expired:
        assert plan is None
        return
    assert plan is not None
    assert all(total == 0 for total in sums_per_asset(plan.transaction.postings).values())
    assert plan.points == sum(lot.remaining for lot in expired)
    for value in plan.returned:
        granted = sum(lot.remaining for lot in expired if lot.granting_partner_id == value.partner_id)
        assert 0 < value.amount_minor <= granted * point_value
        if policy.kind is PointsBreakage.RETURNED:
            assert value.amount_minor == granted * point_value
    assert len(plan.transaction.postings) <= 2 + 1 + 2  # points, one node posting, one per granting partner


# --- lots remember their grantor ----------------------------------------------------------------------------------


def test_a_purchase_a_welcome_bonus_and_a_birthday_bonus_name_their_grantor() -> None:
    empty = MemberPoints(0, 0, ())
    assert plan_purchase(PROGRAM, ACCOUNTS, empty, 100_000, None, NOW).new_lots == (
        NewLot(30, None, granting_partner_id=GRANTOR),
    )
    assert plan_bonus(PROGRAM, ACCOUNTS, empty, 50, NOW, "welcome").new_lots == (
        NewLot(50, None, granting_partner_id=GRANTOR),
    )
    node_bonus = plan_node_bonus(PROGRAM, 2, MEMBER, empty, 100, NOW, "birthday")
    assert node_bonus.new_lots == (NewLot(100, None, granting_partner_id=None),)


def test_never_expiring_points_top_up_only_a_lot_of_the_same_grantor() -> None:
    state = MemberPoints(150, 0, (Lot(1, 100, None, OTHER_GRANTOR), Lot(2, 50, None, None)))
    assert plan_purchase(PROGRAM, ACCOUNTS, state, 100_000, None, NOW).new_lots == (
        NewLot(30, None, granting_partner_id=GRANTOR),
    )
    with_own = MemberPoints(160, 0, (*state.lots, Lot(3, 10, None, GRANTOR)))
    assert plan_purchase(PROGRAM, ACCOUNTS, with_own, 100_000, None, NOW).new_lots == (NewLot(30, None, 3, GRANTOR),)
    birthday = plan_node_bonus(PROGRAM, 2, MEMBER, with_own, 100, NOW, "birthday")
    assert birthday.new_lots == (NewLot(100, None, 2, None),)


def test_a_clawback_takes_the_refunding_partners_points_first() -> None:
    lots = [Lot(1, 40, NOW + DAY, OTHER_GRANTOR), Lot(2, 30, NOW + 5 * DAY, GRANTOR), Lot(3, 20, None, GRANTOR)]
    assert take_from_lots(lots, 60, NOW, partner_first=GRANTOR) == ([LotTake(2, 30), LotTake(3, 20), LotTake(1, 10)], 0)
    assert take_from_lots(lots, 60, NOW) == ([LotTake(1, 40), LotTake(2, 20)], 0)


# --- refunds give spent points back with their grantor ------------------------------------------------------------

# A 2,000.00 check paid with 300 points: 120 taken from OTHER_GRANTOR's lot, then 180 from GRANTOR's.
SPENT = (GrantedPoints(OTHER_GRANTOR, 120), GrantedPoints(GRANTOR, 180))
PURCHASE = PurchaseTotals(200_000, 170_000, 0, 300, 0, SPENT)


def test_points_at_walks_the_spend_order() -> None:
    assert points_at(SPENT, 0, 75, GRANTOR) == [GrantedPoints(OTHER_GRANTOR, 75)]
    assert points_at(SPENT, 75, 75, GRANTOR) == [GrantedPoints(OTHER_GRANTOR, 45), GrantedPoints(GRANTOR, 30)]
    assert points_at(SPENT, 150, 150, GRANTOR) == [GrantedPoints(GRANTOR, 150)]
    assert points_at((), 0, 10, GRANTOR) == [GrantedPoints(GRANTOR, 10)]  # nothing recorded: the refunding partner
    assert points_at(SPENT, 290, 20, None) == [GrantedPoints(GRANTOR, 10), GrantedPoints(None, 10)]


def test_partial_refunds_return_each_grantors_points_exactly() -> None:
    program = small_shop(points_expire_days=30)
    state, totals = MemberPoints(0, 200_000, ()), PURCHASE
    returned: dict[int | None, int] = {}
    for step, refund_minor in enumerate((50_000, 50_000, 100_000), start=1):
        plan = plan_refund(program, ACCOUNTS, state, totals, refund_minor, NOW)
        for lot in plan.new_lots:
            returned[lot.granting_partner_id] = returned.get(lot.granting_partner_id, 0) + lot.points
        lots = apply_lots(state.lots, plan.lot_takes, plan.new_lots, next_id=10 * step)
        state = MemberPoints(plan.balance_after, 0, lots)
        totals = PurchaseTotals(200_000, 170_000, 0, 300, totals.refunded_before_minor + refund_minor, SPENT)
    assert returned == {OTHER_GRANTOR: 120, GRANTOR: 180}
    assert lot_total(state.lots) == state.balance == 300


def test_points_paying_off_a_debt_are_not_given_back_as_a_lot() -> None:
    state = MemberPoints(-100, 0, (Lot(1, 0, None, GRANTOR),))
    plan = plan_refund(PROGRAM, ACCOUNTS, state, PURCHASE, 200_000, NOW)
    assert plan.balance_after == 200
    # 100 of the 300 points returned pay the debt; the first 200 in spend order come back as lots (120 of
    # OTHER_GRANTOR's, 80 of GRANTOR's — a lot of its own: the old one is empty)
    assert plan.new_lots == (NewLot(120, None, None, OTHER_GRANTOR), NewLot(80, None, None, GRANTOR))


# --- settlement ---------------------------------------------------------------------------------------------------


def test_breakage_is_a_figure_of_its_own_in_the_partners_net() -> None:
    flows = Flows().plus(TransactionKind.PURCHASE, -20_000).plus(TransactionKind.EXPIRY, 5_000)
    assert (flows.granted_minor, flows.breakage_minor, flows.net_minor) == (20_000, 5_000, -15_000)
    assert (flows + flows).breakage_minor == 10_000
    tickets, cafe = Party("Tickets", 1), Party("Cafe", 2)
    start = datetime(2026, 7, 1, tzinfo=UTC)
    statement = statement_of(1, start, start + DAY, "RUB", {tickets: flows, cafe: Flows(breakage_minor=1_499)}, start)
    assert statement.positions == {tickets: -15_000, cafe: 1_499, NODE: 13_501}
    assert sum(statement.positions.values()) == 0
