"""Points lots: spent soonest-expiring first, expired lots skipped, debt paid off by new accruals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import InsufficientPoints
from coalition.domain.lots import (
    Lot,
    LotTake,
    expired_points,
    is_expired,
    new_lot_points,
    spend_from_lots,
    spend_order,
    spendable_points,
    take_from_lots,
)
from tests.domain.support import NOW

DAY = timedelta(days=1)


def test_spend_order_is_soonest_expiry_first_then_no_expiry_then_by_id() -> None:
    lots = [
        Lot(1, 10, None),
        Lot(2, 10, NOW + 30 * DAY),
        Lot(3, 10, NOW + 5 * DAY),
        Lot(4, 10, None),
        Lot(5, 10, NOW + 5 * DAY),
    ]
    assert [lot.id for lot in spend_order(lots)] == [3, 5, 2, 1, 4]


def test_a_lot_expires_at_its_expiry_instant() -> None:
    assert is_expired(Lot(1, 5, NOW), NOW)
    assert is_expired(Lot(1, 5, NOW - DAY), NOW)
    assert not is_expired(Lot(1, 5, NOW + timedelta(seconds=1)), NOW)
    assert not is_expired(Lot(1, 5, None), NOW)


def test_spendable_and_expired_points_split_the_lots() -> None:
    lots = [Lot(1, 40, NOW - DAY), Lot(2, 60, NOW + DAY), Lot(3, 7, None)]
    assert spendable_points(lots, NOW) == 67
    assert expired_points(lots, NOW) == 40


def test_take_spends_soonest_expiring_lots_first() -> None:
    lots = [Lot(1, 50, None), Lot(2, 30, NOW + 10 * DAY), Lot(3, 20, NOW + 2 * DAY)]
    takes, shortfall = take_from_lots(lots, 45, NOW)
    assert takes == [LotTake(3, 20), LotTake(2, 25)]
    assert shortfall == 0


def test_lots_without_expiry_are_spent_last() -> None:
    lots = [Lot(1, 50, None), Lot(2, 30, NOW + 10 * DAY)]
    takes, shortfall = take_from_lots(lots, 60, NOW)
    assert takes == [LotTake(2, 30), LotTake(1, 30)]
    assert shortfall == 0


def test_expired_and_empty_lots_are_skipped() -> None:
    lots = [Lot(1, 100, NOW - DAY), Lot(2, 0, NOW + DAY), Lot(3, 10, NOW + 3 * DAY)]
    takes, shortfall = take_from_lots(lots, 10, NOW)
    assert takes == [LotTake(3, 10)]
    assert shortfall == 0


def test_taking_more_than_the_lots_hold_reports_the_shortfall() -> None:
    lots = [Lot(1, 100, NOW - DAY), Lot(2, 15, NOW + DAY), Lot(3, 10, None)]
    takes, shortfall = take_from_lots(lots, 40, NOW)
    assert takes == [LotTake(2, 15), LotTake(3, 10)]
    assert shortfall == 15


def test_taking_zero_points_takes_nothing() -> None:
    assert take_from_lots([Lot(1, 5, None)], 0, NOW) == ([], 0)


def test_spend_from_lots_refuses_a_shortfall() -> None:
    lots = [Lot(1, 100, NOW - DAY), Lot(2, 15, None)]
    assert spend_from_lots(lots, 15, NOW) == [LotTake(2, 15)]
    with pytest.raises(InsufficientPoints, match="16 points asked, 15 available") as error:
        spend_from_lots(lots, 16, NOW)
    assert error.value.field == "redeem_points"


@pytest.mark.parametrize(
    ("balance_before", "accrued", "in_new_lot"),
    [(0, 50, 50), (100, 50, 50), (-20, 50, 30), (-50, 50, 0), (-80, 50, 0), (-1, 0, 0), (0, 0, 0)],
)
def test_new_lot_points_pay_off_debt_first(balance_before: int, accrued: int, in_new_lot: int) -> None:
    assert new_lot_points(balance_before, accrued) == in_new_lot


lots_strategy = st.lists(
    st.tuples(st.integers(0, 1000), st.one_of(st.none(), st.integers(-10, 10))), min_size=0, max_size=8
).map(lambda rows: [Lot(i, rem, None if d is None else NOW + d * DAY) for i, (rem, d) in enumerate(rows, 1)])


@given(lots_strategy, st.integers(0, 10_000))
def test_takes_never_overdraw_a_lot_and_account_for_every_point(lots: list[Lot], points: int) -> None:
    takes, shortfall = take_from_lots(lots, points, NOW)
    by_id = {lot.id: lot for lot in lots}
    assert len({take.lot_id for take in takes}) == len(takes)
    for take in takes:
        assert 0 < take.points <= by_id[take.lot_id].remaining
        assert not is_expired(by_id[take.lot_id], NOW)
    assert sum(take.points for take in takes) + shortfall == points
    assert shortfall == max(0, points - spendable_points(lots, NOW))


@given(lots_strategy, st.integers(0, 10_000))
def test_a_later_expiring_lot_is_touched_only_when_the_earlier_ones_are_used_up(lots: list[Lot], points: int) -> None:
    takes, _ = take_from_lots(lots, points, NOW)
    by_id = {lot.id: lot for lot in lots}
    ordered = [by_id[take.lot_id] for take in takes]
    assert ordered == spend_order(ordered)
    for take in takes[:-1]:
        assert take.points == by_id[take.lot_id].remaining
