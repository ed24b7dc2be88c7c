"""The program's reports over a small fixed data set, every number exact (docs/reports.md has the same example).

One outlet in Moscow (UTC+3), the point worth 1.00, the period Monday 9 – Tuesday 10 March 2026. Six purchases:
members 1–3 are personal, 4 and 5 anonymous cards; 1 and 5 bought before the period, 2, 3 and 4 first in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from coalition.application.program_reports import CheckRow, ProgramReports, scaled_threshold, signed_ratio_bp
from coalition.application.reports import ReportOutlet
from coalition.domain.errors import InvalidInput, NotFound

pytestmark = pytest.mark.anyio
MOSCOW = ZoneInfo("Europe/Moscow")
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 10)
BEFORE = datetime(2026, 1, 5, 12, tzinfo=UTC)


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MOSCOW).astimezone(UTC)


def _row(member: int, kind: str, moment: datetime, check: int, due: int, redeemed: int, earned: int) -> CheckRow:
    return CheckRow(1, member, kind, check, due, redeemed, earned, moment, moment)


ROWS = [
    # member 1 (personal, bought in January): Monday 09:10 and Tuesday 09:40, 10 % off each
    _row(1, "personal", _at(9, 9, 10), 100_000, 90_000, 0, 45),
    _row(1, "personal", _at(10, 9, 40), 50_000, 45_000, 0, 22),
    # member 2 (personal, new): Monday 18:05, 100 points paid 100.00, 10 % off
    _row(2, "personal", _at(9, 18, 5), 30_000, 17_000, 100, 13),
    # member 3 (personal, new): Tuesday 18:30
    _row(3, "personal", _at(10, 18, 30), 20_000, 18_000, 0, 9),
    # member 4 (anonymous card, new): Tuesday 12:00
    _row(4, "anonymous", _at(10, 12, 0), 40_000, 36_000, 0, 18),
    # member 5 (anonymous card, bought in January): Monday 09:55
    _row(5, "anonymous", _at(9, 9, 55), 65_000, 58_500, 0, 29),
]
FIRST_PURCHASE = {1: BEFORE, 5: BEFORE}


class _Fake:
    def __init__(self, rows: Sequence[CheckRow]) -> None:
        self.rows = [replace(row, first_purchase_at=FIRST_PURCHASE.get(row.member_id, row.recorded_at)) for row in rows]

    async def report_outlets(self, network_id: int, partner_id: int | None) -> list[ReportOutlet]:
        return [ReportOutlet(1, "Shop till", 7, "Shop", "Europe/Moscow")] if partner_id in (None, 7) else []

    async def partner_names(self, network_id: int) -> dict[int, str]:
        return {7: "Shop"}

    async def point_value_minor(self, network_id: int) -> int:
        return 100

    async def period_checks(
        self, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[CheckRow]:
        return [row for row in self.rows if row.outlet_id in outlet_ids and start <= row.recorded_at < end]


def _service(rows: Sequence[CheckRow] = ROWS) -> ProgramReports:
    fake = _Fake(rows)

    @asynccontextmanager
    async def unit_of_work() -> AsyncIterator[_Fake]:
        yield fake

    return ProgramReports(unit_of_work)


async def test_attendance_counts_checks_per_local_hour_and_weekday_without_idle_hours() -> None:
    found = await _service().attendance(1, None, FIRST, LAST)
    assert found.checks == 6
    assert [(line.hour, line.checks, line.revenue_minor) for line in found.by_hour] == [
        (9, 3, 215_000),
        (12, 1, 40_000),
        (18, 2, 50_000),
    ]
    assert [(line.name, line.checks, line.revenue_minor) for line in found.by_weekday] == [
        ("Monday", 3, 195_000),
        ("Tuesday", 3, 110_000),
        ("Wednesday", 0, 0),
        ("Thursday", 0, 0),
        ("Friday", 0, 0),
        ("Saturday", 0, 0),
        ("Sunday", 0, 0),
    ]


async def test_the_overview_is_the_three_reports_from_one_read() -> None:
    service = _service()
    together = await service.overview(1, None, FIRST, LAST)
    assert together == (
        await service.attendance(1, None, FIRST, LAST),
        await service.customers(1, None, FIRST, LAST),
        await service.effectiveness(1, None, FIRST, LAST),
    )


async def test_new_and_returning_customers() -> None:
    found = await _service().customers(1, 7, FIRST, LAST)
    assert (found.new_customers, found.new_checks, found.new_revenue_minor) == (3, 3, 90_000)
    assert (found.returning_customers, found.returning_checks, found.returning_revenue_minor) == (2, 3, 215_000)
    assert (found.customers, found.new_share_bp) == (5, 6_000)


async def test_effectiveness_compares_members_with_anonymous_checks_and_prices_the_program() -> None:
    found = await _service().effectiveness(1, None, FIRST, LAST)
    assert (found.member_checks, found.member_revenue_minor, found.member_average_check_minor) == (4, 200_000, 50_000)
    assert (found.anonymous_checks, found.anonymous_revenue_minor, found.anonymous_average_check_minor) == (
        2,
        105_000,
        52_500,
    )
    assert (found.members, found.repeat_members, found.repeat_rate_bp) == (3, 1, 3_333)  # 1 of 3
    assert (found.points_issued, found.points_issued_minor) == (136, 13_600)
    assert found.discount_minor == 10_000 + 5_000 + 3_000 + 2_000 + 4_000 + 6_500 == 30_500
    assert (found.program_cost_minor, found.revenue_minor) == (44_100, 305_000)
    assert found.cost_per_revenue_bp == 1_446  # 44,100 / 305,000 = 14.459… % → 14.46 % → 1,446 bp


async def test_the_threshold_follows_the_average_check() -> None:
    # base: Monday (3 checks, 195,000: average 65,000); current: Tuesday (3 checks, 110,000: 36,666.67 → 36,667)
    found = await _service().threshold(1, None, 100_000, (FIRST, FIRST), (LAST, LAST))
    assert (found.base_checks, found.base_average_check_minor) == (3, 65_000)
    assert (found.current_checks, found.current_average_check_minor) == (3, 36_667)
    assert found.new_threshold_minor == 56_411  # 100,000 × 36,667 / 65,000 = 56,410.77 → 56,411
    assert found.change_bp == -4_359  # (36,667 − 65,000) / 65,000 = −43.589 % → −4,359 bp


def test_the_threshold_rounds_half_up_to_a_whole_minor_unit() -> None:
    assert scaled_threshold(3, 1, 2) == 2  # 1.5 → 2
    assert scaled_threshold(5, 1, 2) == 3  # 2.5 → 3
    assert scaled_threshold(7, 1, 3) == 2  # 2.33 → 2
    assert scaled_threshold(100_000, 55_000, 50_000) == 110_000
    assert signed_ratio_bp(5_000, 50_000) == 1_000 and signed_ratio_bp(-1, 2) == -5_000


async def test_bad_inputs_name_their_field() -> None:
    with pytest.raises(InvalidInput) as error:
        await _service().threshold(1, None, 0, (FIRST, FIRST), (LAST, LAST))
    assert error.value.field == "threshold"
    with pytest.raises(InvalidInput) as error:
        await _service().threshold(1, None, 100, (date(2026, 2, 1), date(2026, 2, 2)), (LAST, LAST))
    assert error.value.field == "base_from"
    with pytest.raises(InvalidInput) as error:
        await _service().threshold(1, None, 100, (LAST, FIRST), (LAST, LAST))
    assert error.value.field == "base_to"
    with pytest.raises(InvalidInput) as error:
        await _service().attendance(1, None, LAST, FIRST)
    assert error.value.field == "to"
    with pytest.raises(NotFound):
        await _service().customers(1, 99, FIRST, LAST)
