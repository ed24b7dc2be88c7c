"""The daily report's anomaly flags, without a database: each raised by a crafted day with its exact sentence and
transactions, each threshold's edge just below it not raised, and a normal day raising none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coalition.domain.anomalies import (
    AnomalyKind,
    DayFacts,
    DayRefund,
    DaySale,
    DeviceActivity,
    DeviceHours,
    OutletUsualRate,
    find_anomalies,
    rate_hundredths,
)
from coalition.domain.devices import parse_opening_hours

NOON = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


def sale(
    receipt: str,
    *,
    minute: int = 0,
    member: int = 1,
    cashier: str | None = "anna",
    check: int = 100_000,
    points: int = 30,
    till_gap: timedelta = timedelta(0),
    outlet: int = 1,
) -> DaySale:
    recorded = NOON + timedelta(minutes=minute)
    return DaySale(
        receipt, outlet, f"Till {outlet}", cashier, member, f"C-{member}", check, points, recorded - till_gap, recorded
    )


def refund(
    receipt: str, *, cashier: str = "anna", amount: int = 10_000, clawed: int = 3, before: int = 100, outlet: int = 1
) -> DayRefund:
    return DayRefund(receipt, outlet, f"Till {outlet}", cashier, amount, clawed, before)


def kinds(facts: DayFacts) -> list[AnomalyKind]:
    return [flag.kind for flag in find_anomalies(facts)]


def test_a_normal_day_raises_nothing() -> None:
    sales = [sale(f"R-{i}", minute=i, member=i, cashier=("anna", "vera")[i % 2]) for i in range(10)]
    refunds = [refund("R-1", cashier="vera"), refund("R-2", cashier="anna")]
    usual = [OutletUsualRate(1, 100, 10_000_000, 3_000)]  # 3 per 100.00, as the day
    assert find_anomalies(DayFacts("RUB", sales, refunds, usual)) == ()


def test_a_refund_whose_points_were_spent() -> None:
    facts = DayFacts("RUB", refunds=[refund("R-7", clawed=60, before=20), refund("R-8", clawed=60, before=60)])
    [flag] = find_anomalies(facts)
    assert flag.kind == AnomalyKind.REFUND_OF_SPENT_POINTS
    assert flag.sentence("RUB") == (
        "Refund of receipt R-7 at Till 1 took back 60 points, but the member held only 20: the points the purchase "
        "earned had already been spent."
    )
    assert flag.transactions == ("R-7",)


def test_one_card_credited_five_times_at_one_till() -> None:
    five = [sale(f"R-{i}", minute=i) for i in range(5)]
    [flag] = find_anomalies(DayFacts("RUB", five))
    assert flag.kind == AnomalyKind.CARD_REPEATED
    assert (
        flag.sentence("RUB") == "Card C-1 was credited at Till 1 5 times in the day: 150 points on 5000.00 of checks."
    )
    assert flag.transactions == ("R-0", "R-1", "R-2", "R-3", "R-4")
    # four, or five of which one earned nothing, or five at two tills: not flagged
    assert kinds(DayFacts("RUB", five[:4])) == []
    assert kinds(DayFacts("RUB", [*five[:4], sale("R-9", points=0)])) == []
    assert kinds(DayFacts("RUB", [*five[:4], sale("R-9", outlet=2)])) == []


def test_a_till_clock_an_hour_off() -> None:
    sales = [
        sale("R-1", till_gap=timedelta(minutes=61)),
        sale("R-2", minute=5, till_gap=-timedelta(minutes=95)),
        sale("R-3", minute=9, member=2, till_gap=timedelta(minutes=60)),
    ]
    [flag] = find_anomalies(DayFacts("RUB", sales))
    assert flag.kind == AnomalyKind.TILL_CLOCK_GAP
    assert flag.sentence("RUB") == (
        "Sales at Till 1 whose till time and server time differ by more than an hour: 2, the widest 95 minutes "
        "(receipt R-2, rung up 2026-03-10 10:40, recorded 2026-03-10 09:05)."
    )
    assert flag.transactions == ("R-1", "R-2")


def test_points_far_above_the_outlets_usual_rate() -> None:
    # the day: 3 checks of 1,000.00 earning 70 each = 7.00 per 100.00; the 30 days before: 3.00 per 100.00
    day = [sale(f"R-{i}", minute=i, member=i, points=70) for i in range(3)]
    usual = [OutletUsualRate(1, 20, 2_000_000, 600)]
    [flag] = find_anomalies(DayFacts("RUB", day, usual_rates=usual))
    assert flag.kind == AnomalyKind.POINTS_RATE_HIGH
    assert flag.sentence("RUB") == (
        "Till 1 granted 210 points on 3000.00 of checks: 7.00 points per 100.00, against 3.00 over the previous 30 "
        "days (600 points on 20000.00)."
    )
    assert flag.transactions == ("R-0", "R-1", "R-2")
    # exactly twice the usual rate, two checks only, or too little history: not flagged
    assert kinds(DayFacts("RUB", [sale(f"R-{i}", member=i, points=60) for i in range(3)], usual_rates=usual)) == []
    assert kinds(DayFacts("RUB", day[:2], usual_rates=usual)) == []
    assert kinds(DayFacts("RUB", day, usual_rates=[OutletUsualRate(1, 2, 200_000, 60)])) == []
    assert kinds(DayFacts("RUB", day)) == []
    assert rate_hundredths(1, 300_00, "RUB") == 33 and rate_hundredths(7, 100, "JPY") == 700


def test_device_activity_outside_its_opening_hours() -> None:
    hours = parse_opening_hours({day: [["09:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
    assert hours is not None
    devices = [DeviceHours(5, "Europe/Moscow", hours)]
    night = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # 03:30 in Moscow, a Tuesday
    activity = [
        DeviceActivity(41, 5, "Arcade", night),
        DeviceActivity(42, 5, "Arcade", NOON),
        DeviceActivity(43, 5, "Arcade", night + timedelta(hours=18, minutes=30)),  # 22:00: closed
        DeviceActivity(44, 6, "Always open", night),
    ]
    [flag] = find_anomalies(DayFacts("RUB", device_activity=activity, device_hours=devices))
    assert flag.kind == AnomalyKind.OUTSIDE_HOURS
    assert (
        flag.sentence("RUB")
        == "Arcade worked outside its opening hours: 2 transactions, the first at 2026-03-10 03:30."
    )
    assert flag.transactions == ("41", "43")


def test_a_cashiers_share_of_refunds_far_above_the_others() -> None:
    sales = [sale(f"R-{i}", member=i, cashier=("anna", "vera")[i % 2], check=200_000) for i in range(8)]
    refunds = [refund(f"R-{i}", cashier="vera", amount=50_000) for i in (1, 3, 5)] + [refund("R-0", amount=50_000)]
    [flag] = find_anomalies(DayFacts("RUB", sales, refunds))
    assert flag.kind == AnomalyKind.CASHIER_REFUNDS
    assert flag.sentence("RUB") == (
        "Cashier vera at Till 1 gave 3 refunds for 1500.00 against 4 sales of their own for 8000.00; the other "
        "cashiers together gave 1 for 500.00 against 4 sales for 8000.00."
    )
    assert flag.transactions == ("R-1", "R-3", "R-5")
    # two refunds, or exactly twice the others' rate, or no other cashier selling: not flagged
    assert kinds(DayFacts("RUB", sales, refunds[1:])) == []
    even = [*refunds, refund("R-2", amount=100_000)]
    assert sum(r.refund_minor for r in even if r.cashier_login == "anna") * 2 == 300_000
    assert kinds(DayFacts("RUB", sales, even)) == []
    vera_only = [s for s in sales if s.cashier_login == "vera"]
    assert kinds(DayFacts("RUB", vera_only, refunds[:3])) == []
