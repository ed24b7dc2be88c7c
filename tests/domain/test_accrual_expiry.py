"""Each accrual's points go to a lot of their own expiry (issue 3, point 5): resolved at the outlet's local time,
merged per moment, debts paid off with the soonest-expiring points, and end_of_visit lots swept by the visit's end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.lots import Lot
from coalition.domain.purchase import (
    AccrualPlace,
    AccruedPoints,
    MemberPoints,
    NewLot,
    accrual_lots,
    after_debt,
    end_of_local_month,
    expiring_lots,
    next_local_midnight,
    plan_purchase,
    resolve_expiry,
)
from coalition.domain.rules.engine import PointsGrant, compile_rule_set
from coalition.domain.rules.model import ExpiryKind, PointsExpiry
from coalition.domain.rules.parsing import parse_rule_set
from coalition.domain.rules.pricing import most_lots_per_purchase, points_by_expiry
from coalition.domain.visits import lots_ending_with_visit
from tests.domain.support import ACCOUNTS, GRANTOR, small_shop

MOSCOW = ZoneInfo("Europe/Moscow")
PROGRAM = small_shop()
NOW = datetime(2026, 7, 31, 22, 0, tzinfo=UTC)  # 1 August, 01:00 in Moscow
IN_MOSCOW = AccrualPlace(MOSCOW)
DAYS_7 = PointsExpiry(ExpiryKind.DAYS, 7)
MONTH = PointsExpiry(ExpiryKind.END_OF_MONTH)
VISIT = PointsExpiry(ExpiryKind.END_OF_VISIT)
NEVER = PointsExpiry()


def _quote(*earned: tuple[PointsExpiry, int]):
    base = plan_purchase(PROGRAM, ACCOUNTS, MemberPoints(0, 0, ()), 100_000, None, NOW).quote
    return replace(base, points_to_earn=sum(points for _, points in earned), earned_by_expiry=earned)


def test_a_month_and_a_day_end_at_the_outlets_midnight_in_utc() -> None:
    assert end_of_local_month(NOW, MOSCOW) == datetime(2026, 8, 31, 21, 0, tzinfo=UTC)
    assert end_of_local_month(NOW, UTC) == datetime(2026, 8, 1, 0, 0, tzinfo=UTC)
    assert end_of_local_month(datetime(2026, 12, 10, tzinfo=UTC), MOSCOW) == datetime(2026, 12, 31, 21, tzinfo=UTC)
    assert next_local_midnight(NOW, MOSCOW) == datetime(2026, 8, 1, 21, 0, tzinfo=UTC)
    assert next_local_midnight(datetime(2026, 7, 31, 20, 59, tzinfo=UTC), MOSCOW) == NOW - timedelta(hours=1)


def test_each_kind_resolves_to_its_moment() -> None:
    lasting = small_shop(points_expire_days=30)
    assert resolve_expiry(lasting, DAYS_7, 5, NOW, IN_MOSCOW) == AccruedPoints(5, NOW + timedelta(days=7))
    assert resolve_expiry(lasting, NEVER, 5, NOW, IN_MOSCOW) == AccruedPoints(5, NOW + timedelta(days=30))
    assert resolve_expiry(PROGRAM, NEVER, 5, NOW, IN_MOSCOW) == AccruedPoints(5, None)
    midnight = datetime(2026, 8, 1, 21, 0, tzinfo=UTC)
    assert resolve_expiry(PROGRAM, VISIT, 5, NOW, IN_MOSCOW) == AccruedPoints(5, midnight)
    in_visit = AccrualPlace(MOSCOW, "v-1")
    assert resolve_expiry(PROGRAM, VISIT, 5, NOW, in_visit) == AccruedPoints(5, midnight, "v-1")


def test_grants_of_one_moment_share_a_lot_and_never_expiring_points_top_up() -> None:
    lots = (Lot(9, 40, None, GRANTOR),)
    q = _quote((MONTH, 100), (DAYS_7, 20), (NEVER, 7))
    same_moment = replace(q, earned_by_expiry=((MONTH, 100), (DAYS_7, 20), (NEVER, 7), (MONTH, 3)))
    month_end = datetime(2026, 8, 31, 21, 0, tzinfo=UTC)
    assert accrual_lots(PROGRAM, replace(same_moment, points_to_earn=130), 40, lots, GRANTOR, NOW, IN_MOSCOW) == (
        NewLot(103, month_end, None, GRANTOR),
        NewLot(20, NOW + timedelta(days=7), None, GRANTOR),
        NewLot(7, None, 9, GRANTOR),
    )
    new_lots = accrual_lots(PROGRAM, q, 40, lots, GRANTOR, NOW, IN_MOSCOW)
    assert [lot.points for lot in expiring_lots(new_lots)] == [20, 100]  # soonest first


def test_a_debt_is_paid_off_with_the_soonest_expiring_points() -> None:
    q = _quote((MONTH, 100), (DAYS_7, 20), (NEVER, 7))
    new_lots = accrual_lots(PROGRAM, q, -50, (), GRANTOR, NOW, IN_MOSCOW)
    month_end = datetime(2026, 8, 31, 21, 0, tzinfo=UTC)
    assert new_lots == (NewLot(70, month_end, None, GRANTOR), NewLot(7, None, None, GRANTOR))


@given(st.lists(st.integers(1, 500), min_size=1, max_size=5), st.integers(0, 3_000))
def test_after_debt_keeps_exactly_the_points_beyond_the_debt(points: list[int], debt: int) -> None:
    accrued = [AccruedPoints(p, NOW + timedelta(days=i)) for i, p in enumerate(points)]
    kept = after_debt(accrued, debt)
    assert sum(part.points for part in kept) == max(0, sum(points) - debt)
    assert all(part.points > 0 for part in kept)


def test_the_bonus_program_still_makes_one_lot_with_the_programs_expiry() -> None:
    program = small_shop(points_expire_days=365)
    plan = plan_purchase(program, ACCOUNTS, MemberPoints(0, 0, ()), 100_000, None, NOW, place=IN_MOSCOW)
    assert plan.new_lots == (NewLot(30, NOW + timedelta(days=365), granting_partner_id=GRANTOR),)


RULES = {
    "rules": [
        {"code": "base", "effects": [{"accrue_percent": {"percent": "10", "expiry": {"kind": "end_of_month"}}}]},
        {"code": "week", "effects": [{"accrue_fixed": {"points": 20, "expiry": {"days": 7}}}]},
        {"code": "more-month", "effects": [{"accrue_fixed": {"points": 5, "expiry": {"kind": "end_of_month"}}}]},
    ]
}


def test_rules_grants_are_summed_per_expiry_and_bound_a_batchs_lots() -> None:
    rule_set = compile_rule_set(parse_rule_set(RULES, "RUB"), 1)
    assert most_lots_per_purchase(rule_set) == 2
    assert most_lots_per_purchase(None) == 1
    grants = (PointsGrant("base", 100, MONTH), PointsGrant("week", 20, DAYS_7), PointsGrant("more", 5, MONTH))
    assert points_by_expiry(grants) == ((MONTH, 105), (DAYS_7, 20))


def test_a_visits_end_expires_only_its_own_lots_with_points_left() -> None:
    state = MemberPoints(20, 0, (Lot(1, 10, None, GRANTOR), Lot(2, 10, NOW, GRANTOR), Lot(3, 0, NOW, GRANTOR)))
    ended = NOW + timedelta(hours=2)
    assert lots_ending_with_visit(state, {2, 3}, ended) == (Lot(2, 10, ended, GRANTOR),)
