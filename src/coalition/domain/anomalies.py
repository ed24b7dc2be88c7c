"""What looks wrong in a partner's day (issue 16, point 5): the owner's daily report flags it, each flag one sentence
with exact figures and the transactions behind it, so the owner can look them up in the day's list.

Pure: the day's facts come in as dataclasses (money in minor units, points as integers, moments timezone-aware), the
flags go out. The thresholds are named constants below; a flag says what is unusual, never that anyone cheated.

- REFUND_OF_SPENT_POINTS: a refund took back more points than the member held: the points the purchase earned had
  already been spent (the member's balance went into debt).
- CARD_REPEATED: one card credited (a purchase that earned points) at least CARD_REPEATED_MIN_PURCHASES times at one
  outlet in the day.
- TILL_CLOCK_GAP: sales whose till time (occurred_at) and server time (recorded_at) differ by more than CLOCK_GAP.
- POINTS_RATE_HIGH: an outlet's points per 100 units of currency of checks in the day above RATE_FACTOR × its rate over
  the TRAILING_DAYS before, with at least RATE_MIN_DAY_CHECKS checks in the day and RATE_MIN_TRAILING_CHECKS before
  (a quiet day, or a new outlet, does not flag).
- OUTSIDE_HOURS: transactions of a device (a device is an outlet of its own, with opening hours; ordinary outlets
  have none) that happened, at their own time, while the device was closed by its hours.
- CASHIER_REFUNDS: a cashier with at least CASHIER_MIN_REFUNDS refunds whose refunds per sale, by count or by amount,
  are above CASHIER_REFUND_FACTOR × the outlet's other cashiers' together (who must have sold something that day).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from coalition.domain.devices import OpeningHours, is_open
from coalition.domain.money import currency_exponent, format_minor, round_half_up_div

CARD_REPEATED_MIN_PURCHASES = 5
CLOCK_GAP = timedelta(hours=1)
TRAILING_DAYS = 30
RATE_FACTOR = 2
RATE_MIN_DAY_CHECKS = 3
RATE_MIN_TRAILING_CHECKS = 3
CASHIER_MIN_REFUNDS = 3
CASHIER_REFUND_FACTOR = 2
RATE_PER_UNITS = 100  # a rate is points per 100 units of the currency (per 100.00 RUB)


class AnomalyKind(StrEnum):
    REFUND_OF_SPENT_POINTS = "refund_of_spent_points"
    CARD_REPEATED = "card_repeated"
    TILL_CLOCK_GAP = "till_clock_gap"
    POINTS_RATE_HIGH = "points_rate_high"
    OUTSIDE_HOURS = "outside_hours"
    CASHIER_REFUNDS = "cashier_refunds"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a sentence: worded by whoever writes it (the language's own money format)."""

    minor: int


Value = int | str | Money | Decimal | datetime  # a datetime is shown at its own zone


@dataclass(frozen=True, slots=True)
class DaySale:
    """A purchase recorded in the day at one of the partner's outlets."""

    receipt: str
    outlet_id: int
    outlet_name: str
    cashier_login: str | None
    member_id: int
    card: str | None  # the card it was made with (None: found by phone or another identifier)
    check_minor: int
    points_earned: int
    occurred_at: datetime  # the till's time
    recorded_at: datetime  # the server's
    timezone: str = "UTC"  # the outlet's: a sentence shows moments at its clock


@dataclass(frozen=True, slots=True)
class DayRefund:
    """A refund recorded in the day, of a purchase at one of the partner's outlets."""

    receipt: str  # the purchase's
    outlet_id: int
    outlet_name: str
    cashier_login: str | None  # who gave the money back (else the sale's cashier)
    refund_minor: int
    points_clawed_back: int
    points_before: int  # the member's balance just before the refund
    recorded_at: datetime | None = None  # flags list their refunds in time order


@dataclass(frozen=True, slots=True)
class OutletUsualRate:
    """An outlet's purchases over the TRAILING_DAYS before the day."""

    outlet_id: int
    checks: int
    check_minor: int
    points_earned: int


@dataclass(frozen=True, slots=True)
class DeviceActivity:
    """A ledger transaction at a device's outlet recorded in the day, at the moment it happened (an offline use: the
    device's time)."""

    transaction_id: int
    outlet_id: int
    outlet_name: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceHours:
    outlet_id: int
    timezone: str
    hours: OpeningHours


@dataclass(frozen=True, slots=True)
class DayFacts:
    currency: str
    sales: Sequence[DaySale] = ()
    refunds: Sequence[DayRefund] = ()
    usual_rates: Sequence[OutletUsualRate] = ()
    device_activity: Sequence[DeviceActivity] = ()
    device_hours: Sequence[DeviceHours] = ()


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A flag: `message` is the English sentence with %(name)s placeholders (a translation's key), `values` fill it;
    `transactions` are the receipts (a device's: ledger transaction numbers) as the day's list shows them."""

    kind: AnomalyKind
    message: str
    values: Mapping[str, Value]
    transactions: tuple[str, ...]
    outlet: str = ""
    sort_key: tuple[str, ...] = field(default=(), compare=False)

    def sentence(self, currency: str) -> str:
        """The sentence in plain English (a test's, a log's): money as 1234.50, moments as YYYY-MM-DD HH:MM."""
        return self.message % {name: _plain(value, currency) for name, value in self.values.items()}


def _plain(value: Value, currency: str) -> str:
    if isinstance(value, Money):
        return format_minor(value.minor, currency)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def find_anomalies(facts: DayFacts) -> tuple[Anomaly, ...]:
    """Every flag of the day, grouped by kind in the order of the module's list, each kind's by outlet."""
    found = [
        *_refunds_of_spent_points(facts.refunds),
        *_cards_repeated(facts.sales),
        *_clock_gaps(facts.sales),
        *_high_rates(facts.sales, facts.usual_rates, facts.currency),
        *_outside_hours(facts.device_activity, facts.device_hours),
        *_cashier_refunds(facts.sales, facts.refunds),
    ]
    order = list(AnomalyKind)
    return tuple(sorted(found, key=lambda flag: (order.index(flag.kind), flag.outlet, flag.sort_key)))


def _refunds_of_spent_points(refunds: Iterable[DayRefund]) -> list[Anomaly]:
    return [
        Anomaly(
            AnomalyKind.REFUND_OF_SPENT_POINTS,
            "Refund of receipt %(receipt)s at %(outlet)s took back %(points)s points, but the member held only "
            "%(held)s: the points the purchase earned had already been spent.",
            {
                "receipt": refund.receipt,
                "outlet": refund.outlet_name,
                "points": refund.points_clawed_back,
                "held": refund.points_before,
            },
            (refund.receipt,),
            refund.outlet_name,
            (refund.receipt,),
        )
        for refund in refunds
        if refund.points_clawed_back > 0 and refund.points_before < refund.points_clawed_back
    ]


def _cards_repeated(sales: Iterable[DaySale]) -> list[Anomaly]:
    by_card: dict[tuple[int, int], list[DaySale]] = defaultdict(list)
    for sale in sales:
        if sale.points_earned > 0:
            by_card[(sale.outlet_id, sale.member_id)].append(sale)
    flags = []
    for group in by_card.values():
        if len(group) < CARD_REPEATED_MIN_PURCHASES:
            continue
        group.sort(key=lambda sale: (sale.recorded_at, sale.receipt))
        card = next((sale.card for sale in group if sale.card), None) or f"#{group[0].member_id}"
        flags.append(
            Anomaly(
                AnomalyKind.CARD_REPEATED,
                "Card %(card)s was credited at %(outlet)s %(count)s times in the day: %(points)s points on "
                "%(amount)s of checks.",
                {
                    "card": card,
                    "outlet": group[0].outlet_name,
                    "count": len(group),
                    "points": sum(sale.points_earned for sale in group),
                    "amount": Money(sum(sale.check_minor for sale in group)),
                },
                tuple(sale.receipt for sale in group),
                group[0].outlet_name,
                (card,),
            )
        )
    return flags


def _clock_gaps(sales: Iterable[DaySale]) -> list[Anomaly]:
    by_outlet: dict[int, list[DaySale]] = defaultdict(list)
    for sale in sales:
        if abs(sale.recorded_at - sale.occurred_at) > CLOCK_GAP:
            by_outlet[sale.outlet_id].append(sale)
    flags = []
    for group in by_outlet.values():
        group.sort(key=lambda sale: (sale.recorded_at, sale.receipt))
        widest = max(group, key=lambda sale: abs(sale.recorded_at - sale.occurred_at))
        zone = ZoneInfo(widest.timezone)
        minutes = int(abs(widest.recorded_at - widest.occurred_at).total_seconds()) // 60
        flags.append(
            Anomaly(
                AnomalyKind.TILL_CLOCK_GAP,
                "Sales at %(outlet)s whose till time and server time differ by more than an hour: %(count)s, the "
                "widest %(minutes)s minutes (receipt %(receipt)s, rung up %(till_time)s, recorded %(server_time)s).",
                {
                    "outlet": widest.outlet_name,
                    "count": len(group),
                    "minutes": minutes,
                    "receipt": widest.receipt,
                    "till_time": widest.occurred_at.astimezone(zone),
                    "server_time": widest.recorded_at.astimezone(zone),
                },
                tuple(sale.receipt for sale in group),
                widest.outlet_name,
            )
        )
    return flags


def rate_hundredths(points: int, check_minor: int, currency: str) -> int:
    """Points per RATE_PER_UNITS units of the currency, in hundredths (rounded half up): 3.00 → 300."""
    per_minor = RATE_PER_UNITS * 10 ** currency_exponent(currency)
    return round_half_up_div(points * per_minor * 100, check_minor) if check_minor > 0 else 0


def _high_rates(sales: Iterable[DaySale], usual: Iterable[OutletUsualRate], currency: str) -> list[Anomaly]:
    by_outlet: dict[int, list[DaySale]] = defaultdict(list)
    for sale in sales:
        by_outlet[sale.outlet_id].append(sale)
    usual_by_outlet = {rate.outlet_id: rate for rate in usual}
    flags = []
    for outlet_id, group in by_outlet.items():
        before = usual_by_outlet.get(outlet_id)
        if len(group) < RATE_MIN_DAY_CHECKS or before is None or before.checks < RATE_MIN_TRAILING_CHECKS:
            continue
        points, check_minor = sum(s.points_earned for s in group), sum(s.check_minor for s in group)
        # exact, in integers: points / checks > FACTOR × usual points / usual checks
        if points * before.check_minor <= RATE_FACTOR * before.points_earned * check_minor:
            continue
        group.sort(key=lambda sale: (sale.recorded_at, sale.receipt))
        flags.append(
            Anomaly(
                AnomalyKind.POINTS_RATE_HIGH,
                "%(outlet)s granted %(points)s points on %(amount)s of checks: %(rate)s points per %(per)s, against "
                "%(usual_rate)s over the previous %(days)s days (%(usual_points)s points on %(usual_amount)s).",
                {
                    "outlet": group[0].outlet_name,
                    "points": points,
                    "amount": Money(check_minor),
                    "rate": _hundredths(rate_hundredths(points, check_minor, currency)),
                    "per": Money(RATE_PER_UNITS * 10 ** currency_exponent(currency)),
                    "usual_rate": _hundredths(rate_hundredths(before.points_earned, before.check_minor, currency)),
                    "days": TRAILING_DAYS,
                    "usual_points": before.points_earned,
                    "usual_amount": Money(before.check_minor),
                },
                tuple(sale.receipt for sale in group if sale.points_earned > 0),
                group[0].outlet_name,
            )
        )
    return flags


def _hundredths(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def _outside_hours(activity: Iterable[DeviceActivity], hours: Iterable[DeviceHours]) -> list[Anomaly]:
    known = {device.outlet_id: device for device in hours}
    by_outlet: dict[int, list[tuple[DeviceActivity, datetime]]] = defaultdict(list)
    for item in activity:
        device = known.get(item.outlet_id)
        if device is None:
            continue
        local = item.occurred_at.astimezone(ZoneInfo(device.timezone))
        if not is_open(device.hours, local):
            by_outlet[item.outlet_id].append((item, local))
    flags = []
    for group in by_outlet.values():
        group.sort(key=lambda pair: (pair[1], pair[0].transaction_id))
        first, first_local = group[0]
        flags.append(
            Anomaly(
                AnomalyKind.OUTSIDE_HOURS,
                "%(outlet)s worked outside its opening hours: %(count)s transactions, the first at %(first)s.",
                {"outlet": first.outlet_name, "count": len(group), "first": first_local},
                tuple(str(item.transaction_id) for item, _ in group),
                first.outlet_name,
            )
        )
    return flags


@dataclass(slots=True)
class _CashierDay:
    sales: int = 0
    sales_minor: int = 0
    refunds: list[DayRefund] = field(default_factory=list)

    @property
    def refund_minor(self) -> int:
        return sum(refund.refund_minor for refund in self.refunds)


def _cashier_refunds(sales: Iterable[DaySale], refunds: Iterable[DayRefund]) -> list[Anomaly]:
    days: dict[int, dict[str, _CashierDay]] = defaultdict(lambda: defaultdict(_CashierDay))
    names: dict[int, str] = {}
    for sale in sales:
        if sale.cashier_login is not None:
            day = days[sale.outlet_id][sale.cashier_login]
            day.sales, day.sales_minor = day.sales + 1, day.sales_minor + sale.check_minor
    for refund in refunds:
        names[refund.outlet_id] = refund.outlet_name
        if refund.cashier_login is not None:
            days[refund.outlet_id][refund.cashier_login].refunds.append(refund)
    flags = []
    for outlet_id, cashiers in days.items():
        for day in cashiers.values():
            day.refunds.sort(key=lambda refund: (refund.recorded_at is None, refund.recorded_at, refund.receipt))
        for login, day in cashiers.items():
            if len(day.refunds) < CASHIER_MIN_REFUNDS:
                continue
            others = [other for other_login, other in cashiers.items() if other_login != login]
            others_sales = sum(other.sales for other in others)
            others_sales_minor = sum(other.sales_minor for other in others)
            if others_sales == 0:
                continue  # nobody else sold: nothing to compare with
            others_refunds = sum(len(other.refunds) for other in others)
            others_refund_minor = sum(other.refund_minor for other in others)
            # refunds per sale, cross-multiplied: mine / my sales > FACTOR × theirs / their sales (a cashier who only
            # refunded, and sold nothing, is above any rate)
            by_count = len(day.refunds) * others_sales > CASHIER_REFUND_FACTOR * others_refunds * day.sales
            by_amount = day.refund_minor * others_sales_minor > (
                CASHIER_REFUND_FACTOR * others_refund_minor * day.sales_minor
            )
            if not (by_count or by_amount):
                continue
            flags.append(
                Anomaly(
                    AnomalyKind.CASHIER_REFUNDS,
                    "Cashier %(cashier)s at %(outlet)s gave %(refunds)s refunds for %(amount)s against %(sales)s "
                    "sales of their own for %(sales_amount)s; the other cashiers together gave %(others_refunds)s "
                    "for %(others_amount)s against %(others_sales)s sales for %(others_sales_amount)s.",
                    {
                        "cashier": login,
                        "outlet": names[outlet_id],
                        "refunds": len(day.refunds),
                        "amount": Money(day.refund_minor),
                        "sales": day.sales,
                        "sales_amount": Money(day.sales_minor),
                        "others_refunds": others_refunds,
                        "others_amount": Money(others_refund_minor),
                        "others_sales": others_sales,
                        "others_sales_amount": Money(others_sales_minor),
                    },
                    tuple(refund.receipt for refund in day.refunds),
                    names[outlet_id],
                    (login,),
                )
            )
    return flags
