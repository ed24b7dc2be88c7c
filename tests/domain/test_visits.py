"""The reset at a visit's end, without a database: only what the visit added, from the newest lots first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.errors import Conflict
from coalition.domain.ledger import TransactionKind
from coalition.domain.lots import Lot, LotTake
from coalition.domain.purchase import ExpiryAccounts, MemberPoints
from coalition.domain.visits import (
    Visit,
    after_reset,
    lots_to_reset,
    plan_reset,
    points_left_from_visit,
    require_open,
    reset_takes,
)

NOW = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
PROGRAM = BonusProgram(id=1, code="park", currency="RUB", tiers=(Tier(0, 1000, 0, 5000),))


def test_the_reset_takes_what_the_visit_added_net_and_never_more_than_the_balance():
    assert points_left_from_visit(balance=130, added_during_visit=90) == 90
    assert points_left_from_visit(balance=50, added_during_visit=90) == 50  # expired or spent meanwhile
    assert points_left_from_visit(balance=130, added_during_visit=-20) == 0  # spent more than it added
    assert points_left_from_visit(balance=-10, added_during_visit=30) == 0  # a debt is not reset


def test_the_reset_takes_the_newest_lots_first_and_posts_breakage_under_the_policy():
    lots = (Lot(1, 40, None, granting_partner_id=7), Lot(2, 60, None, 7), Lot(3, 30, None, 8))
    assert reset_takes(lots, 70) == (LotTake(3, 30), LotTake(2, 40))
    state = MemberPoints(130, 5000, lots)
    due = lots_to_reset(state, 70, NOW)
    assert due == (Lot(3, 30, NOW, 8), Lot(2, 40, NOW, 7))
    accounts = ExpiryAccounts(
        member_points=4, points_breakage=9, node_obligations=5, partner_obligations={7: 17, 8: 18}
    )
    returned = BreakagePolicy(PointsBreakage.RETURNED)
    plan = plan_reset(PROGRAM, accounts, due, NOW, returned, "v1")
    assert plan is not None and plan.points == 70
    assert plan.transaction.kind is TransactionKind.EXPIRY and plan.transaction.memo.startswith("visit v1 ended")
    # 70 points to breakage; each granting partner's obligation released at 1.00 a point (minor units: ×100)
    sums = {(p.account_id, p.asset): p.amount for p in plan.transaction.postings}
    assert sums[(4, PROGRAM.points_asset)] == -70 and sums[(9, PROGRAM.points_asset)] == 70
    assert sums[(17, PROGRAM.money_asset)] == 4000 and sums[(18, PROGRAM.money_asset)] == 3000
    assert sums[(5, PROGRAM.money_asset)] == -7000
    after = after_reset(state, plan)
    assert after == MemberPoints(60, 5000, (Lot(1, 40, None, 7), Lot(2, 20, None, 7), Lot(3, 0, None, 8)))
    kept = plan_reset(PROGRAM, accounts, due, NOW, BreakagePolicy(), "v1")
    assert kept is not None and len(kept.transaction.postings) == 2  # the node keeps the obligations
    assert plan_reset(PROGRAM, accounts, lots_to_reset(state, 0, NOW), NOW, returned, "v1") is None


def test_the_lots_cannot_give_more_than_they_hold():
    with pytest.raises(ValueError):
        reset_takes((Lot(1, 10, None),), 11)


def test_an_ended_visit_cannot_end_again():
    require_open(Visit("v1", 1, 1, NOW))
    with pytest.raises(Conflict):
        require_open(Visit("v1", 1, 1, NOW, ended_at=NOW, exit_outlet_id=2))


@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=8),
    st.integers(min_value=-600, max_value=4000),
)
def test_after_a_reset_the_lots_still_sum_to_the_balance(remaining: list[int], added: int):
    lots = tuple(Lot(index + 1, points, None, 7) for index, points in enumerate(remaining))
    state = MemberPoints(sum(remaining), 0, lots)
    points = points_left_from_visit(state.balance, added)
    accounts = ExpiryAccounts(4, 9, 5, {7: 17})
    plan = plan_reset(PROGRAM, accounts, lots_to_reset(state, points, NOW), NOW, BreakagePolicy(), "v")
    after = after_reset(state, plan)
    assert after.balance == sum(lot.remaining for lot in after.lots) == state.balance - points
    assert all(lot.remaining >= 0 for lot in after.lots)
