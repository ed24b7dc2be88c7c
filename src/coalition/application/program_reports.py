"""The program's reports (issue 18; docs/reports.md): attendance by hour and weekday, new and returning customers,
the program's effectiveness, and the entry-threshold helper.

Each is a pure computation over the purchases of a period read by one query (`period_checks`): one row per purchase
with its customer's kind and the moment of the customer's first purchase in the network. The period's days are the
network's (the time zone of its first outlet, as the console's "today"); an hour and a weekday are the outlet's own
local time. Money is integer minor units, shares are basis points (10,000 = 100 %), every division is rounded half
up (`round_half_up_div`).

A member is a customer enrolled with personal data (kind "personal"); an anonymous check is one on a card enrolled
without any (kind "anonymous").
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from coalition.application.reports import ReportOutlet, check_period, local_midnight
from coalition.domain.errors import InvalidInput, NotFound
from coalition.domain.money import round_half_up_div

BASIS_POINTS = 10_000
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PERSONAL = "personal"


@dataclass(frozen=True, slots=True)
class CheckRow:
    """One purchase of the period, as the query reads it."""

    outlet_id: int
    member_id: int
    member_kind: str  # personal | anonymous
    check_minor: int
    amount_due_minor: int
    points_redeemed: int
    points_earned: int
    recorded_at: datetime  # UTC
    first_purchase_at: datetime  # UTC: the customer's first purchase anywhere in the network


class ProgramReportsUnitOfWork(Protocol):
    async def report_outlets(self, network_id: int, partner_id: int | None) -> list[ReportOutlet]: ...
    async def partner_names(self, network_id: int) -> dict[int, str]: ...
    async def point_value_minor(self, network_id: int) -> int: ...
    async def period_checks(
        self, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[CheckRow]: ...


class ProgramReportsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[ProgramReportsUnitOfWork]: ...


@dataclass(frozen=True, slots=True)
class Tally:
    """Checks and their revenue; the average check rounded half up to the minor unit (0 without checks)."""

    checks: int = 0
    revenue_minor: int = 0

    @property
    def average_check_minor(self) -> int:
        return round_half_up_div(self.revenue_minor, self.checks) if self.checks else 0

    def plus(self, check_minor: int) -> Tally:
        return Tally(self.checks + 1, self.revenue_minor + check_minor)


@dataclass(frozen=True, slots=True)
class HourLine:
    hour: int  # 0–23, the outlet's local time
    checks: int
    revenue_minor: int


@dataclass(frozen=True, slots=True)
class WeekdayLine:
    weekday: int  # 1 Monday … 7 Sunday (ISO), the outlet's local day
    name: str
    checks: int
    revenue_minor: int


@dataclass(frozen=True, slots=True)
class Attendance:
    """Checks per hour of the day (only the hours that had any: no rows of zeros) and per weekday (all seven)."""

    first_day: date
    last_day: date
    checks: int
    by_hour: list[HourLine]
    by_weekday: list[WeekdayLine]


@dataclass(frozen=True, slots=True)
class Customers:
    """Customers who bought in the period: new (their first purchase in the network fell in it) or returning."""

    first_day: date
    last_day: date
    new_customers: int
    returning_customers: int
    new_checks: int
    returning_checks: int
    new_revenue_minor: int
    returning_revenue_minor: int

    @property
    def customers(self) -> int:
        return self.new_customers + self.returning_customers

    @property
    def new_share_bp(self) -> int:
        return round_half_up_div(self.new_customers * BASIS_POINTS, self.customers) if self.customers else 0


@dataclass(frozen=True, slots=True)
class Effectiveness:
    """Members' checks against anonymous ones; how many members came back; what the program cost per revenue."""

    first_day: date
    last_day: date
    member_checks: int
    member_revenue_minor: int
    member_average_check_minor: int
    anonymous_checks: int
    anonymous_revenue_minor: int
    anonymous_average_check_minor: int
    members: int  # members with a check in the period
    repeat_members: int  # of them, those with two checks or more
    repeat_rate_bp: int
    points_issued: int
    point_value_minor: int
    points_issued_minor: int  # points issued × the point's value
    discount_minor: int  # what rules took off the checks
    program_cost_minor: int  # points issued valued + discounts
    revenue_minor: int  # every check, members' and anonymous
    cost_per_revenue_bp: int  # program cost per 100 of revenue, in basis points of the revenue


@dataclass(frozen=True, slots=True)
class Threshold:
    """A new entry threshold from the change in the average check: old × current average / base average."""

    old_threshold_minor: int
    base_first_day: date
    base_last_day: date
    base_checks: int
    base_average_check_minor: int
    current_first_day: date
    current_last_day: date
    current_checks: int
    current_average_check_minor: int
    new_threshold_minor: int
    change_bp: int  # the average check's change, + or −, in basis points of the base average


def scaled_threshold(old_minor: int, current_average_minor: int, base_average_minor: int) -> int:
    """old × current ÷ base, rounded half up to a whole minor unit (the named rounding the helper uses)."""
    if base_average_minor <= 0:
        raise InvalidInput("the base period has no checks to take an average from", field="base_from")
    return round_half_up_div(old_minor * current_average_minor, base_average_minor)


def signed_ratio_bp(change: int, base: int) -> int:
    """change ÷ base in basis points, rounded half away from zero."""
    magnitude = round_half_up_div(abs(change) * BASIS_POINTS, base) if base else 0
    return magnitude if change >= 0 else -magnitude


def attendance_of(rows: Sequence[CheckRow], zones: dict[int, str], first: date, last: date) -> Attendance:
    hours: dict[int, Tally] = {}
    weekdays: dict[int, Tally] = {}
    for row in rows:
        local = row.recorded_at.astimezone(ZoneInfo(zones[row.outlet_id]))
        hours[local.hour] = hours.get(local.hour, Tally()).plus(row.check_minor)
        weekday = local.isoweekday()
        weekdays[weekday] = weekdays.get(weekday, Tally()).plus(row.check_minor)
    return Attendance(
        first,
        last,
        len(rows),
        [HourLine(hour, tally.checks, tally.revenue_minor) for hour, tally in sorted(hours.items())],
        [
            WeekdayLine(day, WEEKDAYS[day - 1], tally.checks, tally.revenue_minor)
            for day, tally in ((day, weekdays.get(day, Tally())) for day in range(1, 8))
        ],
    )


def customers_of(rows: Sequence[CheckRow], start: datetime, first: date, last: date) -> Customers:
    new: dict[int, Tally] = {}
    returning: dict[int, Tally] = {}
    for row in rows:
        side = new if row.first_purchase_at >= start else returning
        side[row.member_id] = side.get(row.member_id, Tally()).plus(row.check_minor)
    return Customers(
        first,
        last,
        len(new),
        len(returning),
        sum(tally.checks for tally in new.values()),
        sum(tally.checks for tally in returning.values()),
        sum(tally.revenue_minor for tally in new.values()),
        sum(tally.revenue_minor for tally in returning.values()),
    )


def effectiveness_of(rows: Sequence[CheckRow], point_value_minor: int, first: date, last: date) -> Effectiveness:
    members, anonymous = Tally(), Tally()
    per_member: dict[int, int] = {}
    points = discount = 0
    for row in rows:
        if row.member_kind == PERSONAL:
            members = members.plus(row.check_minor)
            per_member[row.member_id] = per_member.get(row.member_id, 0) + 1
        else:
            anonymous = anonymous.plus(row.check_minor)
        points += row.points_earned
        discount += row.check_minor - row.amount_due_minor - row.points_redeemed * point_value_minor
    repeat = sum(1 for checks in per_member.values() if checks >= 2)
    revenue = members.revenue_minor + anonymous.revenue_minor
    cost = points * point_value_minor + discount
    return Effectiveness(
        first,
        last,
        members.checks,
        members.revenue_minor,
        members.average_check_minor,
        anonymous.checks,
        anonymous.revenue_minor,
        anonymous.average_check_minor,
        len(per_member),
        repeat,
        round_half_up_div(repeat * BASIS_POINTS, len(per_member)) if per_member else 0,
        points,
        point_value_minor,
        points * point_value_minor,
        discount,
        cost,
        revenue,
        round_half_up_div(max(cost, 0) * BASIS_POINTS, revenue) if revenue else 0,
    )


class ProgramReports:
    def __init__(self, unit_of_work: ProgramReportsUnitOfWorkFactory) -> None:
        self._unit_of_work = unit_of_work

    async def _checks(
        self, network_id: int, partner_id: int | None, first: date, last: date
    ) -> tuple[list[CheckRow], dict[int, str], datetime, int]:
        """The period's checks in scope, the outlets' time zones, the period's start, and the point's value."""
        check_period(first, last)
        async with self._unit_of_work() as uow:
            if partner_id is not None and partner_id not in await uow.partner_names(network_id):
                raise NotFound(f"no partner {partner_id} in this network", field="partner")
            network_outlets = await uow.report_outlets(network_id, None)
            zone = network_outlets[0].timezone if network_outlets else "UTC"  # the network's days
            outlets = [o for o in network_outlets if partner_id is None or o.partner_id == partner_id]
            start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
            rows = await uow.period_checks(network_id, [o.id for o in outlets], start, end)
            point_value = await uow.point_value_minor(network_id)
        return rows, {o.id: o.timezone for o in outlets}, start, point_value

    async def attendance(self, network_id: int, partner_id: int | None, first: date, last: date) -> Attendance:
        rows, zones, _start, _value = await self._checks(network_id, partner_id, first, last)
        return attendance_of(rows, zones, first, last)

    async def customers(self, network_id: int, partner_id: int | None, first: date, last: date) -> Customers:
        rows, _zones, start, _value = await self._checks(network_id, partner_id, first, last)
        return customers_of(rows, start, first, last)

    async def effectiveness(self, network_id: int, partner_id: int | None, first: date, last: date) -> Effectiveness:
        rows, _zones, _start, value = await self._checks(network_id, partner_id, first, last)
        return effectiveness_of(rows, value, first, last)

    async def overview(
        self, network_id: int, partner_id: int | None, first: date, last: date
    ) -> tuple[Attendance, Customers, Effectiveness]:
        """The three period reports from one read of the period's checks (the console's page shows them together)."""
        rows, zones, start, value = await self._checks(network_id, partner_id, first, last)
        return (
            attendance_of(rows, zones, first, last),
            customers_of(rows, start, first, last),
            effectiveness_of(rows, value, first, last),
        )

    async def threshold(
        self,
        network_id: int,
        partner_id: int | None,
        old_threshold_minor: int,
        base: tuple[date, date],
        current: tuple[date, date],
    ) -> Threshold:
        if old_threshold_minor <= 0:
            raise InvalidInput("the old threshold is a positive amount", field="threshold")
        try:
            check_period(*base)
        except InvalidInput as error:  # the base period's own fields
            raise InvalidInput(error.detail, field="base_to") from None
        base_rows = (await self._checks(network_id, partner_id, *base))[0]
        current_rows = (await self._checks(network_id, partner_id, *current))[0]
        base_tally = Tally(len(base_rows), sum(row.check_minor for row in base_rows))
        now_tally = Tally(len(current_rows), sum(row.check_minor for row in current_rows))
        base_average, current_average = base_tally.average_check_minor, now_tally.average_check_minor
        if current_average <= 0:
            raise InvalidInput("the current period has no checks to take an average from", field="from")
        return Threshold(
            old_threshold_minor,
            base[0],
            base[1],
            base_tally.checks,
            base_average,
            current[0],
            current[1],
            now_tally.checks,
            current_average,
            scaled_threshold(old_threshold_minor, current_average, base_average),
            signed_ratio_bp(current_average - base_average, base_average),
        )
